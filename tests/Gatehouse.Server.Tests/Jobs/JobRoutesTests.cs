using Gatehouse.Server.Platform.Cluster;
using Gatehouse.Server.Platform.Jobs;
using Gatehouse.Server.Platform.Storage;
using Microsoft.EntityFrameworkCore;

namespace Gatehouse.Server.Tests.Jobs;

/// <summary>The root routes of the background jobs: list, trigger, stats and runs, with every error they answer.</summary>
public sealed class JobRoutesTests
{
    private static Task<GatehouseServer> StartWithGateJobAsync(GateJob gate) =>
        GatehouseServer.StartAsync(new ServerOptions
        {
            Settings = new Dictionary<string, string?> { ["Gatehouse:Vault:ReencryptInBackground"] = "false" },
            Services = services => services.AddSingleton<IBackgroundJob>(gate),
        });

    private static async Task<ApiResponse> WaitForRunAsync(GatehouseServer server, string runId, string state) =>
        await Eventually.ValueAsync(() => server.Root.GetAsync($"/api/v1/admin/jobs/runs/{runId}"),
            r => r.StatusCode == 200 && r.Str("state") == state, $"run {runId} to be {state}", describe: r => r.Text);

    [Fact]
    public async Task The_list_shows_every_job_once_with_its_schedule_and_placement()
    {
        await using var server = await GatehouseServer.StartAsync();

        var list = await server.Root.GetAsync("/api/v1/admin/jobs");

        list.StatusCode.ShouldBe(200, list.Text);
        var jobs = list.Data.EnumerateArray().ToDictionary(j => j.GetProperty("name").GetString()!);
        jobs.Keys.Order(StringComparer.Ordinal).ShouldBe(["cluster-change-prune", "cluster-heartbeat", "dek-reencrypt", "device-record-prune", "gateway-offline", "idempotency-purge", "job-runs-prune", "key-usage-flush", "oauth-signing-key-rotation", "oauth-token-prune", "pki-crl-refresh", "session-prune", "webhook-delivery"]);
        jobs["dek-reencrypt"].GetProperty("schedule").GetString().ShouldBe("PT30S");
        jobs["dek-reencrypt"].GetProperty("intervalSeconds").GetInt64().ShouldBe(30);
        jobs["dek-reencrypt"].GetProperty("placement").GetString().ShouldBe("one-node");
        jobs["webhook-delivery"].GetProperty("placement").GetString().ShouldBe("every-node");
        jobs["key-usage-flush"].GetProperty("placement").GetString().ShouldBe("every-node");
        jobs["idempotency-purge"].GetProperty("schedule").GetString().ShouldBe("PT1H");
        foreach (var job in jobs.Values)
        {
            job.GetProperty("description").GetString().ShouldNotBeNullOrWhiteSpace();
            job.GetProperty("state").GetString().ShouldBeOneOf("idle", "running", "failing", "unscheduled");
        }

        // The loop of a scheduled job has planned its next pass.
        await Eventually.TrueAsync(async () => (await server.Root.GetAsync("/api/v1/admin/jobs")).Data.EnumerateArray()
            .Single(j => j.GetProperty("name").GetString() == "idempotency-purge").GetProperty("nextRunAt").ValueKind == System.Text.Json.JsonValueKind.String,
            "the purge's next run to be planned");
    }

    [Fact]
    public async Task A_triggered_job_runs_and_its_run_can_be_polled_to_completion()
    {
        await using var server = await GatehouseServer.StartAsync();

        var trigger = await server.Root.PostAsync("/api/v1/admin/jobs/trigger", new { job = "idempotency-purge" });

        trigger.StatusCode.ShouldBe(202, trigger.Text);
        var runId = trigger.Str("runId");
        runId.ShouldStartWith("jrn_");
        var run = await WaitForRunAsync(server, runId, "succeeded");
        run.Str("job").ShouldBe("idempotency-purge");
        run.Str("trigger").ShouldBe("manual");
        run.Data.GetProperty("ok").GetBoolean().ShouldBeTrue();
        run.Str("node").ShouldContain($":{Environment.ProcessId}");
        run.Data.GetProperty("finishedAt").GetDateTime().ShouldBeGreaterThanOrEqualTo(run.Data.GetProperty("startedAt").GetDateTime());

        var stats = await server.Root.GetAsync("/api/v1/admin/jobs/idempotency-purge/stats");
        stats.StatusCode.ShouldBe(200, stats.Text);
        stats.Data.GetProperty("runs").GetInt64().ShouldBeGreaterThanOrEqualTo(1);
        stats.Data.GetProperty("failures").GetInt64().ShouldBe(0);
        stats.Data.GetProperty("lastRun").GetProperty("ok").GetBoolean().ShouldBeTrue();
        stats.Data.GetProperty("queueDepth").GetInt64().ShouldBe(0);
        var listed = (await server.Root.GetAsync("/api/v1/admin/jobs")).Data.EnumerateArray().Single(j => j.GetProperty("name").GetString() == "idempotency-purge");
        listed.GetProperty("lastRun").GetProperty("node").GetString().ShouldBe(run.Str("node"));
    }

