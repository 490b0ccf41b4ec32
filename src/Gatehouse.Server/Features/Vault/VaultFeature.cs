using Gatehouse.Contracts.Permissions;
using Gatehouse.Server.Platform.Auth;
using Gatehouse.Server.Platform.Composition;
using Gatehouse.Server.Platform.Events;

namespace Gatehouse.Server.Features.Vault;

/// <summary>Settings of section <c>Gatehouse:Vault</c>.</summary>
public sealed class VaultOptions
{
    /// <summary>Re-encrypt credentials under the newest data key in the background after a rotation.</summary>
    public bool ReencryptInBackground { get; set; } = true;
}

/// <summary>What happens to credentials and data keys. Reveals are audited and cause no webhook.</summary>
public static class VaultActions
{
    public static readonly AuditAction Create = new("credential.create", "credential", new WebhookEvent("credential.created", "A vault credential was created.", "credentials:read"));
    public static readonly AuditAction Update = new("credential.update", "credential", new WebhookEvent("credential.updated", "A vault credential was changed.", "credentials:read"));
    public static readonly AuditAction Delete = new("credential.delete", "credential", new WebhookEvent("credential.deleted", "A vault credential was deleted.", "credentials:read"));
    public static readonly AuditAction Reveal = new("credential.reveal", "credential");
    public static readonly AuditAction RotateDataKey = new("dek.rotate", "data_key");

    public static readonly IReadOnlyList<AuditAction> All = [Create, Update, Delete, Reveal, RotateDataKey];
}

/// <summary>Third-party credentials, encrypted under per-organization data keys wrapped by the master key.</summary>
public sealed class VaultFeature : Feature
{
    public override string Name => "Vault";

    public override IReadOnlyList<(string Tag, string Description)> Tags => [("Vault", "Encrypted third-party credentials and the data-key ring.")];

    public override IReadOnlyList<PermissionInfo> Permissions =>
    [
        new("credentials:read", "List credential metadata (never the secret data)."),
        new("credentials:reveal", "Read decrypted credential data; every reveal is audited."),
        new("credentials:write", "Create, update and delete credentials."),
    ];

    public override IReadOnlyList<AuditAction> AuditActions => VaultActions.All;

    public override void AddServices(FeatureServices services)
    {
        services.Options<VaultOptions>(Name);
        services.Services.AddSingleton<VaultKeyring>();
        services.Services.AddSingleton<OrgDataKeys>();
        services.Services.AddSingleton<VaultCredentialReader>();
        services.OrgData<VaultOrgData>();
        services.Job<DataKeyReencryption>().ClusterChanges<VaultClusterChanges>();
        services.HealthCheck<KeyringHealth>();
    }

    public override void MapRoutes(FeatureRoutes routes)
    {
        var api = routes.Api;
        var credentials = api.MapGroup("/orgs/{orgId}/credentials").WithTags("Vault");
        credentials.MapPost("", CredentialOperations.Create).RequirePermission("credentials:write").WithName("CreateCredential").WithSummary("Store a credential (its data is encrypted)");
        credentials.MapGet("", CredentialOperations.List).RequirePermission("credentials:read").WithName("ListCredentials").WithSummary("List credentials: metadata only");
        credentials.MapGet("/{integrationId}", CredentialOperations.Reveal).RequirePermission("credentials:reveal").WithName("RevealCredentials").WithSummary("Decrypted data of the integration's credentials (audited)");
        credentials.MapGet("/{integrationId}/details", CredentialOperations.Details).RequirePermission("credentials:read").WithName("GetCredentialDetails").WithSummary("Metadata and versions of the integration's credentials");
        credentials.MapGet("/{integrationId}/{credentialId}", CredentialOperations.RevealOne).RequirePermission("credentials:reveal").WithName("RevealCredential").WithSummary("Decrypted data of one credential (audited)");
        credentials.MapPatch("/{integrationId}/{credentialId}", CredentialOperations.Update).RequirePermission("credentials:write").WithName("UpdateCredential").WithSummary("Update a credential; new data adds a version");
        credentials.MapDelete("/{integrationId}/{credentialId}", CredentialOperations.Delete).RequirePermission("credentials:write").WithName("DeleteCredential").WithSummary("Delete a credential and all its versions");
        api.MapPost("/admin/dek/rotate", KeyRotation.Rotate).RequireRoot().WithTags("Vault").WithName("RotateDataKeys").WithSummary("Add a data-key version for one or all organizations");
        api.MapGet("/admin/keyring", KeyRotation.List).RequireRoot().WithTags("Vault").WithName("GetKeyring").WithSummary("Data-key versions and how many records each protects");
    }
}
