using Npgsql;

namespace Gatehouse.Server.Tests.Health;

public sealed class HealthTests(SharedServer shared)
{
    private readonly GatehouseServer _server = shared.Server;

    [Fact]
    public async Task Health_is_healthy_without_an_envelope_or_credential()
    {
        var response = await _server.Anonymous.GetAsync("/health");

        response.StatusCode.ShouldBe(200);
        response.Text.ShouldBe("{\"status\":\"healthy\"}");
    }

    [Fact]
    public async Task Api_health_has_version_and_uptime_in_the_envelope()
    {
        var response = await _server.Anonymous.GetAsync("/api/v1/health");

        response.StatusCode.ShouldBe(200);
        response.Str("status").ShouldBe("healthy");
        response.Str("version").ShouldNotBeNullOrEmpty();
        response.Data.GetProperty("uptimeSeconds").GetInt64().ShouldBeGreaterThanOrEqualTo(0);
    }

    [Fact]
    public async Task Admin_health_lists_every_component_for_root()
    {
        var response = await _server.Root.GetAsync("/api/v1/admin/health");

        response.StatusCode.ShouldBe(200, response.Text);
        var components = response.Data.GetProperty("components");
        foreach (var name in new[] { "database", "keyring", "jobs", "cluster" })
        {
            components.GetProperty(name).GetProperty("status").GetString().ShouldBe("healthy", name);
        }

        components.GetProperty("database").GetProperty("latencyMs").GetDouble().ShouldBeGreaterThanOrEqualTo(0);
    }

    [Fact]
    public async Task Admin_health_needs_a_credential()
    {
        (await _server.Anonymous.GetAsync("/api/v1/admin/health")).StatusCode.ShouldBe(401);
    }

    [Fact]
    public async Task Metrics_count_requests_by_route_template_and_status()
    {
        var orgId = await _server.CreateOrgAsync();
        await _server.Root.GetAsync($"/api/v1/orgs/{orgId}");
        await _server.Root.GetAsync("/api/v1/orgs");

        var metrics = await _server.Anonymous.Http.GetStringAsync("/metrics");

        metrics.ShouldContain("# TYPE http_server_request_duration_seconds histogram");
        var route = "http_route=\"/api/v1/orgs/{orgId}\"";
        MetricsScrape.Lines(metrics, "http_server_request_duration_seconds_bucket", "http_request_method=\"GET\"", route, "http_response_status_code=\"200\"", "le=\"0.0001\"").ShouldHaveSingleItem();
        var count = MetricsScrape.Lines(metrics, "http_server_request_duration_seconds_count", "http_request_method=\"GET\"", route, "http_response_status_code=\"200\"").ShouldHaveSingleItem();
        long.Parse(count.Split(' ')[^1], System.Globalization.CultureInfo.InvariantCulture).ShouldBeGreaterThanOrEqualTo(1);
        // A group's root route is labelled as the OpenAPI document spells it, without the trailing slash.
        MetricsScrape.Lines(metrics, "http_server_request_duration_seconds_count", "http_route=\"/api/v1/orgs\"").ShouldNotBeEmpty();
        metrics.ShouldNotContain("http_route=\"/api/v1/orgs/\"");
        metrics.ShouldNotContain(orgId);
    }

    [Fact]
    public async Task Metrics_include_the_servers_own_runtime_and_process_figures()
    {
        var metrics = await _server.Anonymous.Http.GetStringAsync("/metrics");

        metrics.ShouldContain("# TYPE gatehouse_key_cache_lookups_total counter");
        metrics.ShouldContain("# TYPE gatehouse_webhook_queue_depth gauge");
        metrics.ShouldContain("# TYPE gatehouse_webhook_deliveries_total counter");
        metrics.ShouldContain("# TYPE dotnet_gc_collections_total counter");
        metrics.ShouldContain("# TYPE process_cpu_time_seconds_total counter");
    }

