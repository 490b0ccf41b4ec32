using System.ComponentModel.DataAnnotations;
using Gatehouse.Contracts.Permissions;
using Gatehouse.Server.Platform.Auth;
using Gatehouse.Server.Platform.Composition;
using Gatehouse.Server.Platform.Events;

namespace Gatehouse.Server.Features.Content;

/// <summary>Settings of section <c>Gatehouse:Content</c>.</summary>
public sealed class ContentOptions
{
    /// <summary>The largest file an upload may carry (bytes of plaintext). This route alone lifts the request body limit, to this size.</summary>
    [Range(1, long.MaxValue)]
    public long MaxFileBytes { get; set; } = 5L * 1024 * 1024 * 1024;

    /// <summary>
    /// Country data for DRM rules with <c>allowedCountries</c>: a CSV file of <c>network,country</c>
    /// lines (<c>203.0.113.0/24,NL</c>). Without it, an address has no country and such rules deny.
    /// </summary>
    public string? GeoIpCsv { get; set; }

    /// <summary>
    /// The largest PDF or PNG/JPEG file that a rule with <c>watermark</c> gets stamped (decrypted into memory, bytes of
    /// plaintext); larger ones are served unchanged with the <c>X-Watermark</c> header only. 0 turns stamping off.
    /// </summary>
    [Range(0, int.MaxValue)]
    public long WatermarkMaxBytes { get; set; } = 32L * 1024 * 1024;

    /// <summary>The base of share links in responses (the server's own address when absent).</summary>
    public string? PublicBaseUrl { get; set; }
}

