import ConnwatchCore
import Foundation

/// What a stored `standard` payload could not be rendered as. Names the format and the field
/// (a JSON path), never a value: the worker records it with the delivery, and a payload is not
/// the place to echo from.
public struct WebhookFormatError: Error, Equatable, CustomStringConvertible {
    public var format: WebhookFormat
    /// `body` when the bytes are not a JSON object, else the path of the bad field (`data.connector.name`).
    public var field: String

    public init(format: WebhookFormat, field: String) {
        self.format = format
        self.field = field
    }

    public var description: String {
        field == "body"
            ? "cannot render the stored webhook payload as \(format): it is not a JSON object"
            : "cannot render the stored webhook payload as \(format): \(field) is missing or of the wrong type"
    }
}

/// The body to POST for each `[[webhook]] format`, from the stored `standard` payload of
/// ``NotificationRendering/standardPayload(_:identity:)`` (SPEC §5). Pure and deterministic
/// (keys sorted), so the bytes a worker signs and retries never vary.
///
/// - `standard`: the stored bytes, unchanged (never throws: what was stored is what is signed).
/// - `slack`: an incoming-webhook message: a plain `text` fallback for notifications plus Block
///   Kit `blocks` (header, summary, a fields section, missing permissions, what to do, context).
///   Text from checks and configuration is escaped for mrkdwn (``UntrustedText/slackMrkdwn(_:)``:
///   no `<!channel>`, no `<url|text>` link), every mrkdwn object is `verbatim` (Slack does not
///   link bare URLs or channel names either), and every text is kept under Slack's limits
///   (header 150, section text 3000, field 2000, 10 fields).
/// - `teams`: a Teams Workflows message ("Post to a channel when a webhook request is
///   received"): one Adaptive Card 1.4 attachment with a title, the summary, a FactSet and what
///   to do. Every text is escaped for the card's Markdown (``UntrustedText/teams(_:)``: no
///   `[text](url)` link, no emphasis, no `{{DATE()}}`) and cut so the card stays far below
///   Teams' message size limit.
///
/// Summaries embed what Microsoft and Zscaler say (display names, AADSTS descriptions) and
/// names and labels come from the configuration: the chat formats treat all of it as
/// untrusted. Control characters and bidi overrides are removed from every text.
public enum WebhookFormats {
    public static func render(_ format: WebhookFormat, standardPayload: Data) throws -> Data {
        switch format {
        case .standard:
            return standardPayload
        case .slack:
            return encode(slack(try Alert(standardPayload, format: format)))
        case .teams:
            return encode(teams(try Alert(standardPayload, format: format)))
        }
    }

    // MARK: - Slack

    /// Slack's documented limits (Block Kit reference), in characters; measured here in UTF-16
    /// code units, which is never fewer than Slack's count.
    enum SlackLimit {
        static let header = 150
        static let sectionText = 3000
        static let field = 2000
        static let fields = 10
        static let fallbackText = 3000
    }

    static func slack(_ a: Alert) -> JSONValue {
        let fallback =
            a.resolved
            ? "[resolved] \(a.connectorName): \(a.summary)"
            : "[\(a.severity)] \(a.connectorName): \(a.summary)"
        let icon: String
        switch (a.resolved, a.severity) {
        case (true, _): icon = ":white_check_mark:"
        case (false, "critical"): icon = ":red_circle:"
        case (false, "warning"): icon = ":large_orange_circle:"
        default: icon = ":large_blue_circle:"
        }
        let title =
            a.resolved
            ? "\(icon) RESOLVED: \(a.connectorName) \(a.type)"
            : "\(icon) FIRING (\(a.severity)): \(a.connectorName) \(a.type)"

        var fields: [(String, String)] = [
            ("Connector", a.connectorName), ("Kind", a.kind), ("Tenant", a.tenantId), ("Client", a.clientId),
            ("Check", a.check), ("Reason", a.reason), ("State", "\(a.state) (\(a.severity))"),
        ]
        if let d = a.daysLeft { fields.append(("Days left", daysText(d))) }
        if let e = a.expiresAt { fields.append(("Expires", e)) }
        if !a.labels.isEmpty { fields.append(("Labels", labelsText(a.labels))) }

        var blocks: [JSONValue] = [
            [
                "type": "header",
                // plain_text is not parsed for markup; only cleaned.
                "text": [
                    "type": "plain_text", "text": .string(clip(UntrustedText.clean(title), SlackLimit.header)),
                    "emoji": true,
                ],
            ],
            slackSection(a.summary.isEmpty ? "(no summary)" : a.summary),
            [
                "type": "section",
                "fields": .array(
                    fields.prefix(SlackLimit.fields).map { label, value in
                        mrkdwn("*\(label)*\n" + clip(value, SlackLimit.field - label.utf16.count - 3, escape: true))
                    }),
            ],
        ]
        if let missing = a.missingPermissions, !missing.isEmpty {
            // The list's bullets and line breaks are ours; each name is escaped on its own.
            let list = missing.enumerated().flatMap { i, name in
                (i == 0 ? ["•", " "] : ["\n", "•", " "]) + UntrustedText.slackMrkdwnUnits(name)
            }
            blocks.append(slackSection(units: list, heading: "Missing permissions"))
        }
        if !a.remediation.isEmpty {
            blocks.append(slackSection(a.remediation, heading: "What to do"))
        }
        blocks.append([
            "type": "context",
            "elements": [
                mrkdwn(clip("\(a.type) · alert \(a.alertId) · \(a.timestamp)", SlackLimit.sectionText, escape: true))
            ],
        ])
        return ["text": .string(clip(fallback, SlackLimit.fallbackText, escape: true)), "blocks": .array(blocks)]
    }

