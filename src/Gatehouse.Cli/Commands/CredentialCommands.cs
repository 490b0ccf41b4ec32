using System.ComponentModel;
using System.Text.Json;
using Gatehouse.Cli.Infrastructure;
using Gatehouse.Client;
using Gatehouse.Contracts.Vault;
using Spectre.Console.Cli;

namespace Gatehouse.Cli.Commands;

public sealed class PutCredentialSettings : OrgSettings
{
    [CommandArgument(0, "<INTEGRATION_ID>")]
    [Description("Your name for the integration ([[a-zA-Z0-9_.:-]]{1,128}).")]
    public string IntegrationId { get; init; } = "";

    [CommandOption("--name <NAME>")]
    [Description("The credential's name (default: the integration id).")]
    public string? Name { get; init; }

    [CommandOption("-t|--type <AUTH_TYPE>")]
    [Description("oauth2_bearer, oauth2_client_credentials, api_key, basic_auth, bearer_token, jwt, saml or custom.")]
    [DefaultValue("api_key")]
    public string AuthType { get; init; } = "api_key";

    [CommandOption("-d|--data <FIELD=VALUE>")]
    [Description("A secret field; repeat for several. `FIELD=-` reads the value from standard input (keeps it out of the shell history).")]
    public string[] Data { get; init; } = [];

    [CommandOption("-m|--metadata <FIELD=VALUE>")]
    [Description("A non-secret field, returned by every read; repeat for several.")]
    public string[] Metadata { get; init; } = [];

    public override Spectre.Console.ValidationResult Validate() => Data.Length == 0
        ? Spectre.Console.ValidationResult.Error("At least one --data FIELD=VALUE is required.")
        : Spectre.Console.ValidationResult.Success();
}

public sealed class PutCredentialCommand : ApiCommand<PutCredentialSettings>
{
    protected override async Task<int> RunAsync(GatehouseClient client, PutCredentialSettings settings, CancellationToken cancellationToken)
    {
        var credential = await client.Credentials.PutAsync(settings.ResolveOrg(), new CreateCredentialRequest
        {
            IntegrationId = settings.IntegrationId,
            Name = settings.Name ?? settings.IntegrationId,
            AuthType = settings.AuthType,
            Data = await FieldsAsync(settings.Data, cancellationToken),
            Metadata = settings.Metadata.Length > 0 ? await FieldsAsync(settings.Metadata, cancellationToken) : null,
        }, cancellationToken: cancellationToken);
        CredentialOutput.Write(settings, credential);
        return ExitCodes.Ok;
    }

    private static async Task<Dictionary<string, JsonElement>> FieldsAsync(string[] pairs, CancellationToken cancellationToken)
    {
        var fields = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
        foreach (var pair in pairs)
        {
            var separator = pair.IndexOf('=', StringComparison.Ordinal);
            if (separator <= 0)
            {
                throw new UsageException($"'{pair}' is not FIELD=VALUE.");
            }

            var value = pair[(separator + 1)..];
            if (value == "-")
            {
                value = await Console.In.ReadLineAsync(cancellationToken) ?? "";
            }

            fields[pair[..separator]] = JsonSerializer.SerializeToElement(value);
        }

        return fields;
    }
}

public sealed class ListCredentialsCommand : ApiCommand<OrgSettings>
{
    protected override async Task<int> RunAsync(GatehouseClient client, OrgSettings settings, CancellationToken cancellationToken)
    {
        var credentials = new List<CredentialView>();
        await foreach (var credential in client.Credentials.ListAllAsync(settings.ResolveOrg(), cancellationToken: cancellationToken))
        {
            credentials.Add(credential);
        }

        if (settings.Output == OutputFormat.Json)
        {
            Output.WriteJson(credentials);
        }
        else
        {
            Output.WriteTable(["ID", "INTEGRATION", "NAME", "TYPE", "VERSION", "EXPIRES", "UPDATED"], credentials.Select(c => (IReadOnlyList<string?>)[
                c.Id, c.IntegrationId, c.Name, c.AuthType, c.Version.ToString(System.Globalization.CultureInfo.InvariantCulture),
                c.Expired ? "expired" : Output.Time(c.ExpiresAt), Output.Time(c.UpdatedAt)]));
        }

        return ExitCodes.Ok;
    }
}

public sealed class RevealCredentialSettings : OrgSettings
{
    [CommandArgument(0, "<INTEGRATION_ID>")]
    public string IntegrationId { get; init; } = "";

    [CommandArgument(1, "[CREDENTIAL_ID]")]
    [Description("One credential of the integration (default: all of them).")]
    public string? CredentialId { get; init; }
}

/// <summary>
/// Prints decrypted data: the command itself is the request to show the secret (and the server
/// audits it), so there is no --show-secret here; the data is printed as JSON, never in a table.
/// </summary>
public sealed class RevealCredentialCommand : ApiCommand<RevealCredentialSettings>
{
    protected override async Task<int> RunAsync(GatehouseClient client, RevealCredentialSettings settings, CancellationToken cancellationToken)
    {
        var org = settings.ResolveOrg();
        IReadOnlyList<RevealedCredential> revealed = settings.CredentialId is { } id
            ? [await client.Credentials.RevealAsync(org, settings.IntegrationId, id, cancellationToken: cancellationToken)]
            : await client.Credentials.RevealAsync(org, settings.IntegrationId, cancellationToken: cancellationToken);
        if (settings.Output == OutputFormat.Json)
        {
            Output.WriteJson(revealed);
            return ExitCodes.Ok;
        }

        foreach (var item in revealed)
        {
            Console.Out.WriteLine($"{item.Credential.Id} ({item.Credential.Name}, {item.Credential.AuthType}, version {item.Credential.Version}):");
            Output.WriteJson(item.Data);
        }

        return ExitCodes.Ok;
    }
}

internal static class CredentialOutput
{
    public static void Write(GlobalSettings settings, CredentialView credential)
    {
        if (settings.Output == OutputFormat.Json)
        {
            Output.WriteJson(credential);
            return;
        }

        Output.WriteFields([
            ("id", credential.Id),
            ("integration", credential.IntegrationId),
            ("name", credential.Name),
            ("type", credential.AuthType),
            ("version", credential.Version.ToString(System.Globalization.CultureInfo.InvariantCulture)),
            ("expires", Output.Time(credential.ExpiresAt)),
        ]);
    }
}