    [Fact]
    public async Task A_job_that_is_running_answers_409_with_the_running_runs_id_and_shows_its_progress()
    {
        var gate = new GateJob();
        await using var server = await StartWithGateJobAsync(gate);

        var first = await server.Root.PostAsync("/api/v1/admin/jobs/trigger", new { job = GateJob.JobName });
        first.StatusCode.ShouldBe(202, first.Text);
        await gate.Entered.Task.WaitAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken);

        var running = await Eventually.ValueAsync(() => server.Root.GetAsync($"/api/v1/admin/jobs/runs/{first.Str("runId")}"),
            r => r.Data.GetProperty("progress").ValueKind == System.Text.Json.JsonValueKind.Object, "the run's progress", describe: r => r.Text);
        running.Str("state").ShouldBe("running");
        running.Data.GetProperty("progress").GetProperty("done").GetInt64().ShouldBe(1);
        running.Data.GetProperty("progress").GetProperty("total").GetInt64().ShouldBe(3);
        var second = await server.Root.PostAsync("/api/v1/admin/jobs/trigger", new { job = GateJob.JobName });
        second.StatusCode.ShouldBe(409, second.Text);
        second.ErrorCode.ShouldBe("CONFLICT");
        second.Body.GetProperty("error").GetProperty("details").GetProperty("runId").GetString().ShouldBe(first.Str("runId"));
        var listed = (await server.Root.GetAsync("/api/v1/admin/jobs")).Data.EnumerateArray().Single(j => j.GetProperty("name").GetString() == GateJob.JobName);
        listed.GetProperty("running").GetBoolean().ShouldBeTrue();
        listed.GetProperty("state").GetString().ShouldBe("running");

