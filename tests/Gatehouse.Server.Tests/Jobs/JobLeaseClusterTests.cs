using Npgsql;

namespace Gatehouse.Server.Tests.Jobs;

/// <summary>
/// Two server processes on one PostgreSQL database: a one-node job never runs on both at once, and
/// the lease of a node killed mid-pass is taken over by the other once it expires. PostgreSQL only
/// (SQLite is one node's file); skipped unless <c>GATEHOUSE_TEST_PROVIDER=postgres</c>.
/// </summary>
public sealed class JobLeaseClusterTests
{
    private const string Job = "dek-reencrypt";
    private const int Credentials = 300;

    private sealed record RunRow(string Id, string Node, DateTime StartedAt, DateTime? FinishedAt, bool? Ok, string? Error);

    private static Task<ServerProcess> StartNodeAsync(TestDatabase database, string masterKey) =>
        ServerProcess.StartNodeAsync(database, masterKey, new Dictionary<string, string?>
        {
            // A short lease, so the take-over after a kill comes within seconds.
            ["Gatehouse__Jobs__LeaseSeconds"] = "3",
            // Only the test's triggers re-encrypt.
            ["Gatehouse__Vault__ReencryptInBackground"] = "false",
        });

    private static async Task<List<RunRow>> RunsAsync(TestDatabase database)
    {
        await using var connection = new NpgsqlConnection(database.Url);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT id, node, started_at, finished_at, ok, error FROM job_runs WHERE job = @job ORDER BY started_at", connection);
        command.Parameters.AddWithValue("job", Job);
        var rows = new List<RunRow>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            rows.Add(new RunRow(reader.GetString(0), reader.GetString(1), reader.GetDateTime(2),
                await reader.IsDBNullAsync(3) ? null : reader.GetDateTime(3), await reader.IsDBNullAsync(4) ? null : reader.GetBoolean(4),
                await reader.IsDBNullAsync(5) ? null : reader.GetString(5)));
        }

