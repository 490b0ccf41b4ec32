using Gatehouse.Server.Tests.ApiKeys;
using Npgsql;

namespace Gatehouse.Server.Tests.Platform;

/// <summary>
/// Two servers on one PostgreSQL database: what one commits, the other's caches forget within a
/// moment (LISTEN/NOTIFY plus the change table), and a server that loses its listener drops its
/// caches instead of trusting them. The three-node figures are in the cluster tests; these pin the
/// mechanism. PostgreSQL only.
/// </summary>
public sealed class ChangeFeedTests
{
    /// <summary>Far below the ten-minute lifetime of a cached key: only the change feed can make it.</summary>
    private static readonly TimeSpan WithinMoments = TimeSpan.FromSeconds(10);

    /// <summary>Two servers on one fresh database, sharing the master key (one data dir), both listening.</summary>
    private sealed class Pair : IAsyncDisposable
    {
        private Pair(GatehouseServer a, GatehouseServer b, TestDatabase database) => (A, B, Database) = (a, b, database);

        public GatehouseServer A { get; }
        public GatehouseServer B { get; }
        public TestDatabase Database { get; }

        public static async Task<Pair> StartAsync()
        {
            Assert.SkipUnless(TestDatabase.PostgresRequested, "PostgreSQL only: several servers share a PostgreSQL database");
            var database = await TestDatabase.CreateAsync();
            var dataDir = Path.Combine(Path.GetTempPath(), "gatehouse-tests", "pair-" + Guid.NewGuid().ToString("N"));
            Directory.CreateDirectory(dataDir);
            var a = await GatehouseServer.StartAsync(new ServerOptions { DataDir = dataDir }, database);
            var b = await GatehouseServer.StartAsync(new ServerOptions { DataDir = dataDir }, database);
            await Eventually.TrueAsync(() => Listening(a) && Listening(b), "both servers listening for changes");
            return new Pair(a, b, database);
        }

        public async ValueTask DisposeAsync()
        {
            await B.DisposeAsync();
            await A.DisposeAsync();
            await Database.DisposeAsync();
        }
    }

    private static bool Listening(GatehouseServer server) =>
        server.Services.GetRequiredService<Gatehouse.Server.Platform.Cluster.ChangeFeedListener>().Listening;

    private static async Task<string> VerifyCodeAsync(GatehouseServer server, string key, string? permissions = null)
    {
        var response = await server.Root.VerifyAsync(permissions is null ? new { key } : new { key, permissions });
        response.StatusCode.ShouldBe(200, response.Text);
        return response.Code();
    }

    [Fact]
    public async Task A_key_revoked_disabled_or_narrowed_on_one_server_is_seen_by_the_other()
    {
        await using var pair = await Pair.StartAsync();
        var (a, b, database) = (pair.A, pair.B, pair.Database);
        var orgId = await a.CreateOrgAsync();

        var (revokedId, revoked) = await a.CreateKeyAsync(orgId);
        var (disabledId, disabled) = await a.CreateKeyAsync(orgId);
        var (narrowedId, narrowed) = await a.CreateKeyAsync(orgId, new { name = "n", permissions = new[] { "deploy:write" } });
        (await VerifyCodeAsync(b, revoked)).ShouldBe("VALID");
        (await VerifyCodeAsync(b, disabled)).ShouldBe("VALID");
        (await VerifyCodeAsync(b, narrowed, "deploy:write")).ShouldBe("VALID");

        (await a.Root.DeleteAsync($"/api/v1/orgs/{orgId}/api-keys/{revokedId}")).StatusCode.ShouldBe(200);
        (await a.Root.PatchAsync($"/api/v1/orgs/{orgId}/api-keys/{disabledId}", new { enabled = false })).StatusCode.ShouldBe(200);
        (await a.Root.PatchAsync($"/api/v1/orgs/{orgId}/api-keys/{narrowedId}", new { permissions = new[] { "deploy:read" } })).StatusCode.ShouldBe(200);

        await Eventually.ValueAsync(() => VerifyCodeAsync(b, revoked), code => code != "VALID", "the revocation on the other server", WithinMoments);
        await Eventually.ValueAsync(() => VerifyCodeAsync(b, disabled), code => code == "DISABLED", "the disabling on the other server", WithinMoments);
        await Eventually.ValueAsync(() => VerifyCodeAsync(b, narrowed, "deploy:write"), code => code == "INSUFFICIENT_PERMISSIONS", "the narrowing on the other server", WithinMoments);
    }