    /// A section of escaped, clipped mrkdwn text, under a bold heading if one is given.
    private static func slackSection(_ text: String, heading: String? = nil) -> JSONValue {
        slackSection(units: UntrustedText.slackMrkdwnUnits(text), heading: heading)
    }

    /// A section of already escaped mrkdwn units, clipped between two of them.
    private static func slackSection(units: [String], heading: String? = nil) -> JSONValue {
        let prefix = heading.map { "*\($0)*\n" } ?? ""
        return [
            "type": "section",
            "text": mrkdwn(prefix + clip(units: units, SlackLimit.sectionText - prefix.utf16.count)),
        ]
    }

    /// `verbatim`: Slack still applies mrkdwn and the (escaped) control sequences, but turns no
    /// bare URL, channel name or `@here` in the text into a link or a mention.
    private static func mrkdwn(_ text: String) -> JSONValue {
        ["type": "mrkdwn", "text": .string(text), "verbatim": true]
    }

    // MARK: - Teams

    /// Cuts for Teams: a Workflows message must stay under about 28 KB; these keep a card
    /// with every field at a few KB.
    enum TeamsLimit {
        static let title = 200
        static let summary = 2000
        static let factValue = 500
        static let remediation = 2000
    }

    static func teams(_ a: Alert) -> JSONValue {
        let color: String
        switch (a.resolved, a.severity) {
        case (true, _): color = "Good"
        case (false, "critical"): color = "Attention"
        case (false, "warning"): color = "Warning"
        default: color = "Accent"
        }
        let title =
            a.resolved
            ? "RESOLVED: \(a.connectorName) \(a.type)"
            : "FIRING (\(a.severity)): \(a.connectorName) \(a.type)"
        var facts: [(String, String)] = [
            ("Connector", a.connectorName), ("Kind", a.kind), ("Tenant", a.tenantId), ("Client", a.clientId),
            ("Check", a.check), ("Reason", a.reason), ("State", a.state), ("Severity", a.severity),
        ]
        if let d = a.daysLeft { facts.append(("Days left", daysText(d))) }
        if let e = a.expiresAt { facts.append(("Expires", e)) }
        if let m = a.missingPermissions, !m.isEmpty { facts.append(("Missing permissions", m.joined(separator: ", "))) }
        if !a.labels.isEmpty { facts.append(("Labels", labelsText(a.labels))) }

        var body: [JSONValue] = [
            [
                "type": "TextBlock", "text": .string(teamsText(title, TeamsLimit.title)), "size": "Large",
                "weight": "Bolder", "color": .string(color), "wrap": true,
            ],
            [
                "type": "TextBlock",
                "text": .string(teamsText(a.summary.isEmpty ? "(no summary)" : a.summary, TeamsLimit.summary)),
                "wrap": true,
            ],
            [
                "type": "FactSet",
                "facts": .array(
                    facts.map { ["title": .string($0.0), "value": .string(teamsText($0.1, TeamsLimit.factValue))] }),
            ],
        ]
        if !a.remediation.isEmpty {
            body.append([
                "type": "TextBlock", "text": "What to do", "weight": "Bolder", "wrap": true, "spacing": "Medium",
            ])
            body.append([
                "type": "TextBlock", "text": .string(teamsText(a.remediation, TeamsLimit.remediation)), "wrap": true,
            ])
        }
        body.append([
            "type": "TextBlock",
            "text": .string(teamsText("\(a.type) · alert \(a.alertId) · \(a.timestamp)", TeamsLimit.title)),
            "isSubtle": true, "size": "Small", "wrap": true,
        ])
        let card: JSONValue = [
            "$schema": "http://adaptivecards.io/schemas/adaptive-card.json", "type": "AdaptiveCard", "version": "1.4",
            "msteams": ["width": "Full"], "body": .array(body),
        ]
        return [
            "type": "message",
            "attachments": [
                ["contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": .null, "content": card]
            ],
        ]
    }