/// <summary>What happens to protected content; recipients' opens and denials become webhook events for <c>audit:read</c> subscribers.</summary>
public static class ContentActions
{
    public static readonly AuditAction StorageConfigCreate = new("storage_config.create", "storage_config", new WebhookEvent("storage_config.created", "A storage configuration was created.", "storage:read"));
    public static readonly AuditAction StorageConfigUpdate = new("storage_config.update", "storage_config", new WebhookEvent("storage_config.updated", "A storage configuration was changed.", "storage:read"));
    public static readonly AuditAction StorageConfigDelete = new("storage_config.delete", "storage_config", new WebhookEvent("storage_config.deleted", "A storage configuration was deleted.", "storage:read"));
    public static readonly AuditAction ContainerCreate = new("container.create", "container", new WebhookEvent("container.created", "A container was created.", "containers:read"));
    public static readonly AuditAction ContainerUpdate = new("container.update", "container", new WebhookEvent("container.updated", "A container was changed.", "containers:read"));
    public static readonly AuditAction ContainerDelete = new("container.delete", "container", new WebhookEvent("container.deleted", "A container and its files were deleted.", "containers:read"));
    public static readonly AuditAction FileUpload = new("content_file.create", "content_file", new WebhookEvent("container.file_added", "A file was uploaded to a container.", "containers:read"));
    public static readonly AuditAction FileDelete = new("content_file.delete", "content_file", new WebhookEvent("container.file_removed", "A file was deleted from a container.", "containers:read"));
    public static readonly AuditAction FileRead = new("content_file.read", "content_file");
    public static readonly AuditAction FileTampered = new("content_file.tampered", "content_file", new WebhookEvent("container.tampered", "A stored file failed its integrity check; nothing of it was served.", "audit:read"));
    public static readonly AuditAction ShareCreate = new("share.create", "share", new WebhookEvent("container.shared", "A container was shared with recipients.", "audit:read"));
    public static readonly AuditAction ShareRevoke = new("share.revoke", "share", new WebhookEvent("container.share_revoked", "A share was revoked.", "audit:read"));
    public static readonly AuditAction ShareOpen = new("share.open", "content_file", new WebhookEvent("container.opened", "A recipient opened a shared file.", "audit:read"));
    public static readonly AuditAction ShareDownload = new("share.download", "content_file", new WebhookEvent("container.downloaded", "A recipient downloaded a shared file.", "audit:read"));
    public static readonly AuditAction ShareDeny = new("share.deny", "content_file", new WebhookEvent("container.denied", "A recipient was refused a shared file; the reason is in the event.", "audit:read"));
    public static readonly AuditAction ShareExpire = new("share.expire", "content_file", new WebhookEvent("container.expired", "A recipient was refused a shared file because the share or rule expired.", "audit:read"));
    public static readonly AuditAction DrmRuleCreate = new("drm_rule.create", "drm_rule", new WebhookEvent("drm_rule.created", "A DRM rule was created.", "drm:read"));
    public static readonly AuditAction DrmRuleUpdate = new("drm_rule.update", "drm_rule", new WebhookEvent("drm_rule.updated", "A DRM rule was changed.", "drm:read"));
    public static readonly AuditAction DrmRuleDelete = new("drm_rule.delete", "drm_rule", new WebhookEvent("drm_rule.deleted", "A DRM rule was deleted.", "drm:read"));
    public static readonly AuditAction ContactCreate = new("contact.create", "contact", new WebhookEvent("contact.created", "An address-book entry was created.", "address_book:read"));
    public static readonly AuditAction ContactUpdate = new("contact.update", "contact", new WebhookEvent("contact.updated", "An address-book entry was changed.", "address_book:read"));
    public static readonly AuditAction ContactDelete = new("contact.delete", "contact", new WebhookEvent("contact.deleted", "An address-book entry was deleted.", "address_book:read"));
    public static readonly AuditAction TagCreate = new("tag.create", "tag", new WebhookEvent("tag.created", "A tag was created.", "tags:read"));
    public static readonly AuditAction TagUpdate = new("tag.update", "tag", new WebhookEvent("tag.updated", "A tag was changed.", "tags:read"));
    public static readonly AuditAction TagDelete = new("tag.delete", "tag", new WebhookEvent("tag.deleted", "A tag was deleted.", "tags:read"));
    public static readonly AuditAction ConsentRecord = new("consent.record", "consent", new WebhookEvent("consent.recorded", "A consent decision was recorded.", "consents:read"));
    public static readonly AuditAction ConsentErase = new("consent.erase", "consent", new WebhookEvent("consent.erased", "A person's personal data was erased from the consent records.", "consents:read"));
    public static readonly AuditAction CustomizationUpdate = new("customization.update", "customization", new WebhookEvent("customization.updated", "The share pages' branding was changed.", "orgs:read"));
    public static readonly AuditAction ErrorReport = new("client_error.report", "client_error");

    public static readonly IReadOnlyList<AuditAction> All =
    [
        StorageConfigCreate, StorageConfigUpdate, StorageConfigDelete, ContainerCreate, ContainerUpdate, ContainerDelete, FileUpload, FileDelete, FileRead, FileTampered,
        ShareCreate, ShareRevoke, ShareOpen, ShareDownload, ShareDeny, ShareExpire, DrmRuleCreate, DrmRuleUpdate, DrmRuleDelete, ContactCreate, ContactUpdate, ContactDelete,
        TagCreate, TagUpdate, TagDelete, ConsentRecord, ConsentErase, CustomizationUpdate, ErrorReport,
    ];
}

/// <summary>Protected content: encrypted containers of files, DRM rules, shares, consent and the org's content tools (API.md §11).</summary>
public sealed class ContentFeature : Feature
{
    public override string Name => "Content";

    public override IReadOnlyList<(string Tag, string Description)> Tags =>
    [
        ("Content", "Storage configurations, containers and their encrypted files, shares and the recipients' side."),
        ("DRM", "Rules that decide who may open shared content, when, how often and from where."),
        ("Content tools", "Address book, tags, consents, branding, events, client errors, usage and service status."),
    ];