    [Fact]
    public async Task A_role_change_or_an_organization_delete_on_one_server_reaches_the_others_cached_keys()
    {
        await using var pair = await Pair.StartAsync();
        var (a, b, database) = (pair.A, pair.B, pair.Database);
        var orgId = await a.CreateOrgAsync();
        var role = await a.Root.PostAsync($"/api/v1/orgs/{orgId}/roles", new { name = "deployer", permissions = new[] { "deploy:write" } });
        role.StatusCode.ShouldBe(201, role.Text);
        var (_, key) = await a.CreateKeyAsync(orgId, new { name = "r", roles = new[] { "deployer" } });
        (await VerifyCodeAsync(b, key, "deploy:write")).ShouldBe("VALID");
        (await b.Root.GetAsync($"/api/v1/orgs/{orgId}")).StatusCode.ShouldBe(200);

        (await a.Root.PatchAsync($"/api/v1/orgs/{orgId}/roles/{role.Str("id")}", new { permissions = new[] { "deploy:read" } })).StatusCode.ShouldBe(200);
        await Eventually.ValueAsync(() => VerifyCodeAsync(b, key, "deploy:write"), code => code == "INSUFFICIENT_PERMISSIONS", "the role change on the other server", WithinMoments);

        (await a.Root.DeleteAsync($"/api/v1/orgs/{orgId}")).StatusCode.ShouldBe(200);
        await Eventually.ValueAsync(() => VerifyCodeAsync(b, key), code => code != "VALID", "the organization's delete on the other server", WithinMoments);
        var created = await Eventually.ValueAsync(
            () => b.Root.PostAsync($"/api/v1/orgs/{orgId}/api-keys", new { name = "late", permissions = Array.Empty<string>() }),
            response => response.StatusCode == 404, "a key refused in the deleted organization", WithinMoments);
        created.Text.ShouldContain("NOT_FOUND");
    }

    [Fact]
    public async Task A_server_that_loses_its_listener_drops_what_it_cached_rather_than_trust_it()
    {
        await using var pair = await Pair.StartAsync();
        var (a, b, database) = (pair.A, pair.B, pair.Database);
        var orgId = await a.CreateOrgAsync();
        var (keyId, key) = await a.CreateKeyAsync(orgId);
        (await VerifyCodeAsync(b, key)).ShouldBe("VALID");

        // A change no server announces (written straight to the table): the cache keeps answering from memory…
        await using var connection = new NpgsqlConnection(database.Url);
        await connection.OpenAsync(TestContext.Current.CancellationToken);
        await using (var revoke = new NpgsqlCommand("UPDATE api_keys SET revoked_at = now() WHERE id = @id", connection))
        {
            revoke.Parameters.AddWithValue("id", keyId);
            (await revoke.ExecuteNonQueryAsync(TestContext.Current.CancellationToken)).ShouldBe(1);
        }

        (await VerifyCodeAsync(b, key)).ShouldBe("VALID", "the cached record, as expected without an announcement");

        // …until the listener's connection is cut: then nothing cached is trusted.
        await using (var cut = new NpgsqlCommand("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = 'gatehouse-change-feed' AND datname = current_database()", connection))
        {
            Convert.ToInt64(await cut.ExecuteScalarAsync(TestContext.Current.CancellationToken)).ShouldBe(2);
        }

        await Eventually.ValueAsync(() => VerifyCodeAsync(b, key), code => code != "VALID", "the cache dropped after the listener was lost", WithinMoments);
        await Eventually.TrueAsync(() => Listening(b), "the listener back");
    }

    [Fact]
    public async Task Keys_created_on_one_server_while_another_deletes_the_organization_never_outlive_it()
    {
        await using var pair = await Pair.StartAsync();
        var (a, b, database) = (pair.A, pair.B, pair.Database);
        var answers = new List<int>();
        for (var round = 0; round < 8; round++)
        {
            var orgId = await a.CreateOrgAsync();
            (await b.Root.GetAsync($"/api/v1/orgs/{orgId}")).StatusCode.ShouldBe(200, "the other server knows the organization");
            var creates = Enumerable.Range(0, 6).Select(i => b.Root.PostAsync($"/api/v1/orgs/{orgId}/api-keys", new { name = $"racer-{i}", permissions = Array.Empty<string>() })).ToList();
            var delete = a.Root.DeleteAsync($"/api/v1/orgs/{orgId}");
            var responses = await Task.WhenAll(creates.Append(delete));
            (await delete).StatusCode.ShouldBe(200, (await delete).Text);
            foreach (var response in responses[..^1])
            {
                new[] { 201, 404, 409 }.ShouldContain(response.StatusCode, response.Text);
                answers.Add(response.StatusCode);
            }
        }

        // Whatever the interleaving: no key of a deleted organization is live, on either server.
        await using var connection = new NpgsqlConnection(database.Url);
        await connection.OpenAsync(TestContext.Current.CancellationToken);
        await using var live = new NpgsqlCommand(
            "SELECT count(*) FROM api_keys k JOIN organizations o ON o.id = k.org_id WHERE o.deleted_at IS NOT NULL AND k.revoked_at IS NULL", connection);
        Convert.ToInt64(await live.ExecuteScalarAsync(TestContext.Current.CancellationToken)).ShouldBe(0);
        TestContext.Current.SendDiagnosticMessage($"creates racing a delete: {string.Join(", ", answers.GroupBy(s => s).Select(g => $"{g.Key}×{g.Count()}"))}");
    }
}
