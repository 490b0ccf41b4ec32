using System.Text.RegularExpressions;

namespace Gatehouse.Server.Tests.Platform;

/// <summary>
/// <c>Gatehouse.Server root-key …</c> runs offline, as a separate process started from another
/// directory, against the data dir and database of a stopped server; the server started afterwards
/// accepts the new key, refuses the revoked one, and shows each change on the audit trail.
/// </summary>
public sealed partial class RootKeyCommandTests
{
    [Fact]
    public async Task Create_then_revoke_the_old_key_and_the_server_accepts_only_the_new_one()
    {
        await using var database = await TestDatabase.CreateAsync();
        var dataDir = NewDirectory();
        await (await GatehouseServer.StartAsync(new ServerOptions { DataDir = dataDir }, database)).DisposeAsync();
        var environment = Environment(dataDir, database);

        var list = await RunAsync(environment, "list");
        list.ExitCode.ShouldBe(0, list.Error);
        var originalId = KeyId().Match(list.Output).Value;
        list.Output.ShouldContain("valid");
        list.Output.ShouldNotContain(GatehouseServer.RootKey);

        var created = await RunAsync(environment, "create");
        created.ExitCode.ShouldBe(0, created.Error);
        var newKey = RootKeyText().Match(created.Output).Value;
        newKey.ShouldStartWith("gkr_");

        var revoked = await RunAsync(environment, "revoke", originalId);
        revoked.ExitCode.ShouldBe(0, revoked.Error);

        await using var server = await GatehouseServer.StartAsync(new ServerOptions { DataDir = dataDir }, database);
        (await server.Root.GetAsync("/api/v1/orgs")).StatusCode.ShouldBe(401);
        var admin = server.CreateClient(newKey);
        (await admin.GetAsync("/api/v1/orgs")).StatusCode.ShouldBe(200);
        foreach (var action in new[] { "root_key.create", "root_key.revoke" })
        {
            var audit = await admin.GetAsync($"/api/v1/admin/audit-logs?action={action}");
            audit.StatusCode.ShouldBe(200, audit.Text);
            audit.Data.GetArrayLength().ShouldBe(1, action);
            audit.Text.ShouldNotContain(newKey);
        }
    }

    [Fact]
    public async Task Rotate_replaces_one_key_in_one_step()
    {
        await using var database = await TestDatabase.CreateAsync();
        var dataDir = NewDirectory();
        await (await GatehouseServer.StartAsync(new ServerOptions { DataDir = dataDir }, database)).DisposeAsync();
        var environment = Environment(dataDir, database);
        var originalId = KeyId().Match((await RunAsync(environment, "list")).Output).Value;

        var rotated = await RunAsync(environment, "rotate", originalId);
        rotated.ExitCode.ShouldBe(0, rotated.Error);
        (await RunAsync(environment, "rotate", originalId)).ExitCode.ShouldBe(1);

        await using var server = await GatehouseServer.StartAsync(new ServerOptions { DataDir = dataDir }, database);
        (await server.Root.GetAsync("/api/v1/orgs")).StatusCode.ShouldBe(401);
        (await server.CreateClient(RootKeyText().Match(rotated.Output).Value).GetAsync("/api/v1/orgs")).StatusCode.ShouldBe(200);
    }

    [Fact]
    public async Task The_last_key_cannot_be_revoked_and_recover_replaces_every_key()
    {
        await using var database = await TestDatabase.CreateAsync();
        var dataDir = NewDirectory();
        await (await GatehouseServer.StartAsync(new ServerOptions { DataDir = dataDir }, database)).DisposeAsync();
        var environment = Environment(dataDir, database);
        var originalId = KeyId().Match((await RunAsync(environment, "list")).Output).Value;

        var refused = await RunAsync(environment, "revoke", originalId);
        refused.ExitCode.ShouldBe(1);
        refused.Error.ShouldContain("last valid root key");
        (await RunAsync(environment, "revoke", "rk_01JD0000000000000000000000")).ExitCode.ShouldBe(1);

        var recovered = await RunAsync(environment, "recover");
        recovered.ExitCode.ShouldBe(0, recovered.Error);
        var newKey = RootKeyText().Match(recovered.Output).Value;

        await using var server = await GatehouseServer.StartAsync(new ServerOptions { DataDir = dataDir }, database);
        (await server.Root.GetAsync("/api/v1/orgs")).StatusCode.ShouldBe(401);
        var admin = server.CreateClient(newKey);
        (await admin.GetAsync("/api/v1/orgs")).StatusCode.ShouldBe(200);
        (await admin.GetAsync("/api/v1/admin/audit-logs?action=root_key.recover")).Data.GetArrayLength().ShouldBe(1);
    }

    [Fact]
    public async Task An_unknown_command_prints_the_usage_and_fails()
    {
        var dataDir = NewDirectory();
        var result = await RunAsync(new Dictionary<string, string?> { ["GATEHOUSE_DATA_DIR"] = dataDir }, "rename");

        result.ExitCode.ShouldBe(2);
        result.Error.ShouldContain("usage: Gatehouse.Server root-key");
    }

    [Fact]
    public async Task A_relative_data_dir_in_GATEHOUSE_CONFIG_is_beside_that_file_whatever_the_working_directory()
    {
        var configDir = NewDirectory();
        var workingDir = NewDirectory();
        var configFile = Path.Combine(configDir, "gatehouse.json");
        await File.WriteAllTextAsync(configFile, """{ "Gatehouse": { "DataDir": "state" } }""");

        var result = await ServerProcess.RunCommandAsync(new Dictionary<string, string?> { ["GATEHOUSE_CONFIG"] = configFile }, workingDir, "root-key", "create");

        result.ExitCode.ShouldBe(0, result.Error);
        File.Exists(Path.Combine(configDir, "state", "gatehouse.db")).ShouldBeTrue();
        Directory.Exists(Path.Combine(workingDir, "state")).ShouldBeFalse();
    }

    [Fact]
    public async Task A_missing_GATEHOUSE_CONFIG_file_stops_with_one_clear_line()
    {
        var missing = Path.Combine(NewDirectory(), "absent.json");

        var result = await ServerProcess.RunCommandAsync(new Dictionary<string, string?> { ["GATEHOUSE_CONFIG"] = missing }, NewDirectory(), "root-key", "list");

        result.ExitCode.ShouldBe(1);
        result.Error.ShouldContain($"GATEHOUSE_CONFIG names {missing}, which does not exist");
    }

    private static Task<(int ExitCode, string Output, string Error)> RunAsync(IReadOnlyDictionary<string, string?> environment, params string[] command) =>
        ServerProcess.RunCommandAsync(environment, NewDirectory(), ["root-key", .. command]);

    private static Dictionary<string, string?> Environment(string dataDir, TestDatabase database) => new()
    {
        ["GATEHOUSE_DATA_DIR"] = dataDir,
        ["GATEHOUSE_DATABASE_URL"] = database.Url,
    };

    private static string NewDirectory()
    {
        var path = Path.Combine(Path.GetTempPath(), "gatehouse-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(path);
        return path;
    }

    [GeneratedRegex(@"rk_[0-9A-Z]{26}")]
    private static partial Regex KeyId();

    [GeneratedRegex(@"gkr_[0-9A-Za-z]+")]
    private static partial Regex RootKeyText();
}
