import Foundation
import Testing

@testable import ConnwatchCore

@Suite struct PermissionCatalogTests {
    typealias Entry = (api: String, permission: String, type: PermissionType, actions: [String])

    static let scan = ["Scanning"]
    static let sharing = [
        "Remove Sharing", "Restore Quarantined File", "Remove External Collaborators",
        "Remove External Collaborators and Shareable Link", "Remove Public Shareable Link",
        "Remove Internal Shareable Link", "Quarantine", "Quarantine to User Root Folder", "Remove File",
    ]
    static let notify = ["Notify User (ZscalerWorkflow Automation)"]
    static let g = "Microsoft Graph"
    static let o365 = "Office 365 Management APIs"

    /// The full expected table, written out by hand from the reference document.
    static let expected: [ConnectorKind: [Entry]] = [
        .exchange: [
            (g, "Mail.ReadWrite", .application, ["Apply Email Tag Label"]),
            (g, "MailboxSettings.Read", .application, scan),
            (g, "Directory.Read.All", .application, scan),
            (g, "User.Read.All", .application, scan),
            (g, "Mail.Send", .application, ["Quarantine"]),
            (g, "Organization.Read.All", .application, scan),
            (g, "AuditLog.Read.All", .application, scan),
            (g, "Member.Read.Hidden", .application, scan),
            (g, "Reports.Read.All", .application, scan),
        ],
        .azureBlob: [
            ("Azure Storage", "user_impersonation", .delegated, ["Discover Storage Account", "Scanning"]),
            (
                "Windows Azure Service Management", "user_impersonation", .delegated,
                ["Discover Storage Account", "Scanning"]
            ),
        ],
        .mip: [
            (g, "InformationProtectionPolicy.Read.All", .application, scan),
            ("Microsoft Information Protection Sync Service", "UnifiedPolicy.Tenant.Read", .application, scan),
            (
                "Microsoft Rights Management Services", "Content.DelegatedWriter", .application,
                ["Apply MIP Labels to File"]
            ),
            ("Microsoft Rights Management Services", "Content.Writer", .application, ["Apply MIP Labels to File"]),
            ("Microsoft Rights Management Services", "Content.SuperUser", .application, scan),
            ("Microsoft Rights Management Services", "Content.DelegatedReader", .application, scan),
        ],
        .onedrive: [
            (o365, "ActivityFeed.Read", .application, scan),
            (g, "People.Read.All", .application, scan),
            (g, "Group.Read.All", .application, scan),
            (g, "Sites.Manage.All", .application, scan),
            (g, "Sites.ReadWrite.All", .application, sharing),
            (g, "Files.ReadWrite.All", .application, ["Scanning and Quarantine", "Quarantine to User Root Folder"]),
            (g, "Directory.Read.All", .application, scan),
            (g, "GroupMember.Read.All", .application, scan),
            (g, "Organization.Read.All", .application, scan),
            (g, "AuditLog.Read.All", .application, scan),
            (g, "Application.Read.All", .application, scan),
            (g, "Reports.Read.All", .application, scan),
        ],
        .sharepoint: [
            ("SharePoint", "Sites.Read.All", .application, scan),
            (o365, "ActivityFeed.Read", .application, scan),
            (g, "People.Read.All", .application, scan),
            (g, "Group.Read.All", .application, scan),
            (g, "Sites.Manage.All", .application, scan),
            (g, "Sites.ReadWrite.All", .application, sharing),
            (g, "Files.ReadWrite.All", .application, ["Scanning and Quarantine", "Quarantine to User Root Folder"]),
            (g, "Directory.Read.All", .application, scan),
            (g, "GroupMember.Read.All", .application, scan),
            (g, "Organization.Read.All", .application, scan),
            (g, "AuditLog.Read.All", .application, scan),
            (g, "Application.Read.All", .application, scan),
            (g, "Reports.Read.All", .application, scan),
        ],
        .teams: [
            (o365, "ActivityFeed.Read", .application, scan),
            (g, "TeamMember.Read.All", .application, scan),
            (g, "Chat.UpdatePolicyViolation.All", .application, ["Block Message"]),
            (g, "TeamsAppInstallation.ReadForUser.All", .application, scan),
            (g, "TeamsAppInstallation.ReadWriteSelfForUser.All", .application, notify),
            (g, "TeamsAppInstallation.ReadWriteAndConsentForTeam.All", .application, notify),
            (g, "Sites.Selected", .application, scan),
            (g, "TeamsActivity.Read.All", .application, scan),
            (g, "TeamsAppInstallation.ReadForChat.All", .application, scan),
            (g, "ChannelSettings.Read.All", .application, scan),
            (g, "Channel.ReadBasic.All", .application, scan),
            (g, "People.Read.All", .application, scan),
            (g, "Group.Read.All", .application, scan),
            (g, "Sites.Read.All", .application, scan),
            (g, "Sites.ReadWrite.All", .application, sharing),
            (g, "ChatMessage.Read.All", .application, scan),
            (g, "Directory.Read.All", .application, scan),
            (g, "User.Read.All", .application, scan),
            (g, "ChannelMember.Read.All", .application, scan),
            (g, "GroupMember.Read.All", .application, scan),
            (g, "Files.Read.All", .application, scan),
            (g, "Team.ReadBasic.All", .application, scan),
            (g, "Chat.Read.All", .application, scan),
            (g, "ChannelMessage.Read.All", .application, scan),
            (g, "ChannelMessage.UpdatePolicyViolation.All", .application, notify + ["Notify User"]),
            (g, "Organization.Read.All", .application, scan),
            (g, "AuditLog.Read.All", .application, scan),
            (g, "Chat.ReadBasic.All", .application, scan),
            (g, "Application.Read.All", .application, scan),
            (g, "ChatMember.Read.All", .application, scan),
            (g, "TeamsAppInstallation.ReadForTeam.All", .application, notify),
            (g, "Reports.Read.All", .application, scan),
        ],
    ]

