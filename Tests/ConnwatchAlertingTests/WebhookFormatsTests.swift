import ConnwatchCore
import Foundation
import Testing

@testable import ConnwatchAlerting

/// The webhook bodies, compared byte for byte with the files in `Golden/webhooks/`:
///
/// - `standard-<event type>-<state>.json`: the `standard` payload of every SPEC §5 event type,
///   firing and resolved, exactly as `NotificationRendering.standardPayload` renders it and
///   `WebhookFormats.render(.standard, …)` passes it on (`Tests/python/test_webhook_schema.py`
///   validates these same files against `docs/webhook-payload.schema.json`);
/// - `slack-<scenario>.json`, `teams-<scenario>.json`: the chat formats for a representative set.
///
/// Each file holds the rendered bytes followed by one newline. After an intended change of a
/// rendering, regenerate them and review the diff:
///
///     UPDATE_GOLDENS=1 swift test --filter WebhookFormats   # rewrites the files, fails once
///     swift test --filter WebhookFormats                    # must pass now
@Suite struct WebhookFormatsTests {
    // MARK: - Goldens

    @Test(arguments: AlertEventType.allCases, AlertPhase.allCases)
    func standardPayloadOfEveryEventType(_ type: AlertEventType, _ state: AlertPhase) throws {
        let (n, identity) = WebhookFixture.notification(type, state)
        let stored = NotificationRendering.standardPayload(n, identity: identity)
        let sent = try WebhookFormats.render(.standard, standardPayload: stored)
        #expect(sent == stored)
        let object = try #require(try JSONSerialization.jsonObject(with: sent) as? [String: Any])
        #expect(object["type"] as? String == type.rawValue)
        #expect((object["data"] as? [String: Any])?["state"] as? String == state.rawValue)
        try Golden.check(sent, "standard-\(type.rawValue)-\(state.rawValue).json")
    }

    @Test(arguments: WebhookFixture.chatScenarios.map(\.name), [WebhookFormat.slack, .teams])
    func chatFormats(_ scenario: String, _ format: WebhookFormat) throws {
        let (n, identity) = try #require(WebhookFixture.chatScenarios.first { $0.name == scenario }).make()
        let stored = NotificationRendering.standardPayload(n, identity: identity)
        let body = try WebhookFormats.render(format, standardPayload: stored)
        try Golden.check(body, "\(format.rawValue)-\(scenario).json")
    }

    /// No golden is left over from a renamed event type or scenario, none is missing: the
    /// schema test in Python reads whatever is in the folder.
    @Test func goldenFolderHoldsExactlyTheExpectedFiles() throws {
        var expected = Set<String>()
        for type in AlertEventType.allCases {
            for state in AlertPhase.allCases { expected.insert("standard-\(type.rawValue)-\(state.rawValue).json") }
        }
        for s in WebhookFixture.chatScenarios {
            expected.insert("slack-\(s.name).json")
            expected.insert("teams-\(s.name).json")
        }
        let present = Set(try FileManager.default.contentsOfDirectory(atPath: Golden.directory.path))
        #expect(present.subtracting(expected).sorted() == [], "stale goldens")
        #expect(expected.subtracting(present).sorted() == [], "missing goldens")
    }

    // MARK: - Slack