    public override IReadOnlyList<PermissionInfo> Permissions =>
    [
        new("storage:read", "List and read storage configurations."),
        new("storage:write", "Create, change, probe and delete storage configurations."),
        new("containers:read", "List containers and files and read content (without DRM limits; audited)."),
        new("containers:write", "Create, change and delete containers, upload and delete files, share and revoke."),
        new("drm:read", "List and read DRM rules."),
        new("drm:write", "Create, change and delete DRM rules."),
        new("address_book:read", "List and read address-book entries."),
        new("address_book:write", "Create, change and delete address-book entries."),
        new("tags:read", "List and read tags."),
        new("tags:write", "Create, change and delete tags."),
        new("consents:read", "List consent records, a subject's status and the chain's verification."),
        new("consents:write", "Record consent decisions and erase a person's data from them."),
        new("errors:read", "List errors that clients reported."),
        new("errors:write", "Report client errors."),
    ];

    public override IReadOnlyList<AuditAction> AuditActions => ContentActions.All;

    public override void AddServices(FeatureServices services)
    {
        var options = services.Options<ContentOptions>(Name);
        services.Services.AddSingleton<ContentStores>();
        // Uploads of any size stream through it: no overall timeout; the URLs are not logged.
        services.Services.AddHttpClient(HttpContentStore.ClientName, client => client.Timeout = Timeout.InfiniteTimeSpan).RemoveAllLoggers();
        services.Services.AddSingleton(new CountryLookup(options.GeoIpCsv));
        services.Services.AddSingleton<Vault.IDataKeyUser, ContentDataKeyUser>();
        services.OrgData<ContentOrgData>();
        services.HealthCheck<ContentStorageHealth>();
    }

