using Gatehouse.Server.Features.ApiKeys;
using Gatehouse.Server.Platform.Cluster;
using Gatehouse.Server.Platform.Http;
using Gatehouse.Server.Platform.Storage;
using Gatehouse.Server.Tests.ApiKeys;
using Microsoft.EntityFrameworkCore;

namespace Gatehouse.Server.Tests.Idempotency;

/// <summary>
/// Idempotency across nodes (decision 0016). A node that dies mid-request leaves its record in
/// progress; the tests make that state by rewriting the record of a real request (its scope and
/// request hash stay those of the request), then retry the same request over HTTP.
/// </summary>
public sealed class IdempotencyTakeoverTests
{
    private const string DeadNode = "dead-host:4242";
    private const string LivePeer = "live-peer:77";

    private static Dictionary<string, string> Key(string key) => new() { ["Idempotency-Key"] = key };

    private static readonly object Body = new { name = "once", permissions = new[] { "a:b" } };

    private static async Task<T> WithDbAsync<T>(GatehouseServer server, Func<GatehouseDb, Task<T>> work)
    {
        await using var scope = server.Services.CreateAsyncScope();
        return await work(scope.ServiceProvider.GetRequiredService<GatehouseDb>());
    }

    private static Task<IdempotencyRecord> RecordAsync(GatehouseServer server, string key) =>
        WithDbAsync(server, db => db.Set<IdempotencyRecord>().AsNoTracking().SingleAsync(r => r.Key == key));

    /// <summary>Puts the stored record back into the state a node leaves when it dies after (or before) the change committed.</summary>
    private static Task<int> MakeInProgressAsync(GatehouseServer server, string key, string owner, DateTime leaseExpiresAt, bool committed) =>
        WithDbAsync(server, db => db.Set<IdempotencyRecord>().Where(r => r.Key == key).ExecuteUpdateAsync(s => s
            .SetProperty(r => r.StatusCode, (int?)null).SetProperty(r => r.SealedBody, (byte[]?)null)
            .SetProperty(r => r.OwnerNode, owner).SetProperty(r => r.LeaseExpiresAt, leaseExpiresAt).SetProperty(r => r.Committed, committed)));

    private static Task<int> BeatAsync(GatehouseServer server, string node, DateTime at) =>
        WithDbAsync(server, async db =>
        {
            await db.Set<ClusterNodeRecord>().Where(n => n.Id == node).ExecuteDeleteAsync();
            db.Add(new ClusterNodeRecord { Id = node, Host = "live-peer", Version = "test", StartedAt = at, LastSeenAt = at });
            return await db.SaveChangesAsync();
        });

    private static async Task<int> KeyCountAsync(GatehouseServer server, string orgId) =>
        (await server.Root.GetAsync($"/api/v1/orgs/{orgId}/api-keys")).Data.GetArrayLength();

    [Fact]
    public async Task A_completed_request_stores_its_response_with_the_committed_mark_and_replays_it()
    {
        await using var server = await GatehouseServer.StartAsync();
        var orgId = await server.CreateOrgAsync();
        var key = Guid.NewGuid().ToString();

        var first = await server.Root.PostAsync($"/api/v1/orgs/{orgId}/api-keys", Body, Key(key));
        var record = await RecordAsync(server, key);
        var replay = await server.Root.PostAsync($"/api/v1/orgs/{orgId}/api-keys", Body, Key(key));

        first.StatusCode.ShouldBe(201, first.Text);
        record.Committed.ShouldBeTrue();
        record.StatusCode.ShouldBe(201);
        record.SealedBody.ShouldNotBeNull();
        record.OwnerNode.ShouldBe(ClusterNode.Id);
        replay.Header("Idempotent-Replayed").ShouldBe("true");
        replay.Text.ShouldBe(first.Text);
        (await KeyCountAsync(server, orgId)).ShouldBe(1);
    }

    [Fact]
    public async Task An_in_progress_request_of_a_dead_node_is_taken_over_and_then_replayed()
    {
        await using var server = await GatehouseServer.StartAsync();
        var orgId = await server.CreateOrgAsync();
        var key = Guid.NewGuid().ToString();
        (await server.Root.PostAsync($"/api/v1/orgs/{orgId}/api-keys", Body, Key(key))).StatusCode.ShouldBe(201);
        // The dead node never wrote a heartbeat row here, and its lease has an hour left: only its death frees the key.
        (await MakeInProgressAsync(server, key, DeadNode, DateTime.UtcNow.AddHours(1), committed: false)).ShouldBe(1);

        var retry = await server.Root.PostAsync($"/api/v1/orgs/{orgId}/api-keys", Body, Key(key));
        var again = await server.Root.PostAsync($"/api/v1/orgs/{orgId}/api-keys", Body, Key(key));

        retry.StatusCode.ShouldBe(201, retry.Text);
        retry.Header("Idempotent-Replayed").ShouldBeNull();
        again.Header("Idempotent-Replayed").ShouldBe("true");
        again.Text.ShouldBe(retry.Text);
        (await KeyCountAsync(server, orgId)).ShouldBe(2);
        (await RecordAsync(server, key)).OwnerNode.ShouldBe(ClusterNode.Id);
        server.Logs.All.ShouldContain("taken over from node dead-host:4242");
    }

