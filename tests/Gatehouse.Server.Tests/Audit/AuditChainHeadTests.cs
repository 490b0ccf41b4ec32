using System.Text.Json;
using Gatehouse.Server.Features.Audit;
using Gatehouse.Server.Platform.Http;
using Gatehouse.Server.Platform.Storage;
using Microsoft.EntityFrameworkCore;

namespace Gatehouse.Server.Tests.Audit;

/// <summary>
/// The keyed chain and its sealed head: truncation, a deleted chain, an edit with recomputed plain
/// hashes and a rewound head are all detected; chains written before keyed hashing still verify;
/// the head moves only when its events commit. Tampering is done in SQL, as an attacker with
/// write access to the database (but not the master key) would.
/// </summary>
public sealed class AuditChainHeadTests(SharedServer shared)
{
    private readonly GatehouseServer _server = shared.Server;

    [Fact]
    public async Task Deleting_the_newest_events_is_reported_as_truncated()
    {
        var (orgId, ids) = await OrgWithHistoryAsync(_server);

        await Sql(_server, "DELETE FROM audit_events WHERE id IN ({0}, {1})", ids[^1], ids[^2]);

        var result = await VerifyAsync(_server, orgId);
        result.GetProperty("valid").GetBoolean().ShouldBeFalse();
        result.GetProperty("reason").GetString().ShouldBe("truncated");
        result.GetProperty("checked").GetInt64().ShouldBe(ids.Count - 2);
        result.GetProperty("headSeq").GetInt64().ShouldBe(ids.Count);
        result.GetProperty("firstBrokenId").ValueKind.ShouldBe(JsonValueKind.Null);
    }

    [Fact]
    public async Task Deleting_every_event_of_an_organization_while_its_head_remains_is_reported_as_truncated()
    {
        var (orgId, ids) = await OrgWithHistoryAsync(_server);

        await Sql(_server, "DELETE FROM audit_events WHERE org_id = {0}", orgId);

        var result = await VerifyAsync(_server, orgId);
        result.GetProperty("valid").GetBoolean().ShouldBeFalse();
        result.GetProperty("reason").GetString().ShouldBe("truncated");
        result.GetProperty("checked").GetInt64().ShouldBe(0);
        result.GetProperty("headSeq").GetInt64().ShouldBe(ids.Count);
    }

    [Fact]
    public async Task An_edit_with_every_later_hash_and_the_head_recomputed_in_plain_SHA_256_is_detected_at_the_edited_event()
    {
        var (orgId, ids) = await OrgWithHistoryAsync(_server);

        await RewriteAsPlainSha256Async(_server, orgId, fromSeq: 2, forge: e => e.Seq == 2 ? "role.forged" : e.Action);

        var result = await VerifyAsync(_server, orgId);
        result.GetProperty("valid").GetBoolean().ShouldBeFalse();
        result.GetProperty("reason").GetString().ShouldBe("hash_mismatch");
        result.GetProperty("firstBrokenId").GetString().ShouldBe(ids[1]);
        result.GetProperty("checked").GetInt64().ShouldBe(2);
    }

    [Fact]
    public async Task A_head_rewound_to_an_earlier_event_after_a_truncation_fails_its_seal()
    {
        var (orgId, ids) = await OrgWithHistoryAsync(_server);
        string keptHash;
        using (var scope = _server.Services.CreateScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<GatehouseDb>();
            keptHash = await db.Set<AuditEvent>().Where(e => e.Id == ids[2]).Select(e => e.Hash).SingleAsync();
        }

        await Sql(_server, "DELETE FROM audit_events WHERE id IN ({0}, {1})", ids[3], ids[4]);
        await Sql(_server, "UPDATE audit_chain_heads SET last_seq = 3, last_hash = {1} WHERE org_id = {0}", orgId, keptHash);

        var result = await VerifyAsync(_server, orgId);
        result.GetProperty("valid").GetBoolean().ShouldBeFalse();
        result.GetProperty("reason").GetString().ShouldBe("head_mismatch");
        result.GetProperty("checked").GetInt64().ShouldBe(3);
    }

    [Fact]
    public async Task A_deleted_head_is_reported_and_the_next_write_does_not_hide_it()
    {
        var (orgId, ids) = await OrgWithHistoryAsync(_server);

        await Sql(_server, "DELETE FROM audit_events WHERE id = {0}", ids[^1]);
        await Sql(_server, "DELETE FROM audit_chain_heads WHERE org_id = {0}", orgId);
        var missing = await VerifyAsync(_server, orgId);
        (await _server.Root.PostAsync($"/api/v1/orgs/{orgId}/roles", new { name = "after", permissions = new[] { "a:b" } })).StatusCode.ShouldBe(201);
        var afterWrite = await VerifyAsync(_server, orgId);

        missing.GetProperty("valid").GetBoolean().ShouldBeFalse();
        missing.GetProperty("reason").GetString().ShouldBe("head_missing");
        afterWrite.GetProperty("valid").GetBoolean().ShouldBeFalse();
        afterWrite.GetProperty("reason").GetString().ShouldBe("head_missing");
        afterWrite.GetProperty("checked").GetInt64().ShouldBe(ids.Count);
    }