    public override void MapRoutes(FeatureRoutes routes)
    {
        var api = routes.Api;
        var storage = api.MapGroup("/orgs/{orgId}/storage-configs").WithTags("Content");
        storage.MapPost("", StorageConfigOperations.Create).RequirePermission("storage:write").WithName("CreateStorageConfig").WithSummary("Create a storage configuration");
        storage.MapGet("", StorageConfigOperations.List).RequirePermission("storage:read").WithName("ListStorageConfigs").WithSummary("List storage configurations");
        storage.MapGet("/{storageConfigId}", StorageConfigOperations.Get).RequirePermission("storage:read").WithName("GetStorageConfig").WithSummary("Get a storage configuration");
        storage.MapPatch("/{storageConfigId}", StorageConfigOperations.Update).RequirePermission("storage:write").WithName("UpdateStorageConfig").WithSummary("Update a storage configuration");
        storage.MapDelete("/{storageConfigId}", StorageConfigOperations.Delete).RequirePermission("storage:write").WithName("DeleteStorageConfig").WithSummary("Delete an unused storage configuration");
        storage.MapPost("/{storageConfigId}/test", StorageConfigOperations.Probe).RequirePermission("storage:write").WithName("TestStorageConfig").WithSummary("Write, read and delete a probe object; report what failed");

        var containers = api.MapGroup("/orgs/{orgId}/containers").WithTags("Content");
        containers.MapPost("", ContainerOperations.Create).RequirePermission("containers:write").WithName("CreateContainer").WithSummary("Create a container");
        containers.MapGet("", ContainerOperations.List).RequirePermission("containers:read").WithName("ListContainers").WithSummary("List containers");
        containers.MapGet("/{containerId}", ContainerOperations.Get).RequirePermission("containers:read").WithName("GetContainer").WithSummary("Get a container");
        containers.MapPatch("/{containerId}", ContainerOperations.Update).RequirePermission("containers:write").WithName("UpdateContainer").WithSummary("Update a container");
        containers.MapDelete("/{containerId}", ContainerOperations.Delete).RequirePermission("containers:write").WithName("DeleteContainer").WithSummary("Delete a container, its files and shares");
        containers.MapPost("/{containerId}/files", FileOperations.Upload).RequirePermission("containers:write").DisableRequestTimeout()
            .WithName("UploadFile").WithSummary("Upload a file (multipart part 'file', or a raw body with ?name=), streamed and encrypted");
        containers.MapGet("/{containerId}/files", FileOperations.List).RequirePermission("containers:read").WithName("ListFiles").WithSummary("List a container's files");
        containers.MapGet("/{containerId}/files/{fileId}", FileOperations.Get).RequirePermission("containers:read").WithName("GetFile").WithSummary("Get a file's metadata");
        containers.MapDelete("/{containerId}/files/{fileId}", FileOperations.Delete).RequirePermission("containers:write").WithName("DeleteFile").WithSummary("Delete a file and its stored object");
        containers.MapGet("/{containerId}/files/{fileId}/content", FileOperations.Read).RequirePermission("containers:read").DisableRequestTimeout()
            .WithName("ReadFileContent").WithSummary("The file's plaintext for the organization (no DRM limits; audited)");
        containers.MapPost("/{containerId}/shares", ShareOperations.Create).RequirePermission("containers:write").WithName("CreateShare").WithSummary("Share a container with address-book recipients; tokens shown once");
        containers.MapGet("/{containerId}/shares", ShareOperations.List).RequirePermission("containers:read").WithName("ListShares").WithSummary("List a container's shares and what each recipient used");
        containers.MapDelete("/{containerId}/shares/{shareId}", ShareOperations.Revoke).RequirePermission("containers:write").WithName("RevokeShare").WithSummary("Revoke a share: its links stop at the next open");
        containers.MapGet("/{containerId}/access-log", ActivityOperations.AccessLog).RequirePermission("audit:read").WithName("GetContainerAccessLog").WithSummary("Opens, downloads and denials of one container");

        // Open on purpose, and marked so: the share token in the path is the recipient's credential.
        var shared = api.MapGroup("/shares/{token}").WithTags("Content").AllowAnonymous();
        shared.MapGet("", RecipientOperations.View).WithName("OpenShare").WithSummary("What a share link's recipient may open (the token is the credential)");
        shared.MapPost("/consent", RecipientOperations.Consent).WithName("GiveShareConsent").WithSummary("The recipient gives or refuses the consent the rule requires");
        shared.MapGet("/files/{fileId}", RecipientOperations.Open).DisableRequestTimeout().WithName("OpenSharedFile")
            .WithSummary("Open (or with ?download=true download) a shared file; the DRM rule is checked at this moment");

        var rules = api.MapGroup("/orgs/{orgId}/drm-rules").WithTags("DRM");
        rules.MapPost("", DrmRuleOperations.Create).RequirePermission("drm:write").WithName("CreateDrmRule").WithSummary("Create a DRM rule");
        rules.MapGet("", DrmRuleOperations.List).RequirePermission("drm:read").WithName("ListDrmRules").WithSummary("List DRM rules");
        rules.MapGet("/{ruleId}", DrmRuleOperations.Get).RequirePermission("drm:read").WithName("GetDrmRule").WithSummary("Get a DRM rule");
        rules.MapPut("/{ruleId}", DrmRuleOperations.Replace).RequirePermission("drm:write").WithName("ReplaceDrmRule").WithSummary("Replace a DRM rule; the next open obeys it");
        rules.MapDelete("/{ruleId}", DrmRuleOperations.Delete).RequirePermission("drm:write").WithName("DeleteDrmRule").WithSummary("Delete a DRM rule no container or share uses");

        var contacts = api.MapGroup("/orgs/{orgId}/address-book").WithTags("Content tools");
        contacts.MapPost("", DirectoryOperations.CreateContact).RequirePermission("address_book:write").WithName("CreateContact").WithSummary("Add an address-book entry");
        contacts.MapGet("", DirectoryOperations.ListContacts).RequirePermission("address_book:read").WithName("ListContacts").WithSummary("List the address book");
        contacts.MapGet("/{contactId}", DirectoryOperations.GetContact).RequirePermission("address_book:read").WithName("GetContact").WithSummary("Get an address-book entry");
        contacts.MapPut("/{contactId}", DirectoryOperations.ReplaceContact).RequirePermission("address_book:write").WithName("ReplaceContact").WithSummary("Replace an address-book entry");
        contacts.MapDelete("/{contactId}", DirectoryOperations.DeleteContact).RequirePermission("address_book:write").WithName("DeleteContact").WithSummary("Delete an address-book entry");

        var tags = api.MapGroup("/orgs/{orgId}/tags").WithTags("Content tools");
        tags.MapPost("", DirectoryOperations.CreateTag).RequirePermission("tags:write").WithName("CreateTag").WithSummary("Create a tag");
        tags.MapGet("", DirectoryOperations.ListTags).RequirePermission("tags:read").WithName("ListTags").WithSummary("List tags");
        tags.MapGet("/{tagId}", DirectoryOperations.GetTag).RequirePermission("tags:read").WithName("GetTag").WithSummary("Get a tag");
        tags.MapPut("/{tagId}", DirectoryOperations.ReplaceTag).RequirePermission("tags:write").WithName("ReplaceTag").WithSummary("Replace a tag");
        tags.MapDelete("/{tagId}", DirectoryOperations.DeleteTag).RequirePermission("tags:write").WithName("DeleteTag").WithSummary("Delete a tag");

        var consents = api.MapGroup("/orgs/{orgId}/consents").WithTags("Content tools");
        consents.MapPost("", ConsentOperations.Record).RequirePermission("consents:write").WithName("RecordConsent").WithSummary("Record a consent decision (append-only)");
        consents.MapGet("", ConsentOperations.List).RequirePermission("consents:read").WithName("ListConsents").WithSummary("List consent records");
        consents.MapGet("/status", ConsentOperations.Status).RequirePermission("consents:read").WithName("GetConsentStatus").WithSummary("A subject's current decision per purpose");
        consents.MapGet("/verify", ConsentOperations.Verify).RequirePermission("consents:read").WithName("VerifyConsents").WithSummary("Recompute the consent chain");
        consents.MapPost("/erase", ConsentOperations.Erase).RequirePermission("consents:write").WithName("EraseConsentSubject").WithSummary("Erase a person's personal data; the chain stays verifiable");

        api.MapGet("/orgs/{orgId}/customization", DirectoryOperations.GetCustomization).RequirePermission("orgs:read").WithTags("Content tools").WithName("GetCustomization").WithSummary("Branding of the share pages");
        api.MapPut("/orgs/{orgId}/customization", DirectoryOperations.PutCustomization).RequirePermission("orgs:write").WithTags("Content tools").WithName("PutCustomization").WithSummary("Replace the branding of the share pages");
        api.MapGet("/orgs/{orgId}/events", ActivityOperations.Events).RequirePermission("audit:read").WithTags("Content tools").WithName("ListContentEvents").WithSummary("Container and content events, newest first");
        api.MapPost("/orgs/{orgId}/errors", ActivityOperations.ReportError).RequirePermission("errors:write").WithTags("Content tools").WithName("ReportClientError").WithSummary("Report an error seen by a client");
        api.MapGet("/orgs/{orgId}/errors", ActivityOperations.ListErrors).RequirePermission("errors:read").WithTags("Content tools").WithName("ListClientErrors").WithSummary("List reported errors");
        api.MapGet("/orgs/{orgId}/usage", ActivityOperations.Usage).RequirePermission("orgs:read").WithTags("Content tools").WithName("GetContentUsage").WithSummary("Storage bytes, uploads, opens and downloads per day");
        api.MapGet("/status", ActivityOperations.Status).WithTags("Content tools").WithName("GetServiceStatus").WithSummary("Each service's health, without a credential and without tenant detail");
    }
}
