using Npgsql;

namespace Gatehouse.Server.Tests.Operations;

/// <summary>
/// The restore drill of docs/operations.md, done: a backup taken while the server runs (SQLite's
/// online backup, or pg_dump), restored into a new data dir or database, opened by a new server
/// with only the master key — and everything is there: keys verify, the vault opens, the audit
/// chains are intact, the keyring is healthy. Runs on the provider the suite runs on.
/// </summary>
public sealed class RestoreDrillTests
{
    private const string CredentialData = """{"apiKey":"sk_live_restore_drill"}""";

    [Fact]
    public async Task A_backup_restored_with_the_master_key_is_whole()
    {
        var masterKey = Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));
        var withMasterKey = new Dictionary<string, string?> { ["Gatehouse:MasterKey"] = masterKey };
        var backup = Path.Combine(Path.GetTempPath(), "gatehouse-drill-" + Guid.NewGuid().ToString("N"));
        string orgId, verifierKey, customerKey;
        await using var source = await GatehouseServer.StartAsync(new ServerOptions { Settings = withMasterKey });
        {
            orgId = await source.CreateOrgAsync();
            verifierKey = (await source.Root.PostAsync($"/api/v1/orgs/{orgId}/api-keys", new { name = "backend", permissions = new[] { "api_keys:verify" } })).Str("key");
            customerKey = (await source.Root.PostAsync($"/api/v1/orgs/{orgId}/api-keys", new { name = "customer", remaining = 10 })).Str("key");
            var credential = await source.Root.SendRawAsync(HttpMethod.Post, $"/api/v1/orgs/{orgId}/credentials",
                "{\"integrationId\":\"stripe\",\"authType\":\"api_key\",\"name\":\"live\",\"data\":" + CredentialData + "}");
            credential.StatusCode.ShouldBe(201, credential.Text);
            (await source.CreateClient(verifierKey).PostAsync("/api/v1/keys/verify", new { key = customerKey })).Data.GetProperty("remaining").GetInt64().ShouldBe(9);

            await BackUpAsync(source, backup);
        }

        await using var restoredDatabase = await TestDatabase.CreateAsync();
        var restoredDataDir = Path.Combine(Path.GetTempPath(), "gatehouse-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(restoredDataDir);
        await RestoreAsync(backup, restoredDatabase, restoredDataDir);
        File.Exists(Path.Combine(restoredDataDir, "master.key")).ShouldBeFalse("the drill restores without the source's key file");

        await using var restored = await GatehouseServer.StartAsync(new ServerOptions { DataDir = restoredDataDir, Settings = withMasterKey }, restoredDatabase);
        (await restored.Anonymous.GetAsync("/health/ready")).StatusCode.ShouldBe(200);
        var health = await restored.Root.GetAsync("/api/v1/admin/health");
        health.StatusCode.ShouldBe(200, health.Text);
        health.Text.ShouldContain("\"keyring\"");

        var verdict = await restored.CreateClient(verifierKey).PostAsync("/api/v1/keys/verify", new { key = customerKey });
        verdict.Data.GetProperty("code").GetString().ShouldBe("VALID");
        verdict.Data.GetProperty("remaining").GetInt64().ShouldBe(8, "the credit spent before the backup is still spent");

        var revealed = await restored.Root.GetAsync($"/api/v1/orgs/{orgId}/credentials/stripe");
        revealed.StatusCode.ShouldBe(200, revealed.Text);
        revealed.Data[0].GetProperty("data").GetRawText().ShouldBe(System.Text.Json.JsonDocument.Parse(CredentialData).RootElement.GetRawText());

        foreach (var chain in new[] { $"/api/v1/orgs/{orgId}/audit-logs/verify", "/api/v1/admin/audit-logs/verify" })
        {
            var audit = await restored.Root.GetAsync(chain);
            audit.Data.GetProperty("valid").GetBoolean().ShouldBeTrue($"{chain}: {audit.Text}");
        }

        File.Delete(backup);
        Directory.Delete(restoredDataDir, recursive: true);
    }

    /// <summary>Takes the backup the way docs/operations.md says, while the server is running.</summary>
    private static async Task BackUpAsync(GatehouseServer server, string backup)
    {
        if (server.Database.IsPostgres)
        {
            await ExternalTools.RunAsync(PostgresTool("pg_dump"), Path.GetTempPath(), PostgresEnvironment(server.Database.Url!),
                "--format=custom", "--file=" + backup);
            return;
        }

        // The online backup API, which `sqlite3 gatehouse.db ".backup …"` uses.
        await using var live = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={Path.Combine(server.DataDir, "gatehouse.db")};Mode=ReadOnly");
        await using var copy = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={backup}");
        await live.OpenAsync();
        await copy.OpenAsync();
        live.BackupDatabase(copy);
    }

    private static async Task RestoreAsync(string backup, TestDatabase database, string dataDir)
    {
        if (database.IsPostgres)
        {
            await ExternalTools.RunAsync(PostgresTool("pg_restore"), Path.GetTempPath(), PostgresEnvironment(database.Url!),
                "--no-owner", "--exit-on-error", "--dbname=" + new NpgsqlConnectionStringBuilder(database.Url).Database, backup);
            return;
        }

        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        File.Copy(backup, Path.Combine(dataDir, "gatehouse.db"));
    }

    /// <summary>libpq's environment for a connection string, so no password appears on a command line.</summary>
    private static Dictionary<string, string> PostgresEnvironment(string url)
    {
        var connection = new NpgsqlConnectionStringBuilder(url);
        var environment = new Dictionary<string, string>
        {
            ["PGHOST"] = connection.Host ?? "127.0.0.1",
            ["PGPORT"] = connection.Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["PGDATABASE"] = connection.Database ?? "postgres",
            ["PGUSER"] = connection.Username ?? "postgres",
        };
        if (!string.IsNullOrEmpty(connection.Password))
        {
            environment["PGPASSWORD"] = connection.Password;
        }

        return environment;
    }

    /// <summary>The client tool on PATH, or Debian's versioned folder, which PATH lacks.</summary>
    private static string PostgresTool(string name) =>
        ExternalTools.FindOnPath(name)
        ?? Directory.GetDirectories("/usr/lib/postgresql").OrderDescending().Select(dir => Path.Combine(dir, "bin", name)).FirstOrDefault(File.Exists)
        ?? throw new InvalidOperationException($"{name} is not installed (Debian: apt-get install postgresql-client).");
}