    [Fact]
    public async Task A_deleted_organization_keeps_its_chain_and_head_and_root_verifies_it()
    {
        var (orgId, ids) = await OrgWithHistoryAsync(_server);

        (await _server.Root.DeleteAsync($"/api/v1/orgs/{orgId}")).StatusCode.ShouldBe(200);

        var response = await _server.Root.GetAsync($"/api/v1/admin/audit-logs/verify?orgId={orgId}");
        response.StatusCode.ShouldBe(200, response.Text);
        response.Data.GetProperty("valid").GetBoolean().ShouldBeTrue(response.Text);
        response.Data.GetProperty("checked").GetInt64().ShouldBe(ids.Count + 1);
        response.Data.GetProperty("headSeq").GetInt64().ShouldBe(ids.Count + 1);
        response.Data.GetProperty("reason").ValueKind.ShouldBe(JsonValueKind.Null);
    }

    [Fact]
    public async Task A_failed_commit_leaves_the_head_where_it_was_and_the_chain_goes_on_from_there()
    {
        var store = new FailingAuditStore();
        await using var server = await GatehouseServer.StartAsync(new ServerOptions { Services = s => s.AddSingleton<IChangeSetParticipant>(store) });
        var (orgId, ids) = await OrgWithHistoryAsync(server);
        var before = await HeadAsync(server, orgId);
        store.Failing = true;

        (await server.Root.PostAsync($"/api/v1/orgs/{orgId}/roles", new { name = "never", permissions = new[] { "a:b" } })).StatusCode.ShouldBe(503);

        var after = await HeadAsync(server, orgId);
        (after.LastSeq, after.LastHash, after.Seal).ShouldBe((before.LastSeq, before.LastHash, before.Seal));
        before.LastSeq.ShouldBe(ids.Count);
        store.Failing = false;
        (await server.Root.PostAsync($"/api/v1/orgs/{orgId}/roles", new { name = "later", permissions = new[] { "a:b" } })).StatusCode.ShouldBe(201);
        var result = await VerifyAsync(server, orgId);
        result.GetProperty("valid").GetBoolean().ShouldBeTrue(result.ToString());
        result.GetProperty("checked").GetInt64().ShouldBe(ids.Count + 1);
        (await HeadAsync(server, orgId)).LastSeq.ShouldBe(ids.Count + 1);
    }

    [Fact]
    public async Task Truncating_the_platform_chain_is_detected_by_the_admin_route()
    {
        await using var server = await GatehouseServer.StartAsync();
        await server.CreateClient("gk_notavalidkey").GetAsync("/api/v1/orgs");
        (await server.Root.GetAsync("/api/v1/admin/audit-logs/verify")).Data.GetProperty("valid").GetBoolean().ShouldBeTrue();

        await Sql(server, "DELETE FROM audit_events WHERE org_id = 'platform' AND seq = (SELECT MAX(seq) FROM audit_events WHERE org_id = 'platform')");

        var result = (await server.Root.GetAsync("/api/v1/admin/audit-logs/verify")).Data;
        result.GetProperty("valid").GetBoolean().ShouldBeFalse();
        result.GetProperty("reason").GetString().ShouldBe("truncated");
    }

    [Fact]
    public async Task Chains_written_before_keyed_hashing_still_verify_and_an_edit_of_them_is_still_detected()
    {
        await using var database = await TestDatabase.CreateAsync();
        var dataDir = Path.Combine(Path.GetTempPath(), "gatehouse-tests", "legacy-" + Guid.NewGuid().ToString("N"));
        string orgId;
        List<string> ids;
        await using (var old = await GatehouseServer.StartAsync(new ServerOptions { DataDir = dataDir }, database))
        {
            (orgId, ids) = await OrgWithHistoryAsync(old);

            // The database as the previous version left it: plain SHA-256 events, no heads, no audit key, 0006 not applied.
            await RewriteAsPlainSha256Async(old, orgId, fromSeq: 1, forge: e => e.Action);
            await Sql(old, "DROP TABLE audit_chain_heads");
            await Sql(old, "DELETE FROM schema_migrations WHERE version = 6");
            await Sql(old, "DELETE FROM server_secrets WHERE name = 'audit_chain_key'");
        }

        await using (var upgraded = await GatehouseServer.StartAsync(new ServerOptions { DataDir = dataDir }, database))
        {
            var legacy = await VerifyAsync(upgraded, orgId);
            legacy.GetProperty("valid").GetBoolean().ShouldBeTrue(legacy.ToString());
            legacy.GetProperty("checked").GetInt64().ShouldBe(ids.Count);

            (await upgraded.Root.PostAsync($"/api/v1/orgs/{orgId}/roles", new { name = "keyed", permissions = new[] { "a:b" } })).StatusCode.ShouldBe(201);
            var mixed = await VerifyAsync(upgraded, orgId);
            mixed.GetProperty("valid").GetBoolean().ShouldBeTrue(mixed.ToString());
            mixed.GetProperty("checked").GetInt64().ShouldBe(ids.Count + 1);

            // A legacy event edited with its plain hashes recomputed: the first keyed event's link no longer holds.
            await RewriteAsPlainSha256Async(upgraded, orgId, fromSeq: 2, toSeq: ids.Count, forge: e => e.Seq == 2 ? "role.forged" : e.Action);
            var forged = await VerifyAsync(upgraded, orgId);
            forged.GetProperty("valid").GetBoolean().ShouldBeFalse();
            forged.GetProperty("reason").GetString().ShouldBe("broken_link");
            forged.GetProperty("checked").GetInt64().ShouldBe(ids.Count + 1);
        }

        // A restart does not create a new key over sealed heads, and the chain still verifies with the kept one.
        await using var again = await GatehouseServer.StartAsync(new ServerOptions { DataDir = dataDir }, database);
        (await VerifyAsync(again, orgId)).GetProperty("reason").GetString().ShouldBe("broken_link");
    }

