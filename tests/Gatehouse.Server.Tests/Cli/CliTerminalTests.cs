using Gatehouse.Server.Tests.ApiKeys;

namespace Gatehouse.Server.Tests.Cli;

/// <summary>The interactive parts of the command line, in a real terminal (tmux), as a person meets them.</summary>
public sealed class CliTerminalTests(SharedServer shared)
{
    private readonly GatehouseServer _server = shared.Server;

    private static string Command(params string[] arguments) =>
        "dotnet " + GatehouseCli.Assembly + " " + string.Join(' ', arguments.Select(a => "'" + a.Replace("'", "'\\''", StringComparison.Ordinal) + "'"));

    [Fact]
    public async Task Login_asks_for_the_key_without_echoing_it()
    {
        using var cli = new GatehouseCli(_server.BaseAddress, key: null);
        await using var terminal = await Terminal.StartAsync(Command("login", "--url", _server.BaseAddress.ToString().TrimEnd('/')), cli.Environment);

        await terminal.WaitForAsync("API key:");
        await terminal.TypeAsync(GatehouseServer.RootKey);
        await terminal.SendAsync("Enter");
        var screen = await terminal.WaitForAsync("[exited 0]");

        screen.ShouldContain("Logged in to");
        screen.ShouldNotContain(GatehouseServer.RootKey);
        (await File.ReadAllTextAsync(cli.ConfigPath, TestContext.Current.CancellationToken)).ShouldContain(GatehouseServer.RootKey);
    }

    [Fact]
    public async Task Audit_tail_follows_new_events_until_interrupted()
    {
        var orgId = await _server.CreateOrgAsync();
        using var cli = new GatehouseCli(_server.BaseAddress, GatehouseServer.RootKey);
        await using var terminal = await Terminal.StartAsync(Command("audit", "tail", "--org", orgId, "-n", "5", "--interval", "0.2"), cli.Environment);
        await terminal.WaitForAsync("org.create");

        var (keyId, _) = await _server.CreateKeyAsync(orgId, new { name = "followed" });
        await terminal.WaitForAsync(keyId);
        var role = await _server.Root.PostAsync($"/api/v1/orgs/{orgId}/roles", new { name = "later", permissions = new[] { "x:y" } });
        var screen = await terminal.WaitForAsync(role.Str("id"));
        screen.IndexOf(keyId, StringComparison.Ordinal).ShouldBeLessThan(screen.IndexOf(role.Str("id"), StringComparison.Ordinal));

        await terminal.SendAsync("C-c");
        screen = await terminal.WaitForAsync("[exited 0]");
        screen.Split('\n').Count(line => line.Contains(keyId, StringComparison.Ordinal)).ShouldBe(1, screen);
    }

    [Fact]
    public async Task A_triggered_job_shows_its_progress_to_the_end()
    {
        // Records to re-encrypt, left for the job (not re-encrypted in the background): its progress counts them.
        await using var server = await GatehouseServer.StartAsync(new ServerOptions { Settings = new Dictionary<string, string?> { ["Gatehouse:Vault:ReencryptInBackground"] = "false" } });
        var orgId = await server.CreateOrgAsync();
        for (var i = 0; i < 20; i++)
        {
            (await server.Root.PostAsync($"/api/v1/orgs/{orgId}/credentials", new { integrationId = "svc" + i, authType = "api_key", name = "main", data = new { apiKey = "s" + i } })).StatusCode.ShouldBe(201);
        }

        (await server.Root.PostAsync("/api/v1/admin/dek/rotate", new { orgId })).StatusCode.ShouldBe(200);
        using var cli = new GatehouseCli(server.BaseAddress, GatehouseServer.RootKey);
        await using var terminal = await Terminal.StartAsync(Command("jobs", "trigger", "dek-reencrypt", "--org", orgId), cli.Environment);

        var screen = await terminal.WaitForAsync("[exited 0]");
        screen.ShouldContain("100%");
        screen.ShouldContain("dek-reencrypt finished");
        var runId = screen[(screen.IndexOf("(jrn_", StringComparison.Ordinal) + 1)..].Split(')')[0];
        var run = await server.Root.GetAsync($"/api/v1/admin/jobs/runs/{runId}");
        run.Data.GetProperty("ok").GetBoolean().ShouldBeTrue();
        run.Data.GetProperty("progress").GetProperty("done").GetInt64().ShouldBe(20, run.ToString());
        screen.ShouldContain($"{run.Data.GetProperty("progress").GetProperty("done").GetInt64()} of {run.Data.GetProperty("progress").GetProperty("total").GetInt64()}");
    }
}
