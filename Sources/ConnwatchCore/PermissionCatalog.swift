/// The permission catalog: what every connector kind needs, from the reference
/// document's "API Permissions for Microsoft Applications" tables
/// (`zscaler-custom-connector-microsoft.txt`) and microsoft-facts.md §2.8/§2.9.
///
/// This is the one place the table lives. `PermissionCatalogTests` checks it entry by
/// entry and against the reference text itself.
public enum PermissionCatalog {
    // MARK: Resources

    public static let resources: [ResourceID: MicrosoftResource] = [
        .graph: MicrosoftResource(
            id: .graph, displayName: "Microsoft Graph",
            appId: "00000003-0000-0000-c000-000000000000",
            resourceURI: "https://graph.microsoft.com", certificateOnly: false),
        .office365Management: MicrosoftResource(
            id: .office365Management, displayName: "Office 365 Management APIs",
            appId: "c5393580-f805-4401-95e8-94b7a6ef2fc2",
            resourceURI: "https://manage.office.com", certificateOnly: false),
        .azureStorage: MicrosoftResource(
            id: .azureStorage, displayName: "Azure Storage",
            appId: "e406a681-f3d4-42a8-90b6-c2b029497af1",
            resourceURI: "https://storage.azure.com", certificateOnly: false),
        .azureServiceManagement: MicrosoftResource(
            id: .azureServiceManagement, displayName: "Windows Azure Service Management",
            appId: "797f4846-ba00-4fd7-ba43-dac1f8f63013",
            resourceURI: "https://management.azure.com", certificateOnly: false),
        .mipSyncService: MicrosoftResource(
            id: .mipSyncService, displayName: "Microsoft Information Protection Sync Service",
            appId: "870c4f2e-85b6-4d43-bdda-6ed9a579b725",
            resourceURI: "https://syncservice.o365syncservice.com", certificateOnly: false),
        .rightsManagement: MicrosoftResource(
            id: .rightsManagement, displayName: "Microsoft Rights Management Services",
            appId: "00000012-0000-0000-c000-000000000000",
            resourceURI: "https://aadrm.com", certificateOnly: false),
        .sharePoint: MicrosoftResource(
            id: .sharePoint, displayName: "SharePoint",
            appId: "00000003-0000-0ff1-ce00-000000000000",
            resourceURI: "https://{sharepoint_host}", certificateOnly: true),
    ]

    public static func resource(_ id: ResourceID) -> MicrosoftResource {
        // Every ResourceID has an entry; the catalog test enforces it.
        resources[id]!
    }

    // MARK: Azure RBAC (azure-blob, reference step 3)

    public static let storageBlobDataContributor = RequiredRole(
        name: "Storage Blob Data Contributor",
        roleDefinitionId: "ba92f5b4-2d11-453d-a403-e96b0029c9fe", scope: "subscription")
    public static let storageAccountContributor = RequiredRole(
        name: "Storage Account Contributor",
        roleDefinitionId: "17d1049b-9a84-46fb-8f53-869881c3d3ab", scope: "subscription")

    // MARK: Zscaler actions (the reference table's wording)

    static let scanning = ["Scanning"]
    /// Sites.ReadWrite.All's actions, the same for OneDrive, SharePoint and Teams.
    static let sharingRemediation = [
        "Remove Sharing",
        "Restore Quarantined File",
        "Remove External Collaborators",
        "Remove External Collaborators and Shareable Link",
        "Remove Public Shareable Link",
        "Remove Internal Shareable Link",
        "Quarantine",
        "Quarantine to User Root Folder",
        "Remove File",
    ]
    static let notifyUserWorkflow = ["Notify User (ZscalerWorkflow Automation)"]

    // MARK: Per kind

    private static func app(
        _ resource: ResourceID, _ name: String, _ actions: [String], inferred: Bool = false
    )
        -> RequiredPermission
    {
        RequiredPermission(resource: resource, name: name, type: .application, actions: actions, inferred: inferred)
    }

    static let exchange: [RequiredPermission] = [
        app(.graph, "Mail.ReadWrite", ["Apply Email Tag Label"]),
        app(.graph, "MailboxSettings.Read", scanning),
        app(.graph, "Directory.Read.All", scanning),
        app(.graph, "User.Read.All", scanning),
        app(.graph, "Mail.Send", ["Quarantine"]),
        app(.graph, "Organization.Read.All", scanning),
        app(.graph, "AuditLog.Read.All", scanning),
        app(.graph, "Member.Read.Hidden", scanning),
        app(.graph, "Reports.Read.All", scanning),
    ]

    static let azureBlob: [RequiredPermission] = [
        RequiredPermission(
            resource: .azureStorage, name: "user_impersonation", type: .delegated,
            actions: ["Discover Storage Account", "Scanning"]),
        RequiredPermission(
            resource: .azureServiceManagement, name: "user_impersonation", type: .delegated,
            actions: ["Discover Storage Account", "Scanning"]),
    ]

    static let mip: [RequiredPermission] = [
        app(.graph, "InformationProtectionPolicy.Read.All", scanning),
        app(.mipSyncService, "UnifiedPolicy.Tenant.Read", scanning),
        app(.rightsManagement, "Content.DelegatedWriter", ["Apply MIP Labels to File"]),
        app(.rightsManagement, "Content.Writer", ["Apply MIP Labels to File"]),
        app(.rightsManagement, "Content.SuperUser", scanning),
        app(.rightsManagement, "Content.DelegatedReader", scanning),
    ]

