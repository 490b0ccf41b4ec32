using System.Text.Json;
using System.Text.RegularExpressions;
using Gatehouse.Server.Tests.ApiKeys;

namespace Gatehouse.Server.Tests.Cli;

/// <summary>The <c>gatehouse</c> tool run as a process with <c>-o json</c>, as scripts use it, against the real server.</summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed partial class CliTests(SharedServer shared)
{
    private readonly GatehouseServer _server = shared.Server;

    [GeneratedRegex("gk_[A-Za-z0-9]{30,}")]
    private static partial Regex FullKey();

    private static JsonElement Json(CliRun run)
    {
        run.ExitCode.ShouldBe(0, run.ToString());
        return JsonDocument.Parse(run.Out).RootElement;
    }

    [Fact]
    public async Task A_whole_flow_runs_from_login_to_revoke()
    {
        using var cli = new GatehouseCli(_server.BaseAddress, key: null);
        cli.Environment["GATEHOUSE_URL"] = null;

        // Login reads the key from standard input when it is not a terminal, and saves it privately.
        var login = await cli.RunWithInputAsync(GatehouseServer.RootKey, null, "login", "--url", _server.BaseAddress.ToString().TrimEnd('/'));
        login.ExitCode.ShouldBe(0, login.ToString());
        File.GetUnixFileMode(cli.ConfigPath).ShouldBe(UnixFileMode.UserRead | UnixFileMode.UserWrite);
        (await File.ReadAllTextAsync(cli.ConfigPath, TestContext.Current.CancellationToken)).ShouldContain(GatehouseServer.RootKey);

        var orgId = Json(await cli.RunAsync("orgs", "create", "Cli Flow", "-o", "json")).GetProperty("id").GetString()!;
        cli.Environment["GATEHOUSE_ORG"] = orgId;

        var created = Json(await cli.RunAsync("keys", "create", "deployer", "-p", "deploy:write", "-p", "api_keys:verify", "--show-secret", "-o", "json"));
        var (keyId, key) = (created.GetProperty("id").GetString()!, created.GetProperty("key").GetString()!);
        (await _server.Root.GetAsync($"/api/v1/orgs/{orgId}/api-keys/{keyId}")).Str("name").ShouldBe("deployer");

        // Verify reads the key from standard input and exits 0 only for VALID.
        var asKey = new Dictionary<string, string?> { ["GATEHOUSE_KEY"] = key };
        var valid = await cli.RunWithInputAsync(key, asKey, "keys", "verify", "--permissions", "deploy:write", "-o", "json");
        Json(valid).GetProperty("code").GetString().ShouldBe("VALID");
        var insufficient = await cli.RunWithInputAsync(key, asKey, "keys", "verify", "--permissions", "deploy:write AND env:prod", "-o", "json");
        insufficient.ExitCode.ShouldBe(1, insufficient.ToString());
        JsonDocument.Parse(insufficient.Out).RootElement.GetProperty("code").GetString().ShouldBe("INSUFFICIENT_PERMISSIONS");

        var rotated = Json(await cli.RunAsync("keys", "rotate", keyId, "--show-secret", "-o", "json"));
        var (newId, newKey) = (rotated.GetProperty("id").GetString()!, rotated.GetProperty("key").GetString()!);
        newKey.ShouldNotBe(key);
        var old = await cli.RunWithInputAsync(key, null, "keys", "verify", "-o", "json");
        old.ExitCode.ShouldBe(1, old.ToString());
        Json(await cli.RunWithInputAsync(newKey, null, "keys", "verify", "-o", "json")).GetProperty("keyId").GetString().ShouldBe(newId);

        Json(await cli.RunAsync("keys", "revoke", newId, "-o", "json")).GetProperty("id").GetString().ShouldBe(newId);
        (await _server.Root.GetAsync($"/api/v1/orgs/{orgId}/api-keys/{newId}")).Data.GetProperty("revokedAt").ValueKind.ShouldBe(JsonValueKind.String);
        var revoked = await cli.RunWithInputAsync(newKey, null, "keys", "verify", "-o", "json");
        revoked.ExitCode.ShouldBe(1, revoked.ToString());

        // The vault: put reads the secret from standard input; list never shows it; reveal does.
        Json(await cli.RunWithInputAsync("sk_live_cli_secret", null, "credentials", "put", "stripe", "-d", "apiKey=-", "-m", "env=prod", "-o", "json"));
        (await cli.RunAsync("credentials", "list", "-o", "json")).Out.ShouldNotContain("sk_live_cli_secret");
        var reveal = Json(await cli.RunAsync("credentials", "reveal", "stripe", "-o", "json"));
        reveal[0].GetProperty("data").GetProperty("apiKey").GetString().ShouldBe("sk_live_cli_secret");

        // The tail without following shows what happened, in order; the chain verifies.
        var tail = await cli.RunAsync("audit", "tail", "-n", "50", "--no-follow", "-o", "json");
        tail.ExitCode.ShouldBe(0, tail.ToString());
        var actions = tail.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(line => JsonDocument.Parse(line).RootElement.GetProperty("action").GetString()).ToList();
        actions.ShouldBe(["org.create", "api_key.create", "api_key.rotate", "api_key.revoke", "credential.create", "credential.reveal"], ignoreOrder: false);
        Json(await cli.RunAsync("audit", "verify", "-o", "json")).GetProperty("valid").GetBoolean().ShouldBeTrue();

        // A job runs to its end; the run is what the server recorded.
        var run = Json(await cli.RunAsync("jobs", "trigger", "dek-reencrypt", "--org", orgId, "-o", "json"));
        run.GetProperty("ok").GetBoolean().ShouldBeTrue();
        var runId = run.GetProperty("id").GetString()!;
        (await _server.Root.GetAsync($"/api/v1/admin/jobs/runs/{runId}")).Str("state").ShouldBe(run.GetProperty("state").GetString());
    }

    [Fact]
    public async Task A_secret_is_printed_only_when_asked()
    {
        var orgId = await _server.CreateOrgAsync();
        using var cli = new GatehouseCli(_server.BaseAddress, GatehouseServer.RootKey);
        cli.Environment["GATEHOUSE_ORG"] = orgId;

        foreach (var output in new[] { "table", "json" })
        {
            var quiet = await cli.RunAsync("keys", "create", "quiet-" + output, "-o", output);
            quiet.ExitCode.ShouldBe(0, quiet.ToString());
            FullKey().IsMatch(quiet.Out + quiet.Err).ShouldBeFalse(quiet.ToString());
            quiet.Err.ShouldContain("--show-secret");
        }

        var table = await cli.RunAsync("keys", "create", "shown", "--show-secret");
        FullKey().Count(table.Out).ShouldBe(1, table.ToString());

        var file = Path.Combine(cli.Home, "key.txt");
        var toFile = await cli.RunAsync("keys", "create", "filed", "--secret-file", file, "-o", "json");
        toFile.ExitCode.ShouldBe(0, toFile.ToString());
        FullKey().IsMatch(toFile.Out + toFile.Err).ShouldBeFalse(toFile.ToString());
        File.GetUnixFileMode(file).ShouldBe(UnixFileMode.UserRead | UnixFileMode.UserWrite);
        var secret = (await File.ReadAllTextAsync(file, TestContext.Current.CancellationToken)).Trim();
        (await _server.Root.PostAsync("/api/v1/keys/verify", new { key = secret })).Data.GetProperty("name").GetString().ShouldBe("filed");

        // Lists show the first characters only.
        var list = await cli.RunAsync("keys", "list", "-o", "json");
        FullKey().IsMatch(list.Out).ShouldBeFalse(list.ToString());
    }

    [Fact]
    public async Task Exit_codes_say_what_went_wrong()
    {
        var orgId = await _server.CreateOrgAsync();
        var otherOrg = await _server.CreateOrgAsync();
        var (otherKeyId, _) = await _server.CreateKeyAsync(otherOrg);
        var (_, readOnly) = await _server.CreateKeyAsync(orgId, new { name = "reader", permissions = new[] { "roles:read" } });
        var (_, keysReader) = await _server.CreateKeyAsync(orgId, new { name = "keys", permissions = new[] { "api_keys:read" } });
        using var cli = new GatehouseCli(_server.BaseAddress, GatehouseServer.RootKey);
        cli.Environment["GATEHOUSE_ORG"] = orgId;

        (await cli.RunAsync("keys", "frobnicate")).ExitCode.ShouldBe(2);
        (await cli.RunAsync("keys", "get")).ExitCode.ShouldBe(2);
        var noOrg = await cli.RunWithInputAsync(null, new Dictionary<string, string?> { ["GATEHOUSE_ORG"] = null }, "keys", "list");
        noOrg.ExitCode.ShouldBe(2, noOrg.ToString());
        noOrg.Err.ShouldContain("--org");

        var missing = await cli.RunAsync("keys", "get", "key_01JD000000000000000000000");
        missing.ExitCode.ShouldBe(3, missing.ToString());
        missing.Err.ShouldContain("NOT_FOUND");
        missing.Err.ShouldContain("req_");

        // Another organization's key through this organization's key: not found, and nothing changed.
        var crossOrg = await cli.RunWithInputAsync(null, new Dictionary<string, string?> { ["GATEHOUSE_KEY"] = keysReader }, "keys", "get", otherKeyId, "--org", otherOrg);
        crossOrg.ExitCode.ShouldBe(3, crossOrg.ToString());
        var crossRevoke = await cli.RunWithInputAsync(null, new Dictionary<string, string?> { ["GATEHOUSE_KEY"] = keysReader }, "keys", "revoke", otherKeyId, "--org", otherOrg);
        crossRevoke.ExitCode.ShouldBe(3, crossRevoke.ToString());
        (await _server.Root.GetAsync($"/api/v1/orgs/{otherOrg}/api-keys/{otherKeyId}")).Data.GetProperty("revokedAt").ValueKind.ShouldBe(JsonValueKind.Null);

        var forbidden = await cli.RunWithInputAsync(null, new Dictionary<string, string?> { ["GATEHOUSE_KEY"] = readOnly }, "keys", "list");
        forbidden.ExitCode.ShouldBe(4, forbidden.ToString());
        forbidden.Err.ShouldContain("FORBIDDEN");
        var unknownKey = await cli.RunWithInputAsync(null, new Dictionary<string, string?> { ["GATEHOUSE_KEY"] = "gk_not_a_key_at_all_0000000000000000" }, "keys", "list");
        unknownKey.ExitCode.ShouldBe(4, unknownKey.ToString());

        // A refused login saves nothing.
        var badLogin = await cli.RunWithInputAsync("gk_not_a_key_at_all_0000000000000000", null, "login");
        badLogin.ExitCode.ShouldBe(4, badLogin.ToString());
        File.Exists(cli.ConfigPath).ShouldBeFalse();

        var unreachable = await cli.RunWithInputAsync(null, new Dictionary<string, string?> { ["GATEHOUSE_URL"] = "http://127.0.0.1:9" }, "orgs", "list");
        unreachable.ExitCode.ShouldBe(1, unreachable.ToString());
        unreachable.Err.ShouldNotContain("   at ");

        var deleteWithoutYes = await cli.RunAsync("orgs", "delete", otherOrg);
        deleteWithoutYes.ExitCode.ShouldBe(2, deleteWithoutYes.ToString());
        (await _server.Root.GetAsync($"/api/v1/orgs/{otherOrg}")).StatusCode.ShouldBe(200);
    }

    public static TheoryData<string> Commands =>
    [
        "login", "logout", "orgs list", "orgs create", "orgs get", "orgs delete", "keys create", "keys list", "keys get", "keys rotate",
        "keys revoke", "keys verify", "roles list", "roles create", "roles delete", "credentials put", "credentials list",
        "credentials reveal", "webhooks list", "webhooks create", "webhooks test", "webhooks delete", "audit tail", "audit verify",
        "jobs list", "jobs trigger", "admin root-keys", "server",
    ];

    [Theory]
    [MemberData(nameof(Commands))]
    public async Task Every_command_has_help_with_an_example(string command)
    {
        using var cli = new GatehouseCli(_server.BaseAddress, null);
        var help = await cli.RunAsync([.. command.Split(' '), "--help"]);
        help.ExitCode.ShouldBe(0, help.ToString());
        help.Out.ShouldContain("EXAMPLES:");
        help.Out.ShouldContain("gatehouse " + command);
    }

    [Fact]
    public async Task Roles_and_webhooks_are_managed_from_the_command_line()
    {
        var orgId = await _server.CreateOrgAsync();
        using var cli = new GatehouseCli(_server.BaseAddress, GatehouseServer.RootKey);
        cli.Environment["GATEHOUSE_ORG"] = orgId;

        var role = Json(await cli.RunAsync("roles", "create", "deployer", "-p", "deploy:write", "-o", "json"));
        var roleId = role.GetProperty("id").GetString()!;
        Json(await cli.RunAsync("roles", "list", "-o", "json")).EnumerateArray().Select(r => r.GetProperty("name").GetString()).ShouldBe(["deployer"]);
        Json(await cli.RunAsync("roles", "delete", roleId, "-o", "json"));
        (await _server.Root.GetAsync($"/api/v1/orgs/{orgId}/roles/{roleId}")).StatusCode.ShouldBe(404);

        var webhook = await cli.RunAsync("webhooks", "create", "http://127.0.0.1:9/hook", "-e", "api_key.*", "-o", "json");
        var webhookJson = Json(webhook);
        webhookJson.TryGetProperty("secret", out _).ShouldBeFalse();
        var webhookId = webhookJson.GetProperty("id").GetString()!;
        Json(await cli.RunAsync("webhooks", "list", "-o", "json"))[0].GetProperty("events")[0].GetString().ShouldBe("api_key.*");
        Json(await cli.RunAsync("webhooks", "delete", webhookId, "-o", "json"));
        (await _server.Root.GetAsync($"/api/v1/orgs/{orgId}/webhooks/{webhookId}")).StatusCode.ShouldBe(404);
    }
}