    @Test(arguments: ConnectorKind.allCases)
    func catalogMatchesTheHandWrittenTable(kind: ConnectorKind) throws {
        let actual = PermissionCatalog.requirements(for: kind).permissions
        let expected = try #require(Self.expected[kind])
        #expect(actual.count == expected.count)
        for (a, e) in zip(actual, expected) {
            #expect(PermissionCatalog.resource(a.resource).displayName == e.api, "\(kind) \(a.name)")
            #expect(a.name == e.permission)
            #expect(a.type == e.type, "\(kind) \(a.name)")
            #expect(a.actions == e.actions, "\(kind) \(a.name)")
            #expect(a.inferred == (kind == .sharepoint), "\(kind) \(a.name): only SharePoint is inferred")
        }
    }

    static func referenceText() throws -> String {
        let url = try #require(
            Bundle.module.url(forResource: "Fixtures/zscaler-custom-connector-microsoft", withExtension: "txt"))
        return try String(contentsOf: url, encoding: .utf8)
    }

    /// The catalog equals what the reference document's tables say, for every kind that
    /// the document still has rows for.
    @Test(arguments: [ConnectorKind.exchange, .azureBlob, .mip, .onedrive, .teams])
    func catalogMatchesTheReferenceDocument(kind: ConnectorKind) throws {
        let parsed = ReferenceTableParser.parse(try Self.referenceText())
        let rows = try #require(parsed[kind.rawValue], "no table for \(kind) in the reference text")
        let catalog = PermissionCatalog.requirements(for: kind).permissions.map {
            ReferenceTableParser.Row(
                api: PermissionCatalog.resource($0.resource).displayName, permission: $0.name, actions: $0.actions)
        }
        #expect(rows == catalog)
    }

    @Test func referenceDocumentHasNoSharePointRows() throws {
        let parsed = ReferenceTableParser.parse(try Self.referenceText())
        #expect(parsed["sharepoint"] == [])
        #expect(parsed.count == 6)
    }

    @Test func resourcesCarryTheWellKnownIdentities() {
        let expected: [ResourceID: (String, String, Bool)] = [
            .graph: ("00000003-0000-0000-c000-000000000000", "https://graph.microsoft.com/.default", false),
            .office365Management: ("c5393580-f805-4401-95e8-94b7a6ef2fc2", "https://manage.office.com/.default", false),
            .azureStorage: ("e406a681-f3d4-42a8-90b6-c2b029497af1", "https://storage.azure.com/.default", false),
            .azureServiceManagement: (
                "797f4846-ba00-4fd7-ba43-dac1f8f63013", "https://management.azure.com/.default", false
            ),
            .mipSyncService: (
                "870c4f2e-85b6-4d43-bdda-6ed9a579b725", "https://syncservice.o365syncservice.com/.default", false
            ),
            .rightsManagement: ("00000012-0000-0000-c000-000000000000", "https://aadrm.com/.default", false),
            .sharePoint: ("00000003-0000-0ff1-ce00-000000000000", "https://contoso.sharepoint.com/.default", true),
        ]
        #expect(PermissionCatalog.resources.count == ResourceID.allCases.count)
        for id in ResourceID.allCases {
            let r = PermissionCatalog.resource(id)
            let (appId, scope, certOnly) = expected[id]!
            #expect(r.appId == appId)
            #expect(r.defaultScope(sharePointHost: "contoso.sharepoint.com") == scope)
            #expect(r.certificateOnly == certOnly)
        }
    }

    @Test func kindsAskTokensForTheRightResources() {
        let expected: [ConnectorKind: [ResourceID]] = [
            .exchange: [.graph],
            .onedrive: [.graph, .office365Management],
            .sharepoint: [.graph, .office365Management, .sharePoint],
            .teams: [.graph, .office365Management],
            .azureBlob: [.azureServiceManagement, .azureStorage],
            .mip: [.graph, .mipSyncService, .rightsManagement],
        ]
        for kind in ConnectorKind.allCases {
            let req = PermissionCatalog.requirements(for: kind)
            #expect(req.resources == expected[kind])
            // Every permission's resource is one the kind asks a token for.
            #expect(req.permissions.allSatisfy { req.resources.contains($0.resource) })
        }
    }

    @Test func azureBlobNeedsBothStorageRoles() {
        let roles = PermissionCatalog.requirements(for: .azureBlob).roles
        #expect(roles.map(\.name) == ["Storage Blob Data Contributor", "Storage Account Contributor"])
        #expect(
            roles.map(\.roleDefinitionId) == [
                "ba92f5b4-2d11-453d-a403-e96b0029c9fe", "17d1049b-9a84-46fb-8f53-869881c3d3ab",
            ])
        #expect(roles.allSatisfy { $0.scope == "subscription" })
        for kind in ConnectorKind.allCases where kind != .azureBlob {
            #expect(PermissionCatalog.requirements(for: kind).roles.isEmpty)
        }
    }

    @Test func whoCanReadApplications() {
        #expect(
            ConnectorKind.allCases.filter(PermissionCatalog.canReadApplications) == [
                .exchange, .onedrive, .sharepoint, .teams,
            ])
    }

    @Test func noDuplicatePermissionsWithinAKind() {
        for kind in ConnectorKind.allCases {
            let keys = PermissionCatalog.requirements(for: kind).permissions.map { "\($0.resource)/\($0.name)" }
            #expect(Set(keys).count == keys.count, "\(kind)")
        }
    }
}