    @Test func slackEscapesMarkupInEveryText() throws {
        var (n, identity) = WebhookFixture.notification(.consentMissing, .firing)
        n.summary = "<!channel> app <https://evil.example|Login> & more"
        n.remediation = "grant <b>it</b> & re-authorize"
        n.missingPermissions = ["A&B<x>"]
        identity.labels = ["team": "<@U123> & co"]
        let slack = try Self.json(WebhookFormats.render(.slack, standardPayload: Self.stored(n, identity)))
        let texts = Self.slackTexts(slack)
        #expect(!texts.isEmpty)
        for t in texts {
            // A raw < or > would be markup; a & must start one of the three escapes.
            #expect(!t.contains("<") && !t.contains(">"), "\(t)")
            #expect(
                t.replacingOccurrences(of: "&amp;", with: "").replacingOccurrences(of: "&lt;", with: "")
                    .replacingOccurrences(of: "&gt;", with: "").contains("&") == false, "\(t)")
        }
        let all = texts.joined(separator: "\n")
        #expect(all.contains("&lt;!channel&gt; app &lt;https://evil.example|Login&gt; &amp; more"))
        #expect(all.contains("grant &lt;b&gt;it&lt;/b&gt; &amp; re-authorize"))
        #expect(all.contains("A&amp;B&lt;x&gt;"))
        #expect(all.contains("team=&lt;@U123&gt; &amp; co"))
    }

    /// Untrusted text in every field a chat body shows: only escaped forms reach Slack and
    /// Teams, no control character or bidi override at all.
    @Test func chatBodiesCarryUntrustedTextOnlyEscaped() throws {
        var (n, identity) = WebhookFixture.notification(.consentMissing, .firing)
        n.summary = WebhookFixture.injection
        n.remediation = "ask <@U123> to [grant](https://evil.example) it"
        n.missingPermissions = ["Mail.Send <!channel>", "[x](https://evil.example)"]
        identity.labels = ["customer": "<!here> \u{1B}[2J\u{202E}"]
        let stored = Self.stored(n, identity)
        func inert(_ t: String) -> Bool {
            !t.unicodeScalars.contains {
                ($0.value < 0x20 && $0 != "\n") || (0x7F...0x9F).contains($0.value)
                    || (0x202A...0x202E).contains($0.value) || (0x2066...0x2069).contains($0.value)
            }
        }

        let slack = try Self.json(WebhookFormats.render(.slack, standardPayload: stored))
        let slackAll = Self.slackTexts(slack).joined(separator: "\n")
        #expect(inert(slackAll), "\(slackAll.debugDescription)")
        #expect(!slackAll.contains("<") && !slackAll.contains(">"))
        #expect(slackAll.contains("&lt;!channel&gt; &lt;https://evil.example|x&gt;"))
        #expect(slackAll.contains("&lt;@U123&gt;") && slackAll.contains("&lt;!here&gt;"))
        #expect(slackAll.contains("]8;;https://evil.example\\y]8;;\\ gnp.exe"))
        // Every mrkdwn text is verbatim: Slack links no bare URL and expands no @here.
        for block in slack["blocks"] as? [[String: Any]] ?? [] {
            let objects =
                [block["text"] as? [String: Any]].compactMap { $0 } + (block["fields"] as? [[String: Any]] ?? [])
                + (block["elements"] as? [[String: Any]] ?? [])
            for o in objects where o["type"] as? String == "mrkdwn" {
                #expect(o["verbatim"] as? Bool == true, "\(o)")
            }
        }

        let card = try Self.card(WebhookFormats.render(.teams, standardPayload: stored))
        let body = card["body"] as? [[String: Any]] ?? []
        var teamsTexts = body.compactMap { $0["text"] as? String }
        for b in body {
            for f in b["facts"] as? [[String: String]] ?? [] { teamsTexts += [f["title"] ?? "", f["value"] ?? ""] }
        }
        let teamsAll = teamsTexts.joined(separator: "\n")
        #expect(inert(teamsAll), "\(teamsAll.debugDescription)")
        for link in ["[click](", "[grant](", "[x](", "[t]("] {
            #expect(!teamsAll.contains(link), "a Markdown link survived: \(teamsAll)")
        }
        #expect(teamsAll.contains("\\[click\\](https://evil.example) \\*bold\\*"))
        #expect(teamsAll.contains("\\<!channel\\>") && teamsAll.contains("\\<@U123\\>"))
        #expect(teamsAll.contains("\\[x\\](https://evil.example)"))
        // Every < > [ ] * in a card text is escaped.
        for t in teamsTexts {
            let chars = Array(t)
            for (i, c) in chars.enumerated() where "<>[]*{}".contains(c) {
                #expect(i > 0 && chars[i - 1] == "\\", "unescaped \(c) in \(t)")
            }
        }
    }

    @Test func slackStaysWithinBlockKitLimits() throws {
        var (n, identity) = WebhookFixture.notification(.consentMissing, .firing)
        n.summary = String(repeating: "<é>&", count: 5000)
        n.remediation = String(repeating: "r", count: 9000)
        n.missingPermissions = (0..<800).map { "Permission\($0).ReadWrite.All" }
        n.daysLeft = 3
        n.expiresAt = WebhookFixture.t("2026-12-02T08:00:00Z")
        identity.labels = Dictionary(
            uniqueKeysWithValues: (0..<300).map { ("label\($0)", String(repeating: "v", count: 50)) })
        let slack = try Self.json(WebhookFormats.render(.slack, standardPayload: Self.stored(n, identity)))
        let blocks = try #require(slack["blocks"] as? [[String: Any]])
        let header = try #require((blocks.first?["text"] as? [String: Any])?["text"] as? String)
        #expect(blocks.first?["type"] as? String == "header")
        #expect(header.utf16.count <= 150)
        for block in blocks {
            if let text = (block["text"] as? [String: Any])?["text"] as? String, block["type"] as? String == "section" {
                #expect(!text.isEmpty && text.utf16.count <= 3000)
            }
            if let fields = block["fields"] as? [[String: Any]] {
                #expect(fields.count <= 10)
                for f in fields { #expect(((f["text"] as? String) ?? "").utf16.count <= 2000) }
            }
        }
        let summary = try #require((blocks[1]["text"] as? [String: Any])?["text"] as? String)
        #expect(summary.utf16.count > 2980 && summary.utf16.count <= 3000 && summary.hasSuffix("…"))
        // Cut between escapes, never inside one: whole "<é>&" cycles, then the ellipsis.
        #expect(String(summary.dropLast()).replacingOccurrences(of: "&lt;é&gt;&amp;", with: "") == "")
        #expect(((slack["text"] as? String) ?? "").utf16.count <= 3000)
    }

    @Test func clipCutsOnlyBetweenEscapes() {
        #expect(WebhookFormats.clip("abc", 3) == "abc")
        #expect(WebhookFormats.clip("abcd", 3) == "ab…")
        #expect(WebhookFormats.clip("&&&", 15, escape: true) == "&amp;&amp;&amp;")
        // "&amp;&amp;" is 10, the third would end at 15 > 14 (one unit kept for the ellipsis).
        #expect(WebhookFormats.clip("&&&&", 15, escape: true) == "&amp;&amp;…")
        #expect(WebhookFormats.clip("&&&&", 16, escape: true) == "&amp;&amp;&amp;…")
        #expect(WebhookFormats.clip("x", 0) == "x")
    }

    @Test func daysText() {
        #expect(WebhookFormats.daysText(9) == "9 days")
        #expect(WebhookFormats.daysText(1) == "1 day")
        #expect(WebhookFormats.daysText(0) == "0 days")
        #expect(WebhookFormats.daysText(-1) == "expired 1 day ago")
        #expect(WebhookFormats.daysText(-12) == "expired 12 days ago")
    }

    @Test func firingAndResolvedAreToldApartInChat() throws {
        let (f, fi) = WebhookFixture.notification(.secretExpired, .firing)
        let (r, ri) = WebhookFixture.notification(.secretExpired, .resolved)
        let sf = try Self.json(WebhookFormats.render(.slack, standardPayload: Self.stored(f, fi)))
        let sr = try Self.json(WebhookFormats.render(.slack, standardPayload: Self.stored(r, ri)))
        #expect((sf["text"] as? String)?.hasPrefix("[critical] ") == true)
        #expect((sr["text"] as? String)?.hasPrefix("[resolved] ") == true)
        #expect(Self.slackTexts(sf)[0].contains("FIRING (critical)"))
        #expect(Self.slackTexts(sr)[0].contains("RESOLVED"))
        let tf = try Self.card(WebhookFormats.render(.teams, standardPayload: Self.stored(f, fi)))
        let tr = try Self.card(WebhookFormats.render(.teams, standardPayload: Self.stored(r, ri)))
        let titleF = try #require((tf["body"] as? [[String: Any]])?.first)
        let titleR = try #require((tr["body"] as? [[String: Any]])?.first)
        #expect(titleF["color"] as? String == "Attention" && (titleF["text"] as? String)?.hasPrefix("FIRING") == true)
        #expect(titleR["color"] as? String == "Good" && (titleR["text"] as? String)?.hasPrefix("RESOLVED") == true)
    }

    // MARK: - Teams

    @Test func teamsIsOneAdaptiveCardForWorkflows() throws {
        let (n, identity) = WebhookFixture.notification(.consentMissing, .firing)
        let message = try Self.json(WebhookFormats.render(.teams, standardPayload: Self.stored(n, identity)))
        #expect(message["type"] as? String == "message")
        let attachments = try #require(message["attachments"] as? [[String: Any]])
        #expect(attachments.count == 1)
        #expect(attachments[0]["contentType"] as? String == "application/vnd.microsoft.card.adaptive")
        #expect(attachments[0].keys.contains("contentUrl") && attachments[0]["contentUrl"] is NSNull)
        let card = try #require(attachments[0]["content"] as? [String: Any])
        #expect(card["type"] as? String == "AdaptiveCard" && card["version"] as? String == "1.4")
        let body = try #require(card["body"] as? [[String: Any]])
        let facts = try #require(body.first { $0["type"] as? String == "FactSet" }?["facts"] as? [[String: String]])
        #expect(facts.first == ["title": "Connector", "value": "contoso-teams"])
        #expect(facts.contains(["title": "Missing permissions", "value": "Chat.UpdatePolicyViolation.All"]))
    }

    @Test func teamsStaysSmall() throws {
        var (n, identity) = WebhookFixture.notification(.consentMissing, .firing)
        n.summary = String(repeating: "s", count: 50_000)
        n.remediation = String(repeating: "r", count: 50_000)
        n.missingPermissions = (0..<2000).map { "Permission\($0).ReadWrite.All" }
        identity.labels = Dictionary(uniqueKeysWithValues: (0..<500).map { ("label\($0)", "value") })
        let body = try WebhookFormats.render(.teams, standardPayload: Self.stored(n, identity))
        #expect(body.count < 12_000)
        let card = try Self.card(body)
        let texts = (card["body"] as? [[String: Any]] ?? []).compactMap { $0["text"] as? String }
        #expect(texts.contains { $0.count == 2000 && $0.hasSuffix("…") })
    }

    // MARK: - Bad stored bodies

    @Test func badStoredBodiesAreErrorsNamingTheFieldNotItsValue() throws {
        let (n, identity) = WebhookFixture.notification(.secretExpiring, .firing)
        let good = try #require(
            try JSONSerialization.jsonObject(with: Self.stored(n, identity)) as? [String: Any])
        func edited(_ edit: (inout [String: Any]) -> Void) throws -> Data {
            var o = good
            edit(&o)
            return try JSONSerialization.data(withJSONObject: o)
        }
        func data(_ o: inout [String: Any], _ edit: (inout [String: Any]) -> Void) {
            var d = o["data"] as! [String: Any]
            edit(&d)
            o["data"] = d
        }
        let cases: [(Data, String)] = [
            (Data("not json whsec_c2VjcmV0".utf8), "body"),
            (Data("[1,2]".utf8), "body"),
            (Data(), "body"),
            (try edited { $0["data"] = "whsec_c2VjcmV0" }, "data"),
            (try edited { $0.removeValue(forKey: "type") }, "type"),
            (try edited { data(&$0) { $0["state"] = "whsec_c2VjcmV0" } }, "data.state"),
            (try edited { data(&$0) { $0["summary"] = 5 } }, "data.summary"),
            (try edited { data(&$0) { $0["days_left"] = "whsec_c2VjcmV0" } }, "data.days_left"),
            (try edited { data(&$0) { $0["missing_permissions"] = [1] } }, "data.missing_permissions"),
            (
                try edited {
                    data(&$0) { d in
                        var c = d["connector"] as! [String: Any]
                        c.removeValue(forKey: "name")
                        d["connector"] = c
                    }
                }, "data.connector.name"
            ),
            (
                try edited {
                    data(&$0) { d in
                        var c = d["connector"] as! [String: Any]
                        c["labels"] = ["k": 1]
                        d["connector"] = c
                    }
                }, "data.connector.labels"
            ),
        ]
        for format in [WebhookFormat.slack, .teams] {
            for (body, field) in cases {
                #expect(throws: WebhookFormatError(format: format, field: field)) {
                    try WebhookFormats.render(format, standardPayload: body)
                }
                let description = WebhookFormatError(format: format, field: field).description
                #expect(!description.contains("whsec_") && description.contains(format.rawValue))
            }
        }
        // `standard` sends what was stored, as stored: it is the signed body.
        for (body, _) in cases { #expect(try WebhookFormats.render(.standard, standardPayload: body) == body) }
    }

    @Test func optionalFieldsMayBeAbsentOrNull() throws {
        let minimal = Data(
            #"{"type":"connector.unreachable","timestamp":"2026-11-29T12:00:00Z","data":{"alert_id":"a","state":"firing","severity":"warning","connector":{"name":"n","kind":"exchange","tenant_id":"t","client_id":"c"},"check":"credential","reason":"unreachable","summary":"s","days_left":null}}"#
                .utf8)
        for format in [WebhookFormat.slack, .teams] {
            let out = try Self.json(WebhookFormats.render(format, standardPayload: minimal))
            #expect(!out.isEmpty)
        }
        let slack = try Self.json(WebhookFormats.render(.slack, standardPayload: minimal))
        let blocks = slack["blocks"] as? [[String: Any]] ?? []
        #expect(blocks.map { $0["type"] as? String ?? "" } == ["header", "section", "section", "context"])
    }

    // MARK: - Helpers

    static func stored(_ n: AlertNotification, _ identity: ConnectorIdentity) -> Data {
        NotificationRendering.standardPayload(n, identity: identity)
    }

    static func json(_ data: Data) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    static func card(_ data: Data) throws -> [String: Any] {
        let attachments = try json(data)["attachments"] as? [[String: Any]]
        return try #require(attachments?.first?["content"] as? [String: Any])
    }

    /// Every text of a Slack message, the header first, then the fallback `text`.
    static func slackTexts(_ message: [String: Any]) -> [String] {
        var out: [String] = []
        for block in message["blocks"] as? [[String: Any]] ?? [] {
            if let t = (block["text"] as? [String: Any])?["text"] as? String { out.append(t) }
            for f in block["fields"] as? [[String: Any]] ?? [] { out.append(f["text"] as? String ?? "") }
            for e in block["elements"] as? [[String: Any]] ?? [] { out.append(e["text"] as? String ?? "") }
        }
        if let t = message["text"] as? String { out.append(t) }
        return out
    }
}
