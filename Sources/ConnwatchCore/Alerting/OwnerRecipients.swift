import Foundation

/// What Graph says about a connector app's owners (`applications(appId=…)/owners`), reduced
/// to what an `[[email]]` sink with `owners = true` needs (SPEC §5): the mail addresses of
/// the owners that are users, and how many could not be mailed and why. Owners only ever
/// add recipients; they are never a verdict on the connector.
public struct AppOwners: Sendable, Equatable {
    /// Owners that are users with a valid `mail`, in Graph's order, each address once.
    public var addresses: [MailAddress]
    /// Every owner entry Graph listed (users, service principals, anything else).
    public var total: Int
    /// Users without a usable address: no `mail` (or one that is not an RFC 5321 mailbox),
    /// including ``limited`` ones.
    public var withoutMail: Int
    /// Of ``withoutMail``: entries with only `@odata.type` and `id` — the reader may read
    /// the app but not users (observer-facts §6 [LIMITED]).
    public var limited: Int
    /// Owners that are not users (service principals, devices…): never mailed.
    public var notUsers: Int

    public init(addresses: [MailAddress] = [], total: Int = 0, withoutMail: Int = 0, limited: Int = 0, notUsers: Int = 0) {
        self.addresses = addresses
        self.total = total
        self.withoutMail = withoutMail
        self.limited = limited
        self.notUsers = notUsers
    }

    /// `owners: 1 of 2 have no mail address`, or nil when every owner got an address. Says
    /// what to grant when the entries were limited, so an operator can act on it.
    public var note: String? {
        if total == 0 { return "owners: the app has no owners" }
        var parts: [String] = []
        if withoutMail > 0 {
            var s = "\(withoutMail) of \(total) \(withoutMail == 1 ? "has" : "have") no mail address"
            if limited > 0 { s += " (\(limited) not readable: the reader needs User.ReadBasic.All)" }
            parts.append(s)
        }
        if notUsers > 0 { parts.append("\(notUsers) of \(total) \(notUsers == 1 ? "is" : "are") not a user") }
        return parts.isEmpty ? nil : "owners: " + parts.joined(separator: ", ")
    }
}

/// The owners of one connector app as the daemon could learn them: read, or why not.
public enum OwnersLookup: Sendable, Equatable {
    case read(AppOwners)
    /// Not read: the message still goes to the sink's `to` and the delivery says why
    /// (`owners not read: …`, `the observer may not read owners (…)`).
    case unavailable(String)
}

/// Who one alert mail goes to: the sink's `to`, then the owners (SPEC §5 `owners = true`),
/// each address once (compared case-insensitively, the first spelling kept), and the
/// words the delivery records about it. Pure; unit-tested.
public struct MailRecipients: Sendable, Equatable {
    /// The sink's `to`, duplicates removed.
    public var to: [MailAddress]
    /// Owners not already in ``to``.
    public var owners: [MailAddress]
    /// What stopped owners from being added, or who was left out (``AppOwners/note``); nil
    /// when the sink does not mail owners or every owner was added.
    public var note: String?
    /// The sink mails owners (`owners = true`): the delivery then records the recipients.
    public var includesOwners: Bool

    /// Everyone, `to` first: the envelope's `RCPT TO` list and the `To:` header.
    public var all: [MailAddress] { to + owners }

    /// - Parameter owners: nil when the sink has `owners = false`.
    public init(to: [MailAddress], owners: OwnersLookup?) {
        var seen = Set<String>()
        self.to = to.filter { seen.insert($0.address.lowercased()).inserted }
        includesOwners = owners != nil
        switch owners {
        case nil:
            self.owners = []
            note = nil
        case .read(let o)?:
            self.owners = o.addresses.filter { seen.insert($0.address.lowercased()).inserted }
            note = o.note
        case .unavailable(let why)?:
            self.owners = []
            note = why
        }
    }

    /// `recipients: secops@example (to), ana@contoso.com (owner); owners: 1 of 2 have no
    /// mail address` — the delivery's record of whom the message was for (the SMTP
    /// server's accepted/refused report follows it in the attempt's details).
    public var details: String {
        let list = to.map { "\($0.address) (to)" } + owners.map { "\($0.address) (owner)" }
        var s = "recipients: " + list.joined(separator: ", ")
        if let note { s += "; " + note }
        return s
    }
}