    [Fact]
    public async Task Liveness_and_readiness_answer_healthy_without_a_credential()
    {
        var live = await _server.Anonymous.GetAsync("/health/live");
        var ready = await _server.Anonymous.GetAsync("/health/ready");

        live.StatusCode.ShouldBe(200);
        live.Text.ShouldBe("{\"status\":\"healthy\"}");
        ready.StatusCode.ShouldBe(200);
        ready.Text.ShouldBe("{\"status\":\"healthy\"}");
    }
}

/// <summary>With the database gone, health says so (503) and writes answer 503 SERVICE_UNAVAILABLE, not 500.</summary>
public sealed class DatabaseDownTests
{
    [Fact]
    public async Task Health_and_writes_answer_503_while_the_database_is_down_and_recover_after()
    {
        await using var server = await GatehouseServer.StartAsync();
        var outage = await Outage.BeginAsync(server);
        try
        {
            var health = await server.Anonymous.GetAsync("/health");
            health.StatusCode.ShouldBe(503);
            health.Text.ShouldBe("{\"status\":\"unhealthy\"}");

            var ready = await server.Anonymous.GetAsync("/health/ready");
            ready.StatusCode.ShouldBe(503);
            ready.Text.ShouldBe("{\"status\":\"unhealthy\"}");

            // Liveness needs no database: the process is up, so an orchestrator must not restart it.
            var live = await server.Anonymous.GetAsync("/health/live");
            live.StatusCode.ShouldBe(200);

            var admin = await server.Root.GetAsync("/api/v1/admin/health");
            admin.StatusCode.ShouldBe(503);
            admin.ErrorCode.ShouldBe("SERVICE_UNAVAILABLE");

            var write = await server.Root.PostAsync("/api/v1/orgs", new { name = "during outage" });
            write.StatusCode.ShouldBe(503, write.Text);
            write.ErrorCode.ShouldBe("SERVICE_UNAVAILABLE");
        }
        finally
        {
            await outage.EndAsync();
        }

        // Readiness also covers the background jobs, which failed during the outage and are ready
        // again after their next successful pass.
        await Eventually.TrueAsync(async () => (await server.Anonymous.GetAsync("/health/ready")).StatusCode == 200, "ready after the outage");
        (await server.Anonymous.GetAsync("/health")).StatusCode.ShouldBe(200);
        (await server.Root.PostAsync("/api/v1/orgs", new { name = "after outage" })).StatusCode.ShouldBe(201);
    }

    /// <summary>Takes the server's database away: the SQLite file's folder moves, or PostgreSQL stops accepting connections.</summary>
    private sealed class Outage(GatehouseServer server, string? movedTo)
    {
        public static async Task<Outage> BeginAsync(GatehouseServer server)
        {
            if (server.Database.IsPostgres)
            {
                await AdminAsync(server, allow: false);
                NpgsqlConnection.ClearAllPools();
                return new Outage(server, null);
            }

            // Move first, then empty the pools: a background job that opened a connection between
            // the two steps in the other order kept a handle on the moved file, and health said 200.
            var movedTo = server.DataDir + "-away";
            Directory.Move(server.DataDir, movedTo);
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            return new Outage(server, movedTo);
        }

        public async Task EndAsync()
        {
            if (movedTo is null)
            {
                await AdminAsync(server, allow: true);
                return;
            }

            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            if (Directory.Exists(server.DataDir))
            {
                Directory.Delete(server.DataDir, recursive: true);
            }

            Directory.Move(movedTo, server.DataDir);
        }

        private static async Task AdminAsync(GatehouseServer server, bool allow)
        {
            var name = new NpgsqlConnectionStringBuilder(server.Database.Url).Database;
            var admin = Gatehouse.Server.Platform.Storage.DatabaseTarget.Postgres(Environment.GetEnvironmentVariable("GATEHOUSE_TEST_DATABASE_URL")!).ConnectionString;
            await using var connection = new NpgsqlConnection(admin);
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand(
                $"ALTER DATABASE {name} ALLOW_CONNECTIONS {(allow ? "true" : "false")};" +
                (allow ? "" : $"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}' AND pid <> pg_backend_pid();"),
                connection);
            await command.ExecuteNonQueryAsync();
        }
    }
}