    [Fact]
    public async Task A_live_owner_is_not_taken_over_until_its_lease_has_passed()
    {
        var clock = new FakeClock();
        await using var server = await GatehouseServer.StartAsync(new ServerOptions { Clock = clock });
        var lease = server.Services.GetRequiredService<IdempotencyFilter>().Lease;
        var orgId = await server.CreateOrgAsync();
        var key = Guid.NewGuid().ToString();
        (await server.Root.PostAsync($"/api/v1/orgs/{orgId}/api-keys", Body, Key(key))).StatusCode.ShouldBe(201);
        var started = clock.GetUtcNow().UtcDateTime;
        await BeatAsync(server, LivePeer, started);
        (await MakeInProgressAsync(server, key, LivePeer, started + lease, committed: false)).ShouldBe(1);

        var whileRunning = await server.Root.PostAsync($"/api/v1/orgs/{orgId}/api-keys", Body, Key(key));
        clock.Set(started + lease);
        await BeatAsync(server, LivePeer, started + lease);
        var atLeaseEnd = await server.Root.PostAsync($"/api/v1/orgs/{orgId}/api-keys", Body, Key(key));
        clock.Advance(TimeSpan.FromSeconds(1));
        await BeatAsync(server, LivePeer, clock.GetUtcNow().UtcDateTime);
        var afterLease = await server.Root.PostAsync($"/api/v1/orgs/{orgId}/api-keys", Body, Key(key));

        whileRunning.StatusCode.ShouldBe(409, whileRunning.Text);
        whileRunning.ErrorCode.ShouldBe("CONFLICT");
        whileRunning.Body.GetProperty("error").GetProperty("details").GetProperty("reason").GetString().ShouldBe("in_progress");
        atLeaseEnd.StatusCode.ShouldBe(409, atLeaseEnd.Text);
        afterLease.StatusCode.ShouldBe(201, afterLease.Text);
        afterLease.Header("Idempotent-Replayed").ShouldBeNull();
        (await KeyCountAsync(server, orgId)).ShouldBe(2);
    }

    [Fact]
    public async Task The_lease_outlasts_the_request_timeout_so_a_running_request_is_never_taken_over()
    {
        await using var server = await GatehouseServer.StartAsync(new ServerOptions
        {
            Settings = new Dictionary<string, string?> { ["Gatehouse:RequestTimeoutSeconds"] = "7" },
        });

        server.Services.GetRequiredService<IdempotencyFilter>().Lease.ShouldBeGreaterThanOrEqualTo(TimeSpan.FromSeconds(14));
    }

    [Fact]
    public async Task A_committed_request_whose_response_was_lost_is_409_and_never_runs_again()
    {
        await using var server = await GatehouseServer.StartAsync();
        var orgId = await server.CreateOrgAsync();
        var key = Guid.NewGuid().ToString();
        (await server.Root.PostAsync($"/api/v1/orgs/{orgId}/api-keys", Body, Key(key))).StatusCode.ShouldBe(201);
        // The owner committed the change (and the mark with it), then died before storing the response.
        (await MakeInProgressAsync(server, key, DeadNode, DateTime.UtcNow.AddSeconds(-1), committed: true)).ShouldBe(1);

        var retry = await server.Root.PostAsync($"/api/v1/orgs/{orgId}/api-keys", Body, Key(key));

        retry.StatusCode.ShouldBe(409, retry.Text);
        retry.ErrorCode.ShouldBe("CONFLICT");
        retry.Body.GetProperty("error").GetProperty("details").GetProperty("reason").GetString().ShouldBe("response_lost");
        retry.Body.GetProperty("error").GetProperty("message").GetString()!.ShouldContain("response was lost");
        (await KeyCountAsync(server, orgId)).ShouldBe(1);
        (await RecordAsync(server, key)).OwnerNode.ShouldBe(DeadNode);
    }

    [Fact]
    public async Task A_retry_with_another_body_is_409_even_when_the_owner_is_dead()
    {
        await using var server = await GatehouseServer.StartAsync();
        var orgId = await server.CreateOrgAsync();
        var key = Guid.NewGuid().ToString();
        (await server.Root.PostAsync($"/api/v1/orgs/{orgId}/api-keys", Body, Key(key))).StatusCode.ShouldBe(201);
        (await MakeInProgressAsync(server, key, DeadNode, DateTime.UtcNow.AddSeconds(-1), committed: false)).ShouldBe(1);

        var other = await server.Root.PostAsync($"/api/v1/orgs/{orgId}/api-keys", new { name = "other", permissions = new[] { "a:b" } }, Key(key));

        other.StatusCode.ShouldBe(409, other.Text);
        other.Body.GetProperty("error").GetProperty("details").GetProperty("reason").GetString().ShouldBe("request_mismatch");
        (await KeyCountAsync(server, orgId)).ShouldBe(1);
    }

