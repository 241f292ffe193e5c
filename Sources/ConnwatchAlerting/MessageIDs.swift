/// Fixed journal MESSAGE_IDs, one per event type (SPEC §5). They are API: filters
/// (`journalctl MESSAGE_ID=…`) and the catalog (`packaging/catalog/connwatch.catalog`)
/// depend on them. Never change one; add new ones.
public enum MessageIDs {
    public static let byEventType: [String: String] = [
        "connector.secret.expiring": "81fdc26e26fd4bbe9d084cbaacfa4a19",
        "connector.secret.expired": "63769be79b30475ab9dd21e37f69e9c3",
        "connector.certificate.expiring": "77f6045e72914ac1a62fcbb5d46bdcf6",
        "connector.certificate.expired": "760c0e0b59f94356944420d1dabed5cd",
        "connector.certificate.invalid": "60487f1c995a4f8290715c8d9c2ee5ba",
        "connector.credential.invalid": "f26c9d616fba40cca7218db9198f5ece",
        "connector.consent.missing": "e4638d146566476c8f1ac1d8e9d53b3f",
        "connector.permissions.excess": "765353531e0a48baa34d27aeaf3c4514",
        "connector.roles.missing": "eaf448e5aae14a35bd8ec8747ba12026",
        "connector.validation.failed": "9a56808e43fb45b4b873579e09a94b28",
        "connector.unreachable": "1cc3a0de337f44fcbcff824ed815ea10",
        "connector.zscaler.validation_failed": "3689b3fc44ed48f9b96d5af090cc09de",
        "connector.zscaler.reauth_required": "355f5b2033c2477f9601d263681db138",
        "connector.zscaler.inactive": "8fd1a851f74a44a6b1150941c7cf4272",
        // observer mode (SPEC §3b)
        "connector.signin.failing": "a4f553e28d044e73b3262de545540c09",
        "connector.signin.stale": "10a312d651524d7da6b95e556753aa49",
        "connector.app.disabled": "c65f8564b5ab4b1598307eba54817a03",
        "connector.app.missing": "756ca0bd85d746efbd57521fc4297f3d",
        "observer.credential.invalid": "b880887a8ff74fd59ade72e75b0d9015",
        "observer.secret.expiring": "6273a20db266446a92a3e315cf07de15",
        "observer.secret.expired": "29ab9ebb92c34270b97b1a7d3bf04c26",
        "observer.permission.missing": "a8eff6fb68714b93a74ddb6f2fb8ffa6",
    ]

    /// Any alert's resolution.
    public static let resolved = "2058de031da74bd2b75c6ec3a2877cf4"
    /// A webhook delivery gave up after its last attempt.
    public static let deliveryDead = "23bb705388d140ababfba709718ed42e"
    /// SIGHUP / reload with a bad configuration: the old one stays.
    public static let reloadFailed = "5c6ff3cb8a6649d38f6e390d24ec1852"
    /// A silence ran out while its alert still fires.
    public static let silenceExpired = "f4af3ba8f77347268565936c12c64ca0"
    /// The history database refuses writes (disk full, I/O error): results wait in memory.
    public static let historyNotWritten = "a7ffdc4763b84b2bb8e385e8bb820ae9"
    /// The history database accepts writes again; what waited is written.
    public static let historyResumed = "0e38d5ac9f784373844b1d26a00bf8ee"

    /// A scheduled digest e-mail was accepted by the SMTP server.
    public static let digestSent = "a9bce12aa57f4053aab5567efc398cc0"
    /// A scheduled digest e-mail was given up (5xx, or its last retry failed).
    public static let digestDead = "59a310cb086b475eb840d125c3bf3a47"

    public static var all: [String] {
        Array(byEventType.values) + [
            resolved, deliveryDead, reloadFailed, silenceExpired, historyNotWritten, historyResumed, digestSent,
            digestDead,
        ]
    }
}