    /// `s` escaped for the card's Markdown and clipped between two escapes.
    static func teamsText(_ s: String, _ limit: Int) -> String { clip(units: UntrustedText.teamsUnits(s), limit) }

    // MARK: - Shared

    static func daysText(_ d: Int64) -> String {
        switch d {
        case 1: "1 day"
        case -1: "expired 1 day ago"
        case ..<0: "expired \(-d) days ago"
        default: "\(d) days"
        }
    }

    static func labelsText(_ labels: [String: String]) -> String {
        labels.keys.sorted().map { "\($0)=\(labels[$0] ?? "")" }.joined(separator: ", ")
    }

    /// `s` (escaped for mrkdwn if asked) in at most `limit` UTF-16 code units; when cut, it ends
    /// with "…" and never inside an escape.
    static func clip(_ s: String, _ limit: Int, escape: Bool = false) -> String {
        clip(units: escape ? UntrustedText.slackMrkdwnUnits(s) : s.map(String.init), limit)
    }

    /// The units joined, in at most `limit` UTF-16 code units; when cut, it ends with "…",
    /// cut between two units (an escape is one unit).
    static func clip(units: [String], _ limit: Int) -> String {
        let limit = max(limit, 1)
        let whole = units.joined()
        if whole.utf16.count <= limit { return whole }
        var out = ""
        var used = 0
        for piece in units {
            if used + piece.utf16.count > limit - 1 { break }
            out += piece
            used += piece.utf16.count
        }
        return out + "…"
    }

    private static func encode(_ v: JSONValue) -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // A JSONValue built from strings, integers and booleans always encodes.
        return (try? encoder.encode(v)) ?? Data("{}".utf8)
    }

    // MARK: - Reading the stored payload

    /// The fields of a stored `standard` payload that the chat formats show.
    struct Alert {
        var type: String
        var timestamp: String
        var alertId: String
        var state: String
        var severity: String
        var connectorName: String
        var kind: String
        var tenantId: String
        var clientId: String
        var labels: [String: String]
        var check: String
        var reason: String
        var summary: String
        var remediation: String
        var daysLeft: Int64?
        var expiresAt: String?
        var missingPermissions: [String]?

        var resolved: Bool { state == AlertPhase.resolved.rawValue }

        init(_ payload: Data, format: WebhookFormat) throws {
            func bad(_ field: String) -> WebhookFormatError { WebhookFormatError(format: format, field: field) }
            guard case .object(let root)? = try? JSONDecoder().decode(JSONValue.self, from: payload) else {
                throw bad("body")
            }
            func string(_ o: [String: JSONValue], _ key: String, _ path: String) throws -> String {
                guard case .string(let s)? = o[key] else { throw bad(path) }
                return s
            }
            func optionalString(_ o: [String: JSONValue], _ key: String, _ path: String) throws -> String? {
                switch o[key] {
                case nil, .null?: return nil
                case .string(let s)?: return s
                default: throw bad(path)
                }
            }
            guard case .object(let data)? = root["data"] else { throw bad("data") }
            guard case .object(let connector)? = data["connector"] else { throw bad("data.connector") }
            type = try string(root, "type", "type")
            timestamp = try string(root, "timestamp", "timestamp")
            alertId = try string(data, "alert_id", "data.alert_id")
            state = try string(data, "state", "data.state")
            guard AlertPhase(rawValue: state) != nil else { throw bad("data.state") }
            severity = try string(data, "severity", "data.severity")
            check = try string(data, "check", "data.check")
            reason = try string(data, "reason", "data.reason")
            summary = try string(data, "summary", "data.summary")
            remediation = try optionalString(data, "remediation", "data.remediation") ?? ""
            connectorName = try string(connector, "name", "data.connector.name")
            kind = try string(connector, "kind", "data.connector.kind")
            tenantId = try string(connector, "tenant_id", "data.connector.tenant_id")
            clientId = try string(connector, "client_id", "data.connector.client_id")
            switch connector["labels"] {
            case nil, .null?: labels = [:]
            case .object(let o)?:
                labels = try o.mapValues { v in
                    guard case .string(let s) = v else { throw bad("data.connector.labels") }
                    return s
                }
            default: throw bad("data.connector.labels")
            }
            switch data["days_left"] {
            case nil, .null?: daysLeft = nil
            case .int(let d)?: daysLeft = d
            default: throw bad("data.days_left")
            }
            expiresAt = try optionalString(data, "expires_at", "data.expires_at")
            switch data["missing_permissions"] {
            case nil, .null?: missingPermissions = nil
            case .array(let items)?:
                missingPermissions = try items.map { v in
                    guard case .string(let s) = v else { throw bad("data.missing_permissions") }
                    return s
                }
            default: throw bad("data.missing_permissions")
            }
        }
    }
}