    private static Task<long?> CreditsAsync(GatehouseServer server, string keyId) =>
        WithDbAsync(server, db => db.Set<ApiKey>().AsNoTracking().Where(k => k.Id == keyId).Select(k => k.Remaining).SingleAsync());

    [Fact]
    public async Task A_verify_that_spent_a_credit_and_lost_its_response_is_409_and_never_spends_again()
    {
        await using var server = await GatehouseServer.StartAsync();
        var orgId = await server.CreateOrgAsync();
        var (keyId, apiKey) = await server.CreateKeyAsync(orgId, new { name = "metered", permissions = new[] { "a:b" }, remaining = 5 });
        var key = Guid.NewGuid().ToString();

        var first = await server.Root.PostAsync("/api/v1/keys/verify", new { key = apiKey }, Key(key));
        var record = await RecordAsync(server, key);
        // The spend and the committed mark are one transaction: the owner died after it, before storing the answer.
        (await MakeInProgressAsync(server, key, DeadNode, DateTime.UtcNow.AddSeconds(-1), committed: record.Committed)).ShouldBe(1);
        var retry = await server.Root.PostAsync("/api/v1/keys/verify", new { key = apiKey }, Key(key));

        first.StatusCode.ShouldBe(200, first.Text);
        first.Data.GetProperty("remaining").GetInt64().ShouldBe(4);
        record.Committed.ShouldBeTrue();
        retry.StatusCode.ShouldBe(409, retry.Text);
        retry.Body.GetProperty("error").GetProperty("details").GetProperty("reason").GetString().ShouldBe("response_lost");
        (await CreditsAsync(server, keyId)).ShouldBe(4);
    }

    [Fact]
    public async Task A_verify_whose_owner_died_before_spending_runs_once_more_and_is_then_replayed()
    {
        await using var server = await GatehouseServer.StartAsync();
        var orgId = await server.CreateOrgAsync();
        var (keyId, apiKey) = await server.CreateKeyAsync(orgId, new { name = "metered", permissions = new[] { "a:b" }, remaining = 5 });
        var key = Guid.NewGuid().ToString();
        (await server.Root.PostAsync("/api/v1/keys/verify", new { key = apiKey }, Key(key))).StatusCode.ShouldBe(200);
        // As if the first attempt had died before its spend: the record is in progress and uncommitted, the credit given back.
        (await MakeInProgressAsync(server, key, DeadNode, DateTime.UtcNow.AddSeconds(-1), committed: false)).ShouldBe(1);
        (await WithDbAsync(server, db => db.Set<ApiKey>().Where(k => k.Id == keyId).ExecuteUpdateAsync(s => s.SetProperty(k => k.Remaining, 5L)))).ShouldBe(1);

        var retry = await server.Root.PostAsync("/api/v1/keys/verify", new { key = apiKey }, Key(key));
        var again = await server.Root.PostAsync("/api/v1/keys/verify", new { key = apiKey }, Key(key));

        retry.StatusCode.ShouldBe(200, retry.Text);
        retry.Header("Idempotent-Replayed").ShouldBeNull();
        retry.Data.GetProperty("remaining").GetInt64().ShouldBe(4);
        again.Header("Idempotent-Replayed").ShouldBe("true");
        again.Text.ShouldBe(retry.Text);
        (await CreditsAsync(server, keyId)).ShouldBe(4);
        (await RecordAsync(server, key)).Committed.ShouldBeTrue();
    }

    [Fact]
    public async Task A_verify_refused_for_want_of_credits_commits_nothing_and_its_answer_is_replayed()
    {
        await using var server = await GatehouseServer.StartAsync();
        var orgId = await server.CreateOrgAsync();
        var (keyId, apiKey) = await server.CreateKeyAsync(orgId, new { name = "empty", permissions = new[] { "a:b" }, remaining = 0 });
        var key = Guid.NewGuid().ToString();

        var first = await server.Root.PostAsync("/api/v1/keys/verify", new { key = apiKey }, Key(key));
        var replay = await server.Root.PostAsync("/api/v1/keys/verify", new { key = apiKey }, Key(key));

        first.StatusCode.ShouldBe(200, first.Text);
        first.Data.GetProperty("code").GetString().ShouldBe("USAGE_EXCEEDED");
        (await RecordAsync(server, key)).Committed.ShouldBeFalse();
        replay.Header("Idempotent-Replayed").ShouldBe("true");
        replay.Text.ShouldBe(first.Text);
        (await CreditsAsync(server, keyId)).ShouldBe(0);
    }
}
