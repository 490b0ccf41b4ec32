using System.ComponentModel;
using Gatehouse.Cli.Infrastructure;
using Gatehouse.Client;
using Gatehouse.Contracts.ApiKeys;
using Spectre.Console.Cli;

namespace Gatehouse.Cli.Commands;

public sealed class CreateKeySettings : SecretOutputSettings
{
    [CommandArgument(0, "<NAME>")]
    [Description("A name for the key (1–200 characters).")]
    public string Name { get; init; } = "";

    [CommandOption("-p|--permission <PERMISSION>")]
    [Description("A permission to grant; repeat for several.")]
    public string[] Permissions { get; init; } = [];

    [CommandOption("-r|--role <ROLE>")]
    [Description("A role of the organization; repeat for several.")]
    public string[] Roles { get; init; } = [];

    [CommandOption("--expires <TIME>")]
    [Description("When the key stops working (ISO-8601, UTC).")]
    public DateTime? ExpiresAt { get; init; }

    [CommandOption("--remaining <CREDITS>")]
    [Description("Usage credits; each valid verify spends one. Default: unlimited.")]
    public long? Remaining { get; init; }

    [CommandOption("--prefix <PREFIX>")]
    [Description("The key's prefix ([[a-z0-9]]{1,16}).")]
    public string? Prefix { get; init; }

    [CommandOption("--owner <OWNER_ID>")]
    [Description("Your identifier of the key's owner.")]
    public string? OwnerId { get; init; }
}

public sealed class CreateKeyCommand : ApiCommand<CreateKeySettings>
{
    protected override async Task<int> RunAsync(GatehouseClient client, CreateKeySettings settings, CancellationToken cancellationToken)
    {
        var issued = await client.ApiKeys.CreateAsync(settings.ResolveOrg(), new CreateApiKeyRequest
        {
            Name = settings.Name,
            Permissions = settings.Permissions.Length > 0 ? [.. settings.Permissions] : null,
            Roles = settings.Roles.Length > 0 ? [.. settings.Roles] : null,
            ExpiresAt = settings.ExpiresAt,
            Remaining = settings.Remaining,
            Prefix = settings.Prefix,
            OwnerId = settings.OwnerId,
        }, cancellationToken: cancellationToken);
        KeyOutput.WriteIssued(settings, issued);
        return ExitCodes.Ok;
    }
}

public sealed class ListKeysSettings : OrgSettings
{
    [CommandOption("-q|--query <TEXT>")]
    [Description("Only keys whose name contains this.")]
    public string? Query { get; init; }

    [CommandOption("--owner <OWNER_ID>")]
    public string? OwnerId { get; init; }

    [CommandOption("--include-revoked")]
    public bool IncludeRevoked { get; init; }

    [CommandOption("--limit <N>")]
    [Description("At most this many keys (1–200).")]
    [DefaultValue(50)]
    public int Limit { get; init; } = 50;
}

public sealed class ListKeysCommand : ApiCommand<ListKeysSettings>
{
    protected override async Task<int> RunAsync(GatehouseClient client, ListKeysSettings settings, CancellationToken cancellationToken)
    {
        var page = await client.ApiKeys.ListAsync(settings.ResolveOrg(), new ApiKeyListQuery
        {
            Q = settings.Query,
            OwnerId = settings.OwnerId,
            IncludeRevoked = settings.IncludeRevoked ? true : null,
            Limit = settings.Limit,
        }, cancellationToken: cancellationToken);
        if (settings.Output == OutputFormat.Json)
        {
            Output.WriteJson(page.Items);
            return ExitCodes.Ok;
        }

        Output.WriteTable(
            ["ID", "NAME", "START", "PERMISSIONS", "ENABLED", "REMAINING", "LAST USED", "REVOKED"],
            page.Items.Select(k => (IReadOnlyList<string?>)[k.Id, k.Name, k.Start + "…", Output.List(k.Permissions), k.Enabled ? "yes" : "no",
                k.Remaining?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "unlimited", Output.Time(k.LastUsedAt), Output.Time(k.RevokedAt)]));
        if (page.Pagination.HasMore)
        {
            Console.Error.WriteLine($"Showing {page.Items.Count} of {page.Pagination.Total}; use --limit or --query to see others.");
        }

        return ExitCodes.Ok;
    }
}

public sealed class KeyIdSettings : OrgSettings
{
    [CommandArgument(0, "<KEY_ID>")]
    [Description("The key's id (key_…).")]
    public string KeyId { get; init; } = "";
}

