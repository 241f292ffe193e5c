import ConnwatchCore
import Foundation

/// `GET /v1.0/applications(appId='{appId}')/owners?$select=id,displayName,mail,userPrincipalName`
/// (observer-facts §6): the wire format of an app's owners and how a failure reads, shared by
/// the connector's own ``GraphClient`` and the tenant's ``ObserverClient``.
///
/// Strict like every other reply: each entry needs `@odata.type` and `id` (strings); the
/// selected properties are strings or null. A user with a `mail` that is an RFC 5321 mailbox
/// gives that address; a user without one, or with only `@odata.type`/`id` (the reader may
/// read the app but not users, [LIMITED]), is counted, not guessed at (never the UPN: it
/// need not be a mailbox anyone reads); service principals and other types are counted and
/// skipped. A reply that cannot be understood is a `badResponse` (transient), never a guess.
public enum OwnersWire {
    /// `@odata.nextLink` pages followed at most (Graph pages owners by 100).
    public static let maxPages = 20
    /// The endpoint name in errors (no app ID in it: it is in the delivery already).
    public static let name = "/v1.0/applications(appId=…)/owners"

    /// The path (after the Graph base URL) of the first page.
    public static func path(appId: String) -> String {
        "/v1.0/applications(appId='\(urlEscape(appId))')/owners?$select=id,displayName,mail,userPrincipalName"
    }

    static let userType = "#microsoft.graph.user"

    /// One page: its owners counted into ``AppOwners`` form, and the next page's URL.
    struct Page: StrictDecodable {
        var owners: AppOwners
        var nextLink: String?

        init(strict o: StrictObject) throws(StrictProblem) {
            var owners = AppOwners()
            for entry in try o.objects("value", { (e) throws(StrictProblem) in try Entry(strict: e) }) {
                owners.total += 1
                guard entry.type.lowercased() == Self.user else {
                    owners.notUsers += 1
                    continue
                }
                guard let mail = entry.mail, let address = Self.address(mail: mail, displayName: entry.displayName)
                else {
                    owners.withoutMail += 1
                    if entry.mail == nil && entry.displayName == nil && entry.userPrincipalName == nil {
                        owners.limited += 1
                    }
                    continue
                }
                owners.addresses.append(address)
            }
            self.owners = owners
            nextLink = try o.optionalString("@odata.nextLink")
        }

        static let user = OwnersWire.userType.lowercased()

        /// The mailbox, with the owner's display name when it can go into a header (cleaned
        /// of control characters, at most 64 characters); nil when `mail` is no mailbox.
        static func address(mail: String, displayName: String?) -> MailAddress? {
            let trimmed = mail.trimmingCharacters(in: .whitespaces)
            guard let bare = MailAddress(address: trimmed) else { return nil }
            guard let name = displayName.map({ UntrustedText.clean($0).trimmingCharacters(in: .whitespaces) }),
                !name.isEmpty, name.count <= 64
            else { return bare }
            return MailAddress(displayName: name, address: trimmed) ?? bare
        }
    }

    struct Entry {
        var type: String
        var id: String
        var displayName: String?
        var mail: String?
        var userPrincipalName: String?

        init(strict o: StrictObject) throws(StrictProblem) {
            type = try o.string("@odata.type")
            id = try o.string("id")
            displayName = try o.optionalString("displayName")
            mail = try o.optionalString("mail")
            userPrincipalName = try o.optionalString("userPrincipalName")
        }
    }

    /// Adds one page to what earlier pages gave, each address once (case-insensitively).
    static func add(_ page: AppOwners, to out: inout AppOwners) {
        var seen = Set(out.addresses.map { $0.address.lowercased() })
        out.addresses += page.addresses.filter { seen.insert($0.address.lowercased()).inserted }
        out.total += page.total
        out.withoutMail += page.withoutMail
        out.limited += page.limited
        out.notUsers += page.notUsers
    }

    /// Reads every page from `firstURL` with `get` (one GET of one URL → its body), following
    /// `@odata.nextLink` only within `base` (a reply cannot send the token elsewhere) and at
    /// most ``maxPages`` pages.
    /// Runs on the caller's actor (`isolation`), so `get` may use it (the observer's `send`).
    static func read(
        firstURL: String, base: String, endpoint: String, isolation: isolated (any Actor)? = #isolation,
        _ get: (String) async throws(EntraError) -> Data
    ) async throws(EntraError) -> AppOwners {
        var url = firstURL
        var out = AppOwners()
        for _ in 0..<maxPages {
            let page = try StrictProblem.decode(Page.self, from: try await get(url), endpoint: endpoint)
            add(page.owners, to: &out)
            guard let next = page.nextLink else { return out }
            guard next.hasPrefix(base + "/") else {
                throw .badResponse(endpoint: endpoint, detail: "@odata.nextLink points outside the Graph endpoint")
            }
            url = next
        }
        throw .badResponse(endpoint: endpoint, detail: "more than \(maxPages) pages of owners")
    }

    /// What the delivery records when the owners could not be read by `reader` (`observer`
    /// or `connector's app`): a documented refusal names the permissions; anything else —
    /// network, 5xx, 429, a reply that cannot be understood, a bare 403 — says what happened.
    public static func failure(_ error: EntraError, reader: String) -> String {
        if case .apiError(let f) = error, f.isForbidden {
            return "the \(reader) may not read owners (needs Application.Read.All; User.ReadBasic.All for their addresses)"
        }
        return "owners not read: \(error)"
    }
}