        return rows;
    }

    /// <summary>The live lease's holder, or null.</summary>
    private static async Task<string?> LeaseHolderAsync(TestDatabase database)
    {
        await using var connection = new NpgsqlConnection(database.Url);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT holder FROM job_leases WHERE job = @job AND expires_at > now()", connection);
        command.Parameters.AddWithValue("job", Job);
        return await command.ExecuteScalarAsync() as string;
    }

    private static void ShouldNeverOverlap(List<RunRow> runs)
    {
        var ordered = runs.OrderBy(r => r.StartedAt).ToList();
        for (var i = 1; i < ordered.Count; i++)
        {
            var (before, after) = (ordered[i - 1], ordered[i]);
            before.FinishedAt.ShouldNotBeNull($"run {before.Id} is unfinished while {after.Id} started");
            after.StartedAt.ShouldBeGreaterThanOrEqualTo(before.FinishedAt.Value,
                $"{after.Id} on {after.Node} started before {before.Id} on {before.Node} finished");
        }
    }

    private static async Task SeedAsync(ApiClient root)
    {
        var orgId = (await root.PostAsync("/api/v1/orgs", new { name = "Cluster" })).Str("id");
        for (var i = 0; i < Credentials; i++)
        {
            (await root.PostAsync($"/api/v1/orgs/{orgId}/credentials", new { integrationId = "bulk", authType = "api_key", name = $"c{i}", data = new { apiKey = $"s{i}" } })).StatusCode.ShouldBe(201);
        }
    }

    [Fact]
    public async Task Two_nodes_never_run_the_same_job_at_once_and_a_killed_nodes_lease_is_taken_over()
    {
        Assert.SkipUnless(TestDatabase.PostgresRequested, "PostgreSQL only: several nodes share a PostgreSQL database");
        await using var database = await TestDatabase.CreateAsync();
        var masterKey = Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));
        await using var a = await StartNodeAsync(database, masterKey);
        await using var b = await StartNodeAsync(database, masterKey);
        var (rootA, rootB) = (a.Root(), b.Root());
        await SeedAsync(rootA);

        // Rounds of triggers on both nodes at once, each after a rotation so every pass has work; the
        // node asked first alternates, so both run passes. A trigger meeting a running pass is 409.
        var accepted = new List<string>();
        for (var round = 0; round < 6; round++)
        {
            (await rootA.PostAsync("/api/v1/admin/dek/rotate", new { })).StatusCode.ShouldBe(200);
            var (first, second) = round % 2 == 0 ? (rootA, rootB) : (rootB, rootA);
            var firstTrigger = await first.PostAsync("/api/v1/admin/jobs/trigger", new { job = Job });
            firstTrigger.StatusCode.ShouldBe(202, firstTrigger.Text);
            accepted.Add(firstTrigger.Str("runId"));
            var triggers = await Task.WhenAll(
                second.PostAsync("/api/v1/admin/jobs/trigger", new { job = Job }),
                first.PostAsync("/api/v1/admin/jobs/trigger", new { job = Job }));
            foreach (var trigger in triggers)
            {
                trigger.StatusCode.ShouldBeOneOf([202, 409], trigger.Text);
                if (trigger.StatusCode == 202)
                {
                    accepted.Add(trigger.Str("runId"));
                }
            }

            await Eventually.TrueAsync(async () => (await RunsAsync(database)).Where(r => accepted.Contains(r.Id)).All(r => r.FinishedAt is not null),
                $"the runs of round {round} to finish", TimeSpan.FromSeconds(90));
        }

        var runs = (await RunsAsync(database)).Where(r => accepted.Contains(r.Id)).ToList();
        runs.Count.ShouldBe(accepted.Count);
        runs.ShouldAllBe(r => r.Ok == true);
        runs.Select(r => r.Node).Distinct().Count().ShouldBe(2, "both nodes ran passes");
        ShouldNeverOverlap(await RunsAsync(database));

        // Kill node A while it holds the lease mid-pass (a pass that ends before the kill lands is tried again).
        string? killedRun = null;
        var nodeA = $"{Environment.MachineName}:{a.Id}";
        for (var attempt = 0; attempt < 10 && killedRun is null; attempt++)
        {
            (await rootB.PostAsync("/api/v1/admin/dek/rotate", new { })).StatusCode.ShouldBe(200);
            var trigger = await rootA.PostAsync("/api/v1/admin/jobs/trigger", new { job = Job });
            trigger.StatusCode.ShouldBe(202, trigger.Text);
            var runId = trigger.Str("runId");
            var holding = await Eventually.ValueAsync(async () => (Holder: await LeaseHolderAsync(database), Run: (await RunsAsync(database)).Single(r => r.Id == runId)),
                s => s.Holder == nodeA || s.Run.FinishedAt is not null, "node A to take the lease or finish");
            if (holding.Run.FinishedAt is null)
            {
                a.KillHard();
                killedRun = runId;
            }
        }

        killedRun.ShouldNotBeNull("node A was never caught mid-pass in ten attempts");

        // The lease outlives its dead holder until it expires: meanwhile node B refuses a second pass and names A's run.
        var refused = await rootB.PostAsync("/api/v1/admin/jobs/trigger", new { job = Job });
        if (refused.StatusCode == 409)
        {
            refused.Body.GetProperty("error").GetProperty("details").GetProperty("runId").GetString().ShouldBe(killedRun);
        }
        else
        {
            // Only when the lease expired before this request: then B's pass is the take-over itself.
            refused.StatusCode.ShouldBe(202, refused.Text);
        }

        var takeover = refused.StatusCode == 202
            ? refused
            : await Eventually.ValueAsync(() => rootB.PostAsync("/api/v1/admin/jobs/trigger", new { job = Job }), r => r.StatusCode == 202,
                "node B to take the expired lease", describe: r => r.Text);
        var takeoverRun = takeover.Str("runId");
        await Eventually.TrueAsync(async () => (await RunsAsync(database)).Single(r => r.Id == takeoverRun).FinishedAt is not null, "node B's run to finish");

        var all = await RunsAsync(database);
        var dead = all.Single(r => r.Id == killedRun);
        dead.Node.ShouldBe(nodeA);
        dead.Ok.ShouldBe(false);
        dead.Error!.ShouldContain("stopped before it finished");
        var survivor = all.Single(r => r.Id == takeoverRun);
        survivor.Ok.ShouldBe(true);
        survivor.Node.ShouldBe($"{Environment.MachineName}:{b.Id}");
        ShouldNeverOverlap(all);
        var keyring = await rootB.GetAsync("/api/v1/admin/keyring");
        keyring.Data.EnumerateArray().Where(k => k.GetProperty("current").GetBoolean()).Sum(k => k.GetProperty("records").GetInt32()).ShouldBe(Credentials);
    }
}
