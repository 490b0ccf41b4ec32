using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Gatehouse.Server.Tests.ApiKeys;
using Gatehouse.Server.Tests.Webhooks;
using Npgsql;

namespace Gatehouse.Server.Tests.Cluster;

/// <summary>
/// The several-nodes contract (docs/operations.md, "Running several nodes"), proven on three server
/// processes sharing one PostgreSQL database behind haproxy: changes seen by every node within 1 s,
/// rate limits within 1.2 × the limit across nodes, credits exact, one job run at a time, no
/// webhook event lost when a node is killed, idempotency records of a dead node taken over, and
/// migrations safe when the nodes start together. PostgreSQL only.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class ClusterTests(ClusterFixture cluster)
{
    /// <summary>
    /// The contract says 1 s; the assertion allows 5 s so a busy two-core machine does not fail it,
    /// while a node that serves a stale cache for its full lifetime (a minute) still does. The real
    /// figures (p50, p99) are reported, not asserted.
    /// </summary>
    private static readonly TimeSpan PropagationBound = TimeSpan.FromSeconds(5);

    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(10);

    private static int Samples => ClusterFixture.LongMode ? 100 : 5;

    private IReadOnlyList<ClusterNode> Nodes => cluster.Nodes;

    private void RequireCluster()
    {
        Assert.SkipUnless(TestDatabase.PostgresRequested, "PostgreSQL only: several nodes share a PostgreSQL database");
        cluster.StartedHealthy.ShouldAllBe(h => h, "every node started: " + string.Join("\n", cluster.Nodes.Select(n => n.Process.StandardError)));
    }

    private async Task<string> CreateOrgAsync(object? settings = null)
    {
        var created = await cluster.Root.PostAsync("/api/v1/orgs", settings is null
            ? new { name = "cluster-" + Guid.NewGuid().ToString("N")[..8] }
            : new { name = "cluster-" + Guid.NewGuid().ToString("N")[..8], settings });
        created.StatusCode.ShouldBe(201, created.Text);
        return created.Str("id");
    }

    private async Task<(string Id, string Key)> CreateKeyAsync(string orgId, object body, ApiClient? client = null)
    {
        var created = await (client ?? cluster.Root).PostAsync($"/api/v1/orgs/{orgId}/api-keys", body);
        created.StatusCode.ShouldBe(201, created.Text);
        return (created.Str("id"), created.Str("key"));
    }

    private static async Task<string> VerdictAsync(ClusterNode node, string key, string? permissions)
    {
        var verdict = await node.Root.VerifyAsync(permissions is null ? new { key } : new { key, permissions });
        return verdict.StatusCode == 200 ? verdict.Code() : $"HTTP {verdict.StatusCode} {verdict.ErrorCode}";
    }

    private static async Task ExpectAsync(HttpMethod method, ClusterNode node, string path, object? body, int status)
    {
        var response = await node.Root.SendAsync(method, path, body);
        response.StatusCode.ShouldBe(status, $"{method} {path} on {node.Name}: {response.Text}");
    }

    // ---------------------------------------------------------------- propagation

    /// <summary>One change to watch: a key warmed on every node, the change, and what a node answers once it has seen it.</summary>
    private sealed record Change(string Key, string? Permissions, Func<ClusterNode, Task> Apply, Func<ClusterNode, Task<(bool Seen, string Observed)>> Probe);

    public static TheoryData<string> ChangeKinds =>
    [
        "key revoke", "key disable", "key permissions", "role permissions", "org delete", "credits set", "user disable", "service account disable",
    ];

    [Theory]
    [MemberData(nameof(ChangeKinds))]
    public async Task A_change_made_on_one_node_is_seen_by_the_others_within_the_bound(string kind)
    {
        RequireCluster();
        var orgId = await CreateOrgAsync();
        var delays = new List<TimeSpan>();
        var missed = new List<string>();
        for (var sample = 0; sample < Samples && missed.Count == 0; sample++)
        {
            var origin = Nodes[sample % Nodes.Count];
            var change = await PrepareAsync(kind, orgId, sample);
            foreach (var node in Nodes)
            {
                (await VerdictAsync(node, change.Key, change.Permissions)).ShouldBe("VALID", $"{kind}: the key before the change, on {node.Name}");
            }

            await change.Apply(origin);
            var clock = Stopwatch.StartNew();
            // The node that made the change answers from the new state on its very next request.
            var local = await change.Probe(origin);
            local.Seen.ShouldBeTrue($"{kind}: {origin.Name} made the change and still answered {local.Observed}");
            var others = await Task.WhenAll(Nodes.Where(n => n != origin).Select(n => WatchAsync(n, change, clock)));
            foreach (var (node, delay, observed) in others)
            {
                if (delay is { } seen)
                {
                    delays.Add(seen);
                }
                else
                {
                    missed.Add($"sample {sample}: {node.Name} still answered {observed} {PropagationBound.TotalSeconds:0} s after {origin.Name} made the change");
                }
            }
        }

        ClusterFixture.Report($"propagation, {kind}", delays.Count == 0
            ? "no sample seen in time"
            : string.Create(CultureInfo.InvariantCulture,
                $"{delays.Count} observations, p50 {Percentile(delays, 0.50):0} ms, p99 {Percentile(delays, 0.99):0} ms, max {delays.Max().TotalMilliseconds:0} ms") +
              (missed.Count == 0 ? "" : $"; stale: {missed[0]}"));
        missed.ShouldBeEmpty();
    }

    /// <summary>
    /// Asks one node every 10 ms until it answers from the new state. A hand-written poll, not
    /// <see cref="Eventually"/>: the delay itself is the measurement, so the pause between asks must
    /// stay short and fixed rather than grow.
    /// </summary>
    private static async Task<(ClusterNode Node, TimeSpan? Delay, string Observed)> WatchAsync(ClusterNode node, Change change, Stopwatch clock)
    {
        var observed = "";
        while (clock.Elapsed < PropagationBound)
        {
            var probe = await change.Probe(node);
            if (probe.Seen)
            {
                return (node, clock.Elapsed, probe.Observed);
            }

            observed = probe.Observed;
            await Task.Delay(PollInterval, TestContext.Current.CancellationToken);
        }

        return (node, null, observed);
    }

    private static double Percentile(List<TimeSpan> values, double quantile)
    {
        var ordered = values.Select(v => v.TotalMilliseconds).Order().ToList();
        var index = (int)Math.Ceiling(quantile * ordered.Count) - 1;
        return ordered[Math.Clamp(index, 0, ordered.Count - 1)];
    }

    private static Func<ClusterNode, Task<(bool, string)>> VerdictIs(string key, string? permissions, string expected) => async node =>
    {
        var code = await VerdictAsync(node, key, permissions);
        return (code == expected, code);
    };

    private async Task<Change> PrepareAsync(string kind, string orgId, int sample)
    {
        var keys = $"/api/v1/orgs/{orgId}/api-keys";
        switch (kind)
        {
            case "key revoke":
                {
                    var (id, key) = await CreateKeyAsync(orgId, new { name = $"revoke{sample}", permissions = new[] { "doc:read" } });
                    return new Change(key, null, node => ExpectAsync(HttpMethod.Delete, node, $"{keys}/{id}", null, 200), VerdictIs(key, null, "REVOKED"));
                }

            case "key disable":
                {
                    var (id, key) = await CreateKeyAsync(orgId, new { name = $"disable{sample}", permissions = new[] { "doc:read" } });
                    return new Change(key, null, node => ExpectAsync(HttpMethod.Patch, node, $"{keys}/{id}", new { enabled = false }, 200), VerdictIs(key, null, "DISABLED"));
                }

            case "key permissions":
                {
                    var (id, key) = await CreateKeyAsync(orgId, new { name = $"perm{sample}", permissions = new[] { "doc:read" } });
                    return new Change(key, "doc:read", node => ExpectAsync(HttpMethod.Patch, node, $"{keys}/{id}", new { permissions = new[] { "doc:write" } }, 200),
                        VerdictIs(key, "doc:read", "INSUFFICIENT_PERMISSIONS"));
                }

            case "role permissions":
                {
                    var role = await cluster.Root.PostAsync($"/api/v1/orgs/{orgId}/roles", new { name = $"reader{sample}", permissions = new[] { "doc:read" } });
                    role.StatusCode.ShouldBe(201, role.Text);
                    var (_, key) = await CreateKeyAsync(orgId, new { name = $"role{sample}", permissions = Array.Empty<string>(), roles = new[] { $"reader{sample}" } });
                    return new Change(key, "doc:read",
                        node => ExpectAsync(HttpMethod.Patch, node, $"/api/v1/orgs/{orgId}/roles/{role.Str("id")}", new { permissions = new[] { "doc:write" } }, 200),
                        VerdictIs(key, "doc:read", "INSUFFICIENT_PERMISSIONS"));
                }

            case "org delete":
                {
                    // Each sample deletes an organization of its own.
                    var doomed = await CreateOrgAsync();
                    var (_, key) = await CreateKeyAsync(doomed, new { name = "doomed", permissions = new[] { "doc:read" } });
                    return new Change(key, null, node => ExpectAsync(HttpMethod.Delete, node, $"/api/v1/orgs/{doomed}", null, 200), async node =>
                    {
                        var code = await VerdictAsync(node, key, null);
                        var created = await node.Root.PostAsync($"/api/v1/orgs/{doomed}/api-keys", new { name = "after delete", permissions = Array.Empty<string>() });
                        return (code != "VALID" && created.StatusCode == 404, $"verify {code}, key creation {created.StatusCode}");
                    });
                }

            case "credits set":
                {
                    var (id, key) = await CreateKeyAsync(orgId, new { name = $"credits{sample}", permissions = new[] { "doc:read" }, remaining = 1000 });
                    return new Change(key, null, node => ExpectAsync(HttpMethod.Patch, node, $"{keys}/{id}", new { remaining = 0 }, 200), VerdictIs(key, null, "USAGE_EXCEEDED"));
                }

            case "user disable":
                {
                    var user = await cluster.Root.PostAsync($"/api/v1/orgs/{orgId}/users",
                        new { email = $"u{sample}-{Guid.NewGuid():N}@example.com", name = "Cluster User", permissions = new[] { "doc:read" }, roles = Array.Empty<string>() });
                    user.StatusCode.ShouldBe(201, user.Text);
                    var userId = user.Str("id");
                    var (_, key) = await CreateKeyAsync(orgId, new { name = $"personal{sample}", permissions = new[] { "doc:read" }, ownerId = userId });
                    return new Change(key, null, node => ExpectAsync(HttpMethod.Patch, node, $"/api/v1/orgs/{orgId}/users/{userId}", new { disabled = true }, 200),
                        VerdictIs(key, null, "DISABLED"));
                }

            case "service account disable":
                {
                    var account = await cluster.Root.PostAsync($"/api/v1/orgs/{orgId}/service-accounts", new { name = $"robot{sample}", permissions = new[] { "doc:read" } });
                    account.StatusCode.ShouldBe(201, account.Text);
                    var accountId = account.Data.GetProperty("serviceAccount").GetProperty("id").GetString()!;
                    var key = account.Data.GetProperty("key").GetProperty("key").GetString()!;
                    return new Change(key, null,
                        node => ExpectAsync(HttpMethod.Patch, node, $"/api/v1/orgs/{orgId}/service-accounts/{accountId}", new { disabled = true }, 200),
                        VerdictIs(key, null, "DISABLED"));
                }

            default:
                throw new ArgumentOutOfRangeException(nameof(kind), kind, "no such change kind");
        }
    }

    // ---------------------------------------------------------------- rate limits

    private const int Limit = 30;

    /// <summary>Four times the limit, all at once, through haproxy (round-robin: each node gets a third); returns how many were admitted.</summary>
    private static async Task<int> BurstAsync(Func<int, Task<bool>> send)
    {
        var admitted = await Task.WhenAll(Enumerable.Range(0, 4 * Limit).Select(send));
        return admitted.Count(a => a);
    }

    private static void ShouldAdmitAboutTheLimit(string policy, int admitted)
    {
        ClusterFixture.Report($"rate limit, {policy}", $"limit {Limit}, {4 * Limit} requests over 3 nodes, {admitted} admitted ({(double)admitted / Limit:0.00} × the limit)");
        admitted.ShouldBeGreaterThanOrEqualTo(Limit, $"{policy}: fewer than the limit were admitted");
        admitted.ShouldBeLessThanOrEqualTo((int)(Limit * 1.2), $"{policy}: the nodes together admitted more than 1.2 × the limit");
    }

    [Fact]
    public async Task A_keys_own_rate_limit_admits_at_most_a_fifth_more_than_its_limit_across_nodes()
    {
        RequireCluster();
        var orgId = await CreateOrgAsync();
        // A window of an hour: the burst cannot straddle two windows.
        var (_, key) = await CreateKeyAsync(orgId, new { name = "limited", permissions = Array.Empty<string>(), ratelimits = new[] { new { name = "cluster", limit = Limit, durationMs = 3_600_000 } } });
        var admitted = await BurstAsync(async _ =>
        {
            var verdict = await cluster.Root.VerifyAsync(new { key });
            verdict.StatusCode.ShouldBe(200, verdict.Text);
            verdict.Code().ShouldBeOneOf(["VALID", "RATE_LIMITED"]);
            return verdict.Code() == "VALID";
        });
        ShouldAdmitAboutTheLimit("key ratelimit on verify", admitted);
    }

    [Fact]
    public async Task The_standalone_limiter_admits_at_most_a_fifth_more_than_its_limit_across_nodes()
    {
        RequireCluster();
        var orgId = await CreateOrgAsync();
        var identifier = Guid.NewGuid().ToString("N");
        var admitted = await BurstAsync(async _ =>
        {
            var answer = await cluster.Root.PostAsync("/api/v1/ratelimit", new { @namespace = "cluster", identifier, limit = Limit, durationMs = 3_600_000, orgId });
            answer.StatusCode.ShouldBe(200, answer.Text);
            return answer.Data.GetProperty("success").GetBoolean();
        });
        ShouldAdmitAboutTheLimit("standalone /ratelimit", admitted);
    }

    [Fact]
    public async Task An_organizations_platform_policy_admits_at_most_a_fifth_more_than_its_limit_across_nodes()
    {
        RequireCluster();
        // Set at creation, so no node has cached the defaults for this organization.
        var orgId = await CreateOrgAsync(new { rateLimits = new { perMinute = Limit } });
        var (_, key) = await CreateKeyAsync(orgId, new { name = "reader", permissions = new[] { "roles:read" } });
        var client = cluster.Client(key);
        var admitted = await BurstAsync(async _ =>
        {
            var answer = await client.GetAsync($"/api/v1/orgs/{orgId}/roles");
            answer.StatusCode.ShouldBeOneOf([200, 429], answer.Text);
            return answer.StatusCode == 200;
        });
        ShouldAdmitAboutTheLimit("organization perMinute", admitted);
    }

    [Fact]
    public async Task An_organizations_verify_policy_admits_at_most_a_fifth_more_than_its_limit_across_nodes()
    {
        RequireCluster();
        var orgId = await CreateOrgAsync(new { rateLimits = new { verifyPerMinute = Limit } });
        var (_, key) = await CreateKeyAsync(orgId, new { name = "plain", permissions = Array.Empty<string>() });
        var (_, verifier) = await CreateKeyAsync(orgId, new { name = "verifier", permissions = new[] { "api_keys:verify" } });
        var client = cluster.Client(verifier);
        var admitted = await BurstAsync(async _ =>
        {
            var answer = await client.VerifyAsync(new { key });
            answer.StatusCode.ShouldBeOneOf([200, 429], answer.Text);
            return answer.StatusCode == 200;
        });
        ShouldAdmitAboutTheLimit("organization verifyPerMinute", admitted);
    }

    // ---------------------------------------------------------------- credits

    [Fact]
    public async Task Credits_stay_exact_when_every_node_spends_them_at_once()
    {
        RequireCluster();
        const int credits = 40;
        var orgId = await CreateOrgAsync();
        var (id, key) = await CreateKeyAsync(orgId, new { name = "metered", permissions = Array.Empty<string>(), remaining = credits });
        var verdicts = await Task.WhenAll(Enumerable.Range(0, 3 * credits).Select(async _ =>
        {
            var verdict = await cluster.Root.VerifyAsync(new { key });
            verdict.StatusCode.ShouldBe(200, verdict.Text);
            return verdict.Code();
        }));

        ClusterFixture.Report("credits", $"remaining {credits}, {3 * credits} concurrent verifies: {string.Join(", ", verdicts.CountBy(v => v).Select(c => $"{c.Key} {c.Value}"))}");
        verdicts.Count(v => v == "VALID").ShouldBe(credits);
        verdicts.Count(v => v == "USAGE_EXCEEDED").ShouldBe(2 * credits);
        foreach (var node in Nodes)
        {
            (await node.Root.GetAsync($"/api/v1/orgs/{orgId}/api-keys/{id}")).Data.GetProperty("remaining").GetInt64().ShouldBe(0, node.Name);
        }
    }

    // ---------------------------------------------------------------- jobs

    private const string ReencryptJob = "dek-reencrypt";

    private sealed record RunRow(string Id, string Node, DateTime StartedAt, DateTime? FinishedAt);

    private async Task<List<RunRow>> RunsAsync()
    {
        await using var connection = new NpgsqlConnection(cluster.Database.Url);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT id, node, started_at, finished_at FROM job_runs WHERE job = @job ORDER BY started_at", connection);
        command.Parameters.AddWithValue("job", ReencryptJob);
        var rows = new List<RunRow>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            rows.Add(new RunRow(reader.GetString(0), reader.GetString(1), reader.GetDateTime(2), await reader.IsDBNullAsync(3) ? null : reader.GetDateTime(3)));
        }

        return rows;
    }

    private async Task<string?> LeaseHolderAsync()
    {
        await using var connection = new NpgsqlConnection(cluster.Database.Url);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT holder FROM job_leases WHERE job = @job AND expires_at > now()", connection);
        command.Parameters.AddWithValue("job", ReencryptJob);
        return await command.ExecuteScalarAsync() as string;
    }

    private static void ShouldNeverOverlap(List<RunRow> runs)
    {
        for (var i = 1; i < runs.Count; i++)
        {
            var (before, after) = (runs[i - 1], runs[i]);
            before.FinishedAt.ShouldNotBeNull($"run {before.Id} on {before.Node} is unfinished while {after.Id} on {after.Node} started");
            after.StartedAt.ShouldBeGreaterThanOrEqualTo(before.FinishedAt.Value, $"{after.Id} on {after.Node} started before {before.Id} on {before.Node} finished");
        }
    }

    private static string? RunningRunId(ApiResponse refused) =>
        refused.Body.GetProperty("error").TryGetProperty("details", out var details) && details.TryGetProperty("runId", out var runId) ? runId.GetString() : null;

    [Fact]
    public async Task A_one_node_job_triggered_on_every_node_at_once_runs_on_one_node_at_a_time()
    {
        RequireCluster();
        // Work for the re-encryption pass: credentials to move to a new data key, so a pass lasts a while.
        var orgId = await CreateOrgAsync();
        for (var batch = 0; batch < 10; batch++)
        {
            await Task.WhenAll(Enumerable.Range(0, 20).Select(async i =>
            {
                var created = await cluster.Root.PostAsync($"/api/v1/orgs/{orgId}/credentials",
                    new { integrationId = "bulk", authType = "api_key", name = $"c{batch}-{i}", data = new { apiKey = $"s{batch}-{i}" } });
                created.StatusCode.ShouldBe(201, created.Text);
            }));
        }

        // All three at once: each answer is 202 (accepted) or 409 naming the run in progress.
        (await cluster.Root.PostAsync("/api/v1/admin/dek/rotate", new { })).StatusCode.ShouldBe(200);
        var triggers = await Task.WhenAll(Nodes.Select(n => n.Root.PostAsync("/api/v1/admin/jobs/trigger", new { job = ReencryptJob })));
        triggers.ShouldAllBe(t => t.StatusCode == 202 || t.StatusCode == 409, string.Join("\n", triggers.Select(t => t.Text)));
        var accepted = triggers.Where(t => t.StatusCode == 202).Select(t => t.Str("runId")).ToList();
        accepted.ShouldNotBeEmpty();
        foreach (var refused in triggers.Where(t => t.StatusCode == 409))
        {
            RunningRunId(refused).ShouldNotBeNull(refused.Text);
        }

        await Eventually.TrueAsync(async () => (await RunsAsync()).Where(r => accepted.Contains(r.Id)).All(r => r.FinishedAt is not null), "the accepted runs to finish", TimeSpan.FromSeconds(90));

        // One node caught holding the lease: the other two refuse and name its run.
        var refusals = new List<ApiResponse>();
        for (var attempt = 0; attempt < 10 && refusals.Count == 0; attempt++)
        {
            var holder = Nodes[attempt % Nodes.Count];
            (await cluster.Root.PostAsync("/api/v1/admin/dek/rotate", new { })).StatusCode.ShouldBe(200);
            var trigger = await holder.Root.PostAsync("/api/v1/admin/jobs/trigger", new { job = ReencryptJob });
            trigger.StatusCode.ShouldBe(202, trigger.Text);
            var runId = trigger.Str("runId");
            accepted.Add(runId);
            var nodeName = $"{Environment.MachineName}:{holder.Process.Id}";
            var state = await Eventually.ValueAsync(async () => (Holder: await LeaseHolderAsync(), Run: (await RunsAsync()).SingleOrDefault(r => r.Id == runId)),
                s => s.Holder == nodeName || s.Run?.FinishedAt is not null, $"{holder.Name} to take the lease or finish");
            if (state.Run?.FinishedAt is null)
            {
                var others = await Task.WhenAll(Nodes.Where(n => n != holder).Select(n => n.Root.PostAsync("/api/v1/admin/jobs/trigger", new { job = ReencryptJob })));
                var stillRunning = (await RunsAsync()).Single(r => r.Id == runId).FinishedAt is null;
                if (stillRunning || others.All(o => o.StatusCode == 409))
                {
                    refusals.AddRange(others);
                    foreach (var other in others)
                    {
                        other.StatusCode.ShouldBe(409, other.Text);
                        RunningRunId(other).ShouldBe(runId);
                    }
                }
                else
                {
                    // The pass ended between the lease check and the triggers: they may have been accepted; try again.
                    accepted.AddRange(others.Where(o => o.StatusCode == 202).Select(o => o.Str("runId")));
                }
            }

            await Eventually.TrueAsync(async () => (await RunsAsync()).Where(r => accepted.Contains(r.Id)).All(r => r.FinishedAt is not null), "the runs to finish", TimeSpan.FromSeconds(90));
        }

        refusals.ShouldNotBeEmpty("no node was caught mid-pass in ten attempts");
        var runs = await RunsAsync();
        ClusterFixture.Report("jobs", $"{triggers.Count(t => t.StatusCode == 202)} of 3 simultaneous triggers accepted; {runs.Count} runs on {runs.Select(r => r.Node).Distinct().Count()} nodes, none overlapping");
        ShouldNeverOverlap(runs);
    }

    // ---------------------------------------------------------------- webhooks with a kill

    /// <summary>
    /// How many deliveries one node can have in flight: its dispatcher sends at most 8 at once. Only
    /// those can arrive twice after a kill (sent, but the node died before recording the outcome).
    /// </summary>
    private const int DispatcherParallelism = 8;

    private const int Events = 200;

    /// <summary>What clients saw through haproxy while a node died: statuses by who answered.</summary>
    private sealed class Traffic
    {
        public ConcurrentDictionary<int, int> Statuses { get; } = new();
        private int _balancerErrors;
        private int _connectionErrors;

        public ConcurrentQueue<string> GatehouseErrors { get; } = new();

        public void CountConnectionError() => Interlocked.Increment(ref _connectionErrors);

        public void Count(ApiResponse response)
        {
            Statuses.AddOrUpdate(response.StatusCode, 1, (_, n) => n + 1);
            if (response.StatusCode >= 500)
            {
                // Gatehouse stamps every answer with X-Request-Id; haproxy's own error pages have none.
                if (response.Header("X-Request-Id") is not null)
                {
                    GatehouseErrors.Enqueue(response.ToString());
                }
                else
                {
                    Interlocked.Increment(ref _balancerErrors);
                }
            }
        }

        public override string ToString() =>
            string.Join(", ", Statuses.OrderBy(s => s.Key).Select(s => $"{s.Key}×{s.Value}")) + $"; haproxy 5xx {_balancerErrors}, connection errors {_connectionErrors}";
    }

    [Fact]
    public async Task No_webhook_event_is_lost_when_a_node_is_killed_mid_delivery()
    {
        RequireCluster();
        var victim = Nodes[1];
        await using var receiver = await WebhookReceiver.StartAsync();
        // A slow receiver keeps deliveries in flight; it notes the sending connection of each one it holds.
        var inFlight = new ConcurrentDictionary<int, int>();
        var answered = 0;
        receiver.Delay = context =>
        {
            inFlight.AddOrUpdate(context.Connection.RemotePort, 1, (_, n) => n + 1);
            return TimeSpan.FromMilliseconds(300);
        };
        receiver.Respond = context =>
        {
            inFlight.AddOrUpdate(context.Connection.RemotePort, 0, (_, n) => n - 1);
            Interlocked.Increment(ref answered);
            return (200, "ok");
        };
        var orgId = await CreateOrgAsync();
        var endpoint = await cluster.Root.PostAsync($"/api/v1/orgs/{orgId}/webhooks", new { url = receiver.Url(), events = new[] { "role.created" } });
        endpoint.StatusCode.ShouldBe(201, endpoint.Text);
        var (_, key) = await CreateKeyAsync(orgId, new { name = "steady", permissions = Array.Empty<string>() });

        var traffic = new Traffic();
        using var stop = new CancellationTokenSource();
        var steady = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    traffic.Count(await cluster.Root.VerifyAsync(new { key }));
                }
                catch (HttpRequestException)
                {
                    traffic.CountConnectionError();
                }
            }
        });

        try
        {
            var (created, killedAfter, sentByVictim, killedAt) = (0, 0, 0.0, new Stopwatch());
            foreach (var chunk in Enumerable.Range(0, Events).Chunk(4))
            {
                await Task.WhenAll(chunk.Select(async i =>
                {
                    try
                    {
                        var role = await cluster.Root.PostAsync($"/api/v1/orgs/{orgId}/roles", new { name = $"event{i}", permissions = new[] { "doc:read" } });
                        traffic.Count(role);
                        // 409: haproxy re-sent a creation the killed node had already committed (its event must still arrive).
                        role.StatusCode.ShouldBeOneOf([201, 409], role.Text);
                    }
                    catch (HttpRequestException)
                    {
                        traffic.CountConnectionError();
                    }
                }));
                created += chunk.Length;
                // Killed while the receiver holds a delivery sent by it: an attempt in flight at the crash.
                if (created >= Events / 3 && !victim.Process.HasExited && (sentByVictim = await DeliveriesSentAsync(victim)) >= 0 && SendingNow(victim, inFlight))
                {
                    victim.Kill();
                    killedAt.Start();
                    killedAfter = created;
                }
            }

            victim.Process.HasExited.ShouldBeTrue("the node was never caught with a delivery in flight");
            var roles = await RoleIdsAsync(orgId);
            roles.Count.ShouldBe(Events, "every creation committed once");
            var received = await Eventually.ValueAsync(() => Task.FromResult(receiver.Received.ToList()),
                r => roles.All(new HashSet<string>(r.Select(RoleOf)).Contains), "every role.created event to reach the receiver", TimeSpan.FromSeconds(180),
                r => $"{roles.Except(r.Select(RoleOf)).Count()} of {roles.Count} not received yet");
            await stop.CancelAsync();
            await steady;

            // Every delivery recorded as succeeded: one the killed node had claimed is sent again only
            // after its claim lapses, and a duplicate can only appear then, so count them after this.
            var webhookId = endpoint.Str("id");
            var deliveries = await Eventually.ValueAsync(() => DeliveryStatesAsync(orgId, webhookId),
                d => d.Count == Events && d.All(x => x.Status == "succeeded"), "every delivery to be recorded as succeeded", TimeSpan.FromSeconds(180),
                d => string.Join(", ", d.CountBy(x => x.Status).Select(c => $"{c.Key} {c.Value}")));
            received = receiver.Received.ToList();
            var duplicates = received.Count - received.Select(r => r.Id).Distinct().Count();
            ClusterFixture.Report("webhooks with a kill", $"{Events} events, node killed after {killedAfter} creations and {sentByVictim:0} of its own sends: 0 lost, {duplicates} duplicates, {deliveries.Count(d => d.Attempts > 1)} deliveries sent more than once, {received.Count - answered} requests cut off at the receiver, all recorded as succeeded {killedAt.Elapsed.TotalSeconds:0} s after the kill; traffic through haproxy: {traffic}");
            received.Select(r => r.Id).Distinct().Count().ShouldBe(Events, "one webhook-id per event");
            duplicates.ShouldBeLessThanOrEqualTo(DispatcherParallelism, "only deliveries in flight on the killed node may arrive twice");
            traffic.GatehouseErrors.ShouldBeEmpty("the surviving nodes answered no 5xx");
        }
        finally
        {
            await stop.CancelAsync();
            await steady;
            await cluster.RestartAsync(victim);
        }
    }

    /// <summary>
    /// Whether the receiver is holding a request that came from <paramref name="node"/>: one of the
    /// node's open TCP sockets (from /proc: its file descriptors, and the kernel's socket table) has
    /// the local port the receiver sees as the remote port of a request it has not answered yet.
    /// </summary>
    private static bool SendingNow(ClusterNode node, ConcurrentDictionary<int, int> inFlight)
    {
        var holding = inFlight.Where(p => p.Value > 0).Select(p => p.Key).ToHashSet();
        if (holding.Count == 0)
        {
            return false;
        }

        try
        {
            var sockets = Directory.GetFiles($"/proc/{node.Process.Id}/fd")
                .Select(fd => new FileInfo(fd).LinkTarget)
                .Where(target => target is not null && target.StartsWith("socket:[", StringComparison.Ordinal))
                .Select(target => target!["socket:[".Length..^1])
                .ToHashSet();
            return new[] { "/proc/net/tcp", "/proc/net/tcp6" }.Where(File.Exists)
                .SelectMany(table => File.ReadLines(table).Skip(1))
                .Select(line => line.Split(' ', StringSplitOptions.RemoveEmptyEntries))
                .Any(fields => sockets.Contains(fields[9]) && holding.Contains(int.Parse(fields[1][(fields[1].LastIndexOf(':') + 1)..], NumberStyles.HexNumber, CultureInfo.InvariantCulture)));
        }
        catch (IOException)
        {
            return false; // A descriptor closed while being read; ask again after the next chunk.
        }
        catch (UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>How many delivery attempts one node has made (its gatehouse_webhook_deliveries counter, every outcome).</summary>
    private static async Task<double> DeliveriesSentAsync(ClusterNode node)
    {
        var text = await node.Root.Http.GetStringAsync("/metrics");
        return MetricsScrape.Lines(text, "gatehouse_webhook_deliveries_total")
            .Sum(line => double.Parse(line.Split(' ')[^1], NumberStyles.Float, CultureInfo.InvariantCulture));
    }

    private async Task<List<(string Status, int Attempts)>> DeliveryStatesAsync(string orgId, string webhookId)
    {
        var states = new List<(string Status, int Attempts)>();
        for (var offset = 0; ; offset += 200)
        {
            var page = await cluster.Root.GetAsync($"/api/v1/orgs/{orgId}/webhooks/{webhookId}/deliveries?limit=200&offset={offset}");
            page.StatusCode.ShouldBe(200, page.Text);
            states.AddRange(page.Data.EnumerateArray().Select(d => (d.GetProperty("status").GetString()!, d.AttemptCount())));
            if (!page.Body.GetProperty("meta").GetProperty("pagination").GetProperty("hasMore").GetBoolean())
            {
                return states;
            }
        }
    }

    private static string RoleOf(ReceivedWebhook webhook) => webhook.Json.GetProperty("data").GetProperty("id").GetString()!;

    private async Task<List<string>> RoleIdsAsync(string orgId)
    {
        var ids = new List<string>();
        for (var offset = 0; ; offset += 200)
        {
            var page = await cluster.Root.GetAsync($"/api/v1/orgs/{orgId}/roles?limit=200&offset={offset}");
            page.StatusCode.ShouldBe(200, page.Text);
            var found = page.Data.EnumerateArray().Where(r => r.GetProperty("name").GetString()!.StartsWith("event", StringComparison.Ordinal))
                .Select(r => r.GetProperty("id").GetString()!).ToList();
            ids.AddRange(found);
            if (!page.Body.GetProperty("meta").GetProperty("pagination").GetProperty("hasMore").GetBoolean())
            {
                return ids;
            }
        }
    }

    // ---------------------------------------------------------------- idempotency takeover

    [Fact]
    public async Task An_idempotency_key_left_in_progress_by_a_dead_node_is_taken_over_and_then_replayed()
    {
        RequireCluster();
        var orgId = await CreateOrgAsync();
        var (keyId, key) = await CreateKeyAsync(orgId, new { name = "writer", permissions = new[] { "roles:write", "roles:read" } });
        var client = cluster.Client(key);
        var path = $"/api/v1/orgs/{orgId}/roles";
        var body = """{"name":"taken-over","permissions":["doc:read"]}""";
        var idempotencyKey = Guid.NewGuid().ToString("N");

        // What a node killed mid-request leaves behind: the record of a request in progress, owned by
        // a node that no longer heartbeats, its lease run out. Written with the server's own scope and
        // request hash so the retry below is the same request.
        await using (var connection = new NpgsqlConnection(cluster.Database.Url))
        {
            await connection.OpenAsync();
            await using var columns = new NpgsqlCommand(
                "SELECT count(*) FROM information_schema.columns WHERE table_name = 'idempotency_records' AND column_name IN ('owner_node', 'lease_expires_at')", connection);
            ((long)(await columns.ExecuteScalarAsync())!).ShouldBe(2,
                "idempotency_records has no owner_node and lease_expires_at: this build cannot tell a dead owner's record from a live one");
            await using var insert = new NpgsqlCommand(
                "INSERT INTO idempotency_records (scope, key, request_hash, status_code, sealed_body, created_at, owner_node, lease_expires_at) " +
                "VALUES (@scope, @key, @hash, NULL, NULL, now(), 'gone-node:0', now() - interval '1 minute')", connection);
            insert.Parameters.AddWithValue("scope", $"api_key:{keyId}");
            insert.Parameters.AddWithValue("key", idempotencyKey);
            insert.Parameters.AddWithValue("hash", RequestHash("POST", path, body));
            await insert.ExecuteNonQueryAsync();
        }

        var headers = new Dictionary<string, string> { ["Idempotency-Key"] = idempotencyKey };
        var first = await client.SendRawAsync(HttpMethod.Post, path, body, headers: headers);
        first.StatusCode.ShouldBe(201, "the retry takes over the dead node's request: " + first.Text);
        first.Header("Idempotent-Replayed").ShouldBeNull();
        var again = await client.SendRawAsync(HttpMethod.Post, path, body, headers: headers);
        again.StatusCode.ShouldBe(201, again.Text);
        again.Header("Idempotent-Replayed").ShouldBe("true");
        again.Str("id").ShouldBe(first.Str("id"));
        var roles = await client.GetAsync($"{path}?limit=200");
        roles.Data.EnumerateArray().Count(r => r.GetProperty("name").GetString() == "taken-over").ShouldBe(1, "executed once");
    }

    /// <summary>The server's request hash: SHA-256 over <c>"{method} {path}\n"</c> and the body bytes.</summary>
    private static string RequestHash(string method, string path, string body)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        sha.AppendData(Encoding.UTF8.GetBytes($"{method} {path}\n"));
        sha.AppendData(Encoding.UTF8.GetBytes(body));
        return Convert.ToHexStringLower(sha.GetHashAndReset());
    }

    // ---------------------------------------------------------------- migrations

    [Fact]
    public async Task Three_nodes_started_together_all_come_up_and_apply_each_migration_once()
    {
        RequireCluster();
        var root = new DirectoryInfo(AppContext.BaseDirectory);
        while (!File.Exists(Path.Combine(root.FullName, "Gatehouse.slnx")))
        {
            root = root.Parent!;
        }

        var files = Directory.GetFiles(Path.Combine(root.FullName, "src", "Gatehouse.Server", "Platform", "Storage", "Migrations", "postgres"), "*.sql");
        await using var connection = new NpgsqlConnection(cluster.Database.Url);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT version, count(*) FROM schema_migrations GROUP BY version ORDER BY version", connection);
        var applied = new List<(int Version, long Count)>();
        await using (var reader = await command.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                applied.Add((reader.GetInt32(0), reader.GetInt64(1)));
            }
        }

        ClusterFixture.Report("migrations", $"3 nodes started at once, all healthy; {applied.Count} migrations applied, each once");
        applied.Count.ShouldBe(files.Length, "every migration file applied");
        applied.ShouldAllBe(a => a.Count == 1);
        foreach (var node in Nodes)
        {
            (await node.Root.Http.GetAsync("/health/ready")).IsSuccessStatusCode.ShouldBeTrue(node.Name);
        }
    }
}