        gate.Release.SetResult();
        var done = await WaitForRunAsync(server, first.Str("runId"), "succeeded");
        done.Data.GetProperty("progress").GetProperty("done").GetInt64().ShouldBe(3);
        // The run's record is written just before the runner lets go of the job (its lease and gate),
        // so a trigger at that very moment may still meet the run: it is accepted once that is done.
        await Eventually.ValueAsync(() => server.Root.PostAsync("/api/v1/admin/jobs/trigger", new { job = GateJob.JobName }),
            r => r.StatusCode == 202, "a new run accepted after the first finished", describe: r => r.Text);
    }

    [Fact]
    public async Task A_failed_manual_run_records_the_message_without_a_stack_trace()
    {
        var gate = new GateJob { Fail = true };
        gate.Release.SetResult();
        await using var server = await StartWithGateJobAsync(gate);

        var trigger = await server.Root.PostAsync("/api/v1/admin/jobs/trigger", new { job = GateJob.JobName });

        var run = await WaitForRunAsync(server, trigger.Str("runId"), "failed");
        run.Data.GetProperty("ok").GetBoolean().ShouldBeFalse();
        run.Str("error").ShouldBe("the gate job failed (test)");
        var stats = await server.Root.GetAsync($"/api/v1/admin/jobs/{GateJob.JobName}/stats");
        stats.Data.GetProperty("failures").GetInt64().ShouldBe(1);
        stats.Data.GetProperty("lastRun").GetProperty("error").GetString().ShouldBe("the gate job failed (test)");
    }

    [Fact]
    public async Task Triggering_the_reencryption_of_one_org_reports_its_progress_to_the_end()
    {
        await using var server = await GatehouseServer.StartAsync(new ServerOptions { Settings = new Dictionary<string, string?> { ["Gatehouse:Vault:ReencryptInBackground"] = "false" } });
        var orgId = await server.CreateOrgAsync();
        var other = await server.CreateOrgAsync();
        for (var i = 0; i < 120; i++)
        {
            (await server.Root.PostAsync($"/api/v1/orgs/{orgId}/credentials", new { integrationId = "bulk", authType = "api_key", name = $"c{i}", data = new { apiKey = $"s{i}" } })).StatusCode.ShouldBe(201);
        }

        (await server.Root.PostAsync($"/api/v1/orgs/{other}/credentials", new { integrationId = "other", authType = "api_key", name = "o", data = new { apiKey = "o" } })).StatusCode.ShouldBe(201);
        (await server.Root.PostAsync("/api/v1/admin/dek/rotate", new { })).StatusCode.ShouldBe(200);

        var trigger = await server.Root.PostAsync("/api/v1/admin/jobs/trigger", new { job = "dek-reencrypt", orgId });

        trigger.StatusCode.ShouldBe(202, trigger.Text);
        var run = await WaitForRunAsync(server, trigger.Str("runId"), "succeeded");
        run.Str("orgId").ShouldBe(orgId);
        run.Data.GetProperty("progress").GetProperty("total").GetInt64().ShouldBe(120);
        run.Data.GetProperty("progress").GetProperty("done").GetInt64().ShouldBe(120);
        // Only the organization asked for moved to its new key.
        var keyring = (await server.Root.GetAsync("/api/v1/admin/keyring")).Data.EnumerateArray().ToList();
        keyring.Single(k => k.GetProperty("orgId").GetString() == orgId && k.GetProperty("version").GetInt32() == 2).GetProperty("records").GetInt32().ShouldBe(120);
        keyring.Single(k => k.GetProperty("orgId").GetString() == other && k.GetProperty("version").GetInt32() == 1).GetProperty("records").GetInt32().ShouldBe(1);
    }

    [Fact]
    public async Task Trigger_errors_unknown_job_404_missing_job_422_org_on_a_job_without_orgs_422_unknown_org_404_unknown_field_400()
    {
        await using var server = await GatehouseServer.StartAsync();

        var unknown = await server.Root.PostAsync("/api/v1/admin/jobs/trigger", new { job = "no-such-job" });
        unknown.StatusCode.ShouldBe(404, unknown.Text);
        unknown.ErrorCode.ShouldBe("NOT_FOUND");
        var missing = await server.Root.PostAsync("/api/v1/admin/jobs/trigger", new { });
        missing.StatusCode.ShouldBe(422, missing.Text);
        missing.ErrorCode.ShouldBe("VALIDATION_FAILED");
        var orgId = await server.CreateOrgAsync();
        var notForOrgs = await server.Root.PostAsync("/api/v1/admin/jobs/trigger", new { job = "idempotency-purge", orgId });
        notForOrgs.StatusCode.ShouldBe(422, notForOrgs.Text);
        notForOrgs.Text.ShouldContain("orgId");
        (await server.Root.PostAsync("/api/v1/admin/jobs/trigger", new { job = "dek-reencrypt", orgId = "org_01KAAAAAAAAAAAAAAAAAAAAAAA" })).StatusCode.ShouldBe(404);
        var typo = await server.Root.PostAsync("/api/v1/admin/jobs/trigger", new { jobb = "idempotency-purge" });
        typo.StatusCode.ShouldBe(400, typo.Text);
        typo.ErrorCode.ShouldBe("INVALID_REQUEST");
    }

    [Fact]
    public async Task Stats_of_an_unknown_job_and_an_unknown_run_are_404()
    {
        await using var server = await GatehouseServer.StartAsync();

        (await server.Root.GetAsync("/api/v1/admin/jobs/no-such-job/stats")).StatusCode.ShouldBe(404);
        (await server.Root.GetAsync("/api/v1/admin/jobs/runs/jrn_01KAAAAAAAAAAAAAAAAAAAAAAA")).StatusCode.ShouldBe(404);
        var malformed = await server.Root.GetAsync("/api/v1/admin/jobs/runs/..%2F..%2Fetc");
        malformed.StatusCode.ShouldBe(404);
        malformed.ErrorCode.ShouldBe("NOT_FOUND");
    }

    [Fact]
    public async Task Every_job_route_needs_the_root_credential()
    {
        await using var server = await GatehouseServer.StartAsync();
        var orgId = await server.CreateOrgAsync();
        var orgKey = await ApiKeys.KeyScenario.OrgClientAsync(server, orgId, "*");

        (await orgKey.GetAsync("/api/v1/admin/jobs")).StatusCode.ShouldBe(403);
        (await orgKey.PostAsync("/api/v1/admin/jobs/trigger", new { job = "idempotency-purge" })).StatusCode.ShouldBe(403);
        (await orgKey.GetAsync("/api/v1/admin/jobs/idempotency-purge/stats")).StatusCode.ShouldBe(403);
        (await orgKey.GetAsync("/api/v1/admin/jobs/runs/jrn_01KAAAAAAAAAAAAAAAAAAAAAAA")).StatusCode.ShouldBe(403);
        (await server.Anonymous.GetAsync("/api/v1/admin/jobs")).StatusCode.ShouldBe(401);
        var stats = await server.Root.GetAsync("/api/v1/admin/jobs/idempotency-purge/stats");
        stats.Data.GetProperty("runs").GetInt64().ShouldBe(0, "a forbidden trigger ran nothing");
    }

    /// <summary>A job that reports progress 1 of 3 and waits for the test to release it.</summary>
    private sealed class GateJob : IBackgroundJob
    {
        public const string JobName = "test-gate";

        public TaskCompletionSource Entered { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource Release { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public bool Fail { get; init; }

        public string Name => JobName;

        public string Description => "Waits for the test (test).";

        public TimeSpan Interval => TimeSpan.FromHours(1);

        public JobPlacement Placement => JobPlacement.OneNodeAtATime;

        public async Task<JobPass> RunPassAsync(JobPassContext pass, CancellationToken cancellationToken)
        {
            await pass.Progress.ReportAsync(1, 3);
            Entered.TrySetResult();
            await Release.Task.WaitAsync(cancellationToken);
            if (Fail)
            {
                throw new InvalidOperationException("the gate job failed (test)\n   at a line a stack trace would show");
            }

            await pass.Progress.ReportAsync(3, 3);
            return new JobPass(Succeeded: true);
        }
    }

    [Fact]
    public async Task A_one_node_job_with_a_manual_run_accepted_by_another_live_node_is_409_naming_it_and_a_dead_nodes_run_does_not_count()
    {
        await using var server = await GatehouseServer.StartAsync(new ServerOptions { Settings = new Dictionary<string, string?> { ["Gatehouse:Vault:ReencryptInBackground"] = "false" } });
        var now = DateTime.UtcNow;
        // Another node, alive by its heartbeat, accepted a manual run that has not finished; one more run was left by a node long dead.
        await using (var scope = server.Services.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<GatehouseDb>();
            // Its last heartbeat is dated ahead, so it stays alive however slowly this test runs.
            db.Add(new ClusterNodeRecord { Id = "peer-host:81", Host = "peer-host", Version = "test", StartedAt = now, LastSeenAt = now.AddHours(1) });
            db.Add(new JobRun { Id = "jrn_peerrun0000000000000001", Job = "dek-reencrypt", Trigger = JobRun.Manual, StartedAt = now, Node = "peer-host:81" });
            db.Add(new JobRun { Id = "jrn_deadrun0000000000000001", Job = "dek-reencrypt", Trigger = JobRun.Manual, StartedAt = now.AddHours(-2), Node = "dead-host:82" });
            await db.SaveChangesAsync();
        }

        var whilePeerRuns = await server.Root.PostAsync("/api/v1/admin/jobs/trigger", new { job = "dek-reencrypt" });
        await using (var scope = server.Services.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<GatehouseDb>();
            await db.Set<JobRun>().Where(r => r.Id == "jrn_peerrun0000000000000001").ExecuteUpdateAsync(u => u.SetProperty(r => r.FinishedAt, DateTime.UtcNow).SetProperty(r => r.Ok, true));
        }

        var afterPeerFinished = await server.Root.PostAsync("/api/v1/admin/jobs/trigger", new { job = "dek-reencrypt" });

        whilePeerRuns.StatusCode.ShouldBe(409, whilePeerRuns.Text);
        whilePeerRuns.ErrorCode.ShouldBe("CONFLICT");
        whilePeerRuns.Body.GetProperty("error").GetProperty("details").GetProperty("runId").GetString().ShouldBe("jrn_peerrun0000000000000001");
        afterPeerFinished.StatusCode.ShouldBe(202, afterPeerFinished.Text);
        (await WaitForRunAsync(server, afterPeerFinished.Str("runId"), "succeeded")).Str("node").ShouldBe(ClusterNode.Id);
    }
}