    /// OneDrive's Graph list, which SharePoint shares (inferred there).
    private static func onedriveGraph(inferred: Bool) -> [RequiredPermission] {
        [
            app(.graph, "People.Read.All", scanning, inferred: inferred),
            app(.graph, "Group.Read.All", scanning, inferred: inferred),
            app(.graph, "Sites.Manage.All", scanning, inferred: inferred),
            app(.graph, "Sites.ReadWrite.All", sharingRemediation, inferred: inferred),
            app(
                .graph, "Files.ReadWrite.All", ["Scanning and Quarantine", "Quarantine to User Root Folder"],
                inferred: inferred),
            app(.graph, "Directory.Read.All", scanning, inferred: inferred),
            app(.graph, "GroupMember.Read.All", scanning, inferred: inferred),
            app(.graph, "Organization.Read.All", scanning, inferred: inferred),
            app(.graph, "AuditLog.Read.All", scanning, inferred: inferred),
            app(.graph, "Application.Read.All", scanning, inferred: inferred),
            app(.graph, "Reports.Read.All", scanning, inferred: inferred),
        ]
    }

    static let onedrive: [RequiredPermission] =
        [app(.office365Management, "ActivityFeed.Read", scanning)] + onedriveGraph(inferred: false)

    /// The reference table lost its SharePoint rows; microsoft-facts.md §Catalog gives
    /// SharePoint API `Sites.Read.All` plus OneDrive's Office 365 Management and Graph set.
    static let sharepoint: [RequiredPermission] =
        [
            app(.sharePoint, "Sites.Read.All", scanning, inferred: true),
            app(.office365Management, "ActivityFeed.Read", scanning, inferred: true),
        ] + onedriveGraph(inferred: true)

    static let teams: [RequiredPermission] = [
        app(.office365Management, "ActivityFeed.Read", scanning),
        app(.graph, "TeamMember.Read.All", scanning),
        app(.graph, "Chat.UpdatePolicyViolation.All", ["Block Message"]),
        app(.graph, "TeamsAppInstallation.ReadForUser.All", scanning),
        app(.graph, "TeamsAppInstallation.ReadWriteSelfForUser.All", notifyUserWorkflow),
        app(.graph, "TeamsAppInstallation.ReadWriteAndConsentForTeam.All", notifyUserWorkflow),
        app(.graph, "Sites.Selected", scanning),
        app(.graph, "TeamsActivity.Read.All", scanning),
        app(.graph, "TeamsAppInstallation.ReadForChat.All", scanning),
        app(.graph, "ChannelSettings.Read.All", scanning),
        app(.graph, "Channel.ReadBasic.All", scanning),
        app(.graph, "People.Read.All", scanning),
        app(.graph, "Group.Read.All", scanning),
        app(.graph, "Sites.Read.All", scanning),
        app(.graph, "Sites.ReadWrite.All", sharingRemediation),
        app(.graph, "ChatMessage.Read.All", scanning),
        app(.graph, "Directory.Read.All", scanning),
        app(.graph, "User.Read.All", scanning),
        app(.graph, "ChannelMember.Read.All", scanning),
        app(.graph, "GroupMember.Read.All", scanning),
        app(.graph, "Files.Read.All", scanning),
        app(.graph, "Team.ReadBasic.All", scanning),
        app(.graph, "Chat.Read.All", scanning),
        app(.graph, "ChannelMessage.Read.All", scanning),
        app(.graph, "ChannelMessage.UpdatePolicyViolation.All", notifyUserWorkflow + ["Notify User"]),
        app(.graph, "Organization.Read.All", scanning),
        app(.graph, "AuditLog.Read.All", scanning),
        app(.graph, "Chat.ReadBasic.All", scanning),
        app(.graph, "Application.Read.All", scanning),
        app(.graph, "ChatMember.Read.All", scanning),
        app(.graph, "TeamsAppInstallation.ReadForTeam.All", notifyUserWorkflow),
        app(.graph, "Reports.Read.All", scanning),
    ]

    /// What `kind` needs: token resources, permissions with their Zscaler actions, RBAC roles.
    public static func requirements(for kind: ConnectorKind) -> KindRequirements {
        switch kind {
        case .exchange:
            KindRequirements(kind: kind, resources: [.graph], permissions: exchange, roles: [])
        case .onedrive:
            KindRequirements(kind: kind, resources: [.graph, .office365Management], permissions: onedrive, roles: [])
        case .sharepoint:
            KindRequirements(
                kind: kind, resources: [.graph, .office365Management, .sharePoint], permissions: sharepoint, roles: [])
        case .teams:
            KindRequirements(kind: kind, resources: [.graph, .office365Management], permissions: teams, roles: [])
        case .azureBlob:
            KindRequirements(
                kind: kind, resources: [.azureServiceManagement, .azureStorage], permissions: azureBlob,
                roles: [storageBlobDataContributor, storageAccountContributor])
        case .mip:
            KindRequirements(
                kind: kind, resources: [.graph, .mipSyncService, .rightsManagement], permissions: mip, roles: [])
        }
    }

    /// Whether a kind's Graph application permissions let it read its own credentials'
    /// expiry (`Application.Read.All`, or `Directory.Read.All` which also reads applications).
    public static func canReadApplications(_ kind: ConnectorKind) -> Bool {
        requirements(for: kind).applicationPermissions(for: .graph).contains {
            $0.name == "Application.Read.All" || $0.name == "Directory.Read.All"
        }
    }
}