    private static async Task<(string OrgId, List<string> EventIds)> OrgWithHistoryAsync(GatehouseServer server)
    {
        var orgId = await server.CreateOrgAsync();
        for (var i = 0; i < 4; i++)
        {
            (await server.Root.PostAsync($"/api/v1/orgs/{orgId}/roles", new { name = $"role{i}", permissions = new[] { "a:b" } })).StatusCode.ShouldBe(201);
        }

        var events = await server.Root.GetAsync($"/api/v1/orgs/{orgId}/audit-logs?limit=100");
        return (orgId, [.. events.Data.EnumerateArray().OrderBy(e => e.GetProperty("seq").GetInt64()).Select(e => e.GetProperty("id").GetString()!)]);
    }

    /// <summary>What an attacker without the key can do: rewrite events from <paramref name="fromSeq"/> with plain SHA-256 hashes and links, and move the head to match.</summary>
    private static async Task RewriteAsPlainSha256Async(GatehouseServer server, string orgId, long fromSeq, Func<AuditEvent, string> forge, long toSeq = long.MaxValue)
    {
        using var scope = server.Services.CreateScope();
        var db = scope.ServiceProvider.GetRequiredService<GatehouseDb>();
        var events = await db.Set<AuditEvent>().AsNoTracking().Where(e => e.OrgId == orgId).OrderBy(e => e.Seq).ToListAsync();
        var prevHash = "";
        foreach (var e in events)
        {
            if (e.Seq >= fromSeq && e.Seq <= toSeq)
            {
                var forged = new AuditEvent
                {
                    Id = e.Id,
                    OrgId = e.OrgId,
                    Seq = e.Seq,
                    Action = forge(e),
                    ActorType = e.ActorType,
                    ActorId = e.ActorId,
                    TargetType = e.TargetType,
                    TargetId = e.TargetId,
                    Ip = e.Ip,
                    UserAgent = e.UserAgent,
                    RequestId = e.RequestId,
                    OccurredAt = e.OccurredAt,
                    Changes = e.Changes,
                    PrevHash = prevHash,
                };
                forged.Hash = AuditChain.LegacyHash(forged);
                await db.Database.ExecuteSqlRawAsync("UPDATE audit_events SET action = {1}, prev_hash = {2}, hash = {3} WHERE id = {0}", e.Id, forged.Action, forged.PrevHash, forged.Hash);
                prevHash = forged.Hash;
            }
            else
            {
                prevHash = e.Hash;
            }
        }

        if (toSeq == long.MaxValue)
        {
            await db.Database.ExecuteSqlRawAsync("UPDATE audit_chain_heads SET last_hash = {1} WHERE org_id = {0}", orgId, prevHash);
        }
    }

    private static async Task<AuditChainHead> HeadAsync(GatehouseServer server, string orgId)
    {
        using var scope = server.Services.CreateScope();
        var db = scope.ServiceProvider.GetRequiredService<GatehouseDb>();
        return await db.Set<AuditChainHead>().AsNoTracking().SingleAsync(h => h.OrgId == orgId);
    }

    private static async Task Sql(GatehouseServer server, string sql, params object[] parameters)
    {
        using var scope = server.Services.CreateScope();
        var db = scope.ServiceProvider.GetRequiredService<GatehouseDb>();
        await db.Database.ExecuteSqlRawAsync(sql, parameters);
    }

    private static async Task<JsonElement> VerifyAsync(GatehouseServer server, string orgId)
    {
        var response = await server.Root.GetAsync($"/api/v1/orgs/{orgId}/audit-logs/verify");
        response.StatusCode.ShouldBe(200, response.Text);
        return response.Data;
    }

    private sealed class FailingAuditStore : IChangeSetParticipant
    {
        public volatile bool Failing;

        public Task BeforeCommitAsync(GatehouseDb db, IReadOnlyList<RecordedAction> actions, CancellationToken cancellationToken) =>
            Failing ? throw new DatabaseUnavailableException("audit store down (test)") : Task.CompletedTask;
    }
}