public sealed class GetKeyCommand : ApiCommand<KeyIdSettings>
{
    protected override async Task<int> RunAsync(GatehouseClient client, KeyIdSettings settings, CancellationToken cancellationToken)
    {
        KeyOutput.Write(settings, await client.ApiKeys.GetAsync(settings.ResolveOrg(), settings.KeyId, cancellationToken: cancellationToken));
        return ExitCodes.Ok;
    }
}

public sealed class RotateKeySettings : SecretOutputSettings
{
    [CommandArgument(0, "<KEY_ID>")]
    public string KeyId { get; init; } = "";

    [CommandOption("--grace <SECONDS>")]
    [Description("Seconds the old key keeps working (default 0: it stops at once).")]
    public long? GraceSeconds { get; init; }
}

public sealed class RotateKeyCommand : ApiCommand<RotateKeySettings>
{
    protected override async Task<int> RunAsync(GatehouseClient client, RotateKeySettings settings, CancellationToken cancellationToken)
    {
        var issued = await client.ApiKeys.RotateAsync(settings.ResolveOrg(), settings.KeyId, new RotateApiKeyRequest { GracePeriodSeconds = settings.GraceSeconds }, cancellationToken: cancellationToken);
        KeyOutput.WriteIssued(settings, issued);
        return ExitCodes.Ok;
    }
}

public sealed class RevokeKeyCommand : ApiCommand<KeyIdSettings>
{
    protected override async Task<int> RunAsync(GatehouseClient client, KeyIdSettings settings, CancellationToken cancellationToken)
    {
        var deleted = await client.ApiKeys.RevokeAsync(settings.ResolveOrg(), settings.KeyId, cancellationToken: cancellationToken);
        Output.Removed(settings, deleted, "Revoked");
        return ExitCodes.Ok;
    }
}

public sealed class VerifyKeySettings : GlobalSettings
{
    [CommandArgument(0, "[KEY]")]
    [Description("The key to check. Without it, the key is read from standard input (which keeps it out of the shell history).")]
    public string? KeyToVerify { get; init; }

    [CommandOption("--permissions <QUERY>")]
    [Description("A permission query the key must satisfy, e.g. \"deploy:write AND env:prod\".")]
    public string? Permissions { get; init; }
}

/// <summary>Asks the server for a verdict; exits 0 when it is VALID and 1 otherwise, so scripts can branch on it.</summary>
public sealed class VerifyKeyCommand : ApiCommand<VerifyKeySettings>
{
    protected override async Task<int> RunAsync(GatehouseClient client, VerifyKeySettings settings, CancellationToken cancellationToken)
    {
        var key = settings.KeyToVerify ?? (await Console.In.ReadLineAsync(cancellationToken))?.Trim() ?? "";
        var verdict = await client.ApiKeys.VerifyAsync(key, settings.Permissions, cancellationToken: cancellationToken);
        if (settings.Output == OutputFormat.Json)
        {
            Output.WriteJson(verdict);
        }
        else
        {
            Output.WriteFields([
                ("valid", verdict.Valid ? "yes" : "no"),
                ("code", verdict.Code),
                ("key id", verdict.KeyId),
                ("org", verdict.OrgId),
                ("name", verdict.Name),
                ("permissions", Output.List(verdict.Permissions)),
                ("remaining", verdict.Remaining?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? (verdict.Valid ? "unlimited" : null)),
            ]);
        }

        return verdict.Valid ? ExitCodes.Ok : ExitCodes.Error;
    }
}

internal static class KeyOutput
{
    public static void Write(GlobalSettings settings, ApiKeyView key)
    {
        if (settings.Output == OutputFormat.Json)
        {
            Output.WriteJson(key);
            return;
        }

        Output.WriteFields([
            ("id", key.Id),
            ("name", key.Name),
            ("start", key.Start + "…"),
            ("permissions", Output.List(key.Permissions)),
            ("roles", Output.List(key.Roles)),
            ("enabled", key.Enabled ? "yes" : "no"),
            ("remaining", key.Remaining?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "unlimited"),
            ("owner", key.OwnerId),
            ("expires", Output.Time(key.ExpiresAt)),
            ("created", Output.Time(key.CreatedAt)),
            ("last used", Output.Time(key.LastUsedAt)),
            ("revoked", Output.Time(key.RevokedAt)),
            ("rotated from", key.RotatedFrom),
        ]);
    }

    /// <summary>A new key: its fields, and its secret only as <see cref="Secrets.Deliver"/> allows.</summary>
    public static void WriteIssued(SecretOutputSettings settings, IssuedApiKey issued)
    {
        if (settings.Output == OutputFormat.Json && settings.ShowSecret)
        {
            Output.WriteJson(issued);
        }
        else
        {
            Write(settings, (ApiKeyView)issued);
        }

        Secrets.Deliver(settings, "key", issued.Key);
    }
}
