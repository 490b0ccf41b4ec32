using System.Data.Common;
using Gatehouse.Server.Features.ApiKeys;
using Gatehouse.Server.Platform.Storage;
using Microsoft.EntityFrameworkCore.Diagnostics;

namespace Gatehouse.Server.Tests.ApiKeys;

/// <summary>Garbage never reaches storage; a cached key without credits is verified without a database round trip.</summary>
public sealed class VerifyHotPathTests
{
    [Fact]
    public async Task Malformed_keys_never_reach_the_cache_or_the_database()
    {
        var lookups = new KeyLookupCounter();
        await using var server = await StartAsync(lookups);
        var cache = server.Services.GetRequiredService<KeyRecordCache>();
        var before = cache.Count;
        var lookupsBefore = lookups.Count;

        for (var i = 0; i < 30; i++)
        {
            (await server.Root.VerifyAsync(new { key = $"gk_{Guid.NewGuid():N}" })).Code().ShouldBe("NOT_FOUND");
        }

        cache.Count.ShouldBe(before);
        lookups.Count.ShouldBe(lookupsBefore);
    }

    [Fact]
    public async Task A_cached_key_without_credits_is_verified_without_touching_the_database()
    {
        var lookups = new KeyLookupCounter();
        await using var server = await StartAsync(lookups);
        var orgId = await server.CreateOrgAsync();
        var (_, key) = await server.CreateKeyAsync(orgId, new { name = "k", permissions = new[] { "p" } });
        (await server.Root.VerifyAsync(new { key })).Code().ShouldBe("VALID");
        var warm = lookups.Count;

        for (var i = 0; i < 20; i++)
        {
            (await server.Root.VerifyAsync(new { key, permissions = "p" })).Code().ShouldBe("VALID");
        }

        lookups.Count.ShouldBe(warm);
    }

    [Fact]
    public async Task An_unknown_well_formed_key_is_looked_up_once_then_answered_from_the_cache()
    {
        var lookups = new KeyLookupCounter();
        await using var server = await StartAsync(lookups);
        var guess = Gatehouse.Crypto.ApiKeyFormat.Generate("gk");
        var before = lookups.Count;

        for (var i = 0; i < 5; i++)
        {
            (await server.Root.VerifyAsync(new { key = guess })).Code().ShouldBe("NOT_FOUND");
        }

        lookups.Count.ShouldBe(before + 1);
    }

    [Fact]
    public async Task Metrics_count_each_lookup_as_a_hit_or_a_miss()
    {
        var lookups = new KeyLookupCounter();
        await using var server = await StartAsync(lookups);
        var orgId = await server.CreateOrgAsync();
        var (_, key) = await server.CreateKeyAsync(orgId, new { name = "k", permissions = Array.Empty<string>() });
        var before = await CacheFiguresAsync(server);
        var lookupsBefore = lookups.Count;

        for (var i = 0; i < 3; i++)
        {
            (await server.Root.VerifyAsync(new { key })).Code().ShouldBe("VALID");
        }

        var after = await CacheFiguresAsync(server);
        (after.Misses - before.Misses).ShouldBe(lookups.Count - lookupsBefore);
        (after.Misses - before.Misses).ShouldBe(1);
        (after.Hits - before.Hits).ShouldBe(2);
        after.Entries.ShouldBe(before.Entries + 1);
    }

    [Fact]
    public async Task Cached_records_of_one_organization_share_its_id_and_carry_what_was_stored()
    {
        await using var server = await StartAsync(new KeyLookupCounter());
        var orgId = await server.CreateOrgAsync();
        var (firstId, first) = await server.CreateKeyAsync(orgId, new { name = "plain", permissions = Array.Empty<string>() });
        var (secondId, second) = await server.CreateKeyAsync(orgId, new
        {
            name = "full",
            ownerId = "user_1",
            permissions = new[] { "documents.read" },
            meta = new { plan = "pro" },
            remaining = 5,
            ratelimits = new[] { new { name = "requests", limit = 10, durationMs = 60_000 } },
            ipAllowlist = new[] { "10.0.0.0/8" },
        });
        var cache = server.Services.GetRequiredService<KeyRecordCache>();
        var hasher = server.Services.GetRequiredService<Gatehouse.Crypto.SecretHasher>();

        var plain = (await cache.FindAsync(hasher.Digest(first), CancellationToken.None)).ShouldNotBeNull();
        var full = (await cache.FindAsync(hasher.Digest(second), CancellationToken.None)).ShouldNotBeNull();

        plain.Id.ShouldBe(firstId);
        full.Id.ShouldBe(secondId);
        ReferenceEquals(plain.OrgId, full.OrgId).ShouldBeTrue();
        plain.OrgId.ShouldBe(orgId);
        plain.EffectivePermissions.ShouldBeEmpty();
        full.Name.ShouldBe("full");
        full.OwnerId.ShouldBe("user_1");
        full.Permissions.ShouldBe(["documents.read"]);
        full.EffectivePermissions.ShouldBe(["documents.read"]);
        full.Meta.ShouldNotBeNull()["plan"].GetString().ShouldBe("pro");
        full.Remaining.ShouldBe(5);
        full.RateLimits.ShouldHaveSingleItem().Name.ShouldBe("requests");
        full.IpAllowlist.ShouldHaveSingleItem().ToString().ShouldBe("10.0.0.0/8");
        full.Enabled.ShouldBeTrue();
    }

    private static async Task<(long Hits, long Misses, long Entries)> CacheFiguresAsync(GatehouseServer server)
    {
        var values = await MetricsScrape.ReadAsync(server, "gatehouse_key_cache_lookups_total{result=\"hit\"}", "gatehouse_key_cache_lookups_total{result=\"miss\"}", "gatehouse_key_cache_entries");
        return (values[0], values[1], values[2]);
    }

    private static Task<GatehouseServer> StartAsync(KeyLookupCounter counter) =>
        GatehouseServer.StartAsync(new ServerOptions { Services = s => s.ConfigureDbContext<GatehouseDb>(o => o.AddInterceptors(counter)) });

    /// <summary>Counts the database lookups of a key by its hash: what verify and authentication issue on a cache miss.</summary>
    private sealed class KeyLookupCounter : DbCommandInterceptor
    {
        private int _count;

        public int Count => Volatile.Read(ref _count);

        public override ValueTask<InterceptionResult<DbDataReader>> ReaderExecutingAsync(
            DbCommand command, CommandEventData eventData, InterceptionResult<DbDataReader> result, CancellationToken cancellationToken = default)
        {
            // SQLite quotes identifiers ("a"."hash"); Npgsql leaves lower-case ones bare (a.hash).
            var text = command.CommandText.Replace("\"", "", StringComparison.Ordinal);
            if (text.Contains("api_keys", StringComparison.Ordinal) && text.Contains(".hash = ", StringComparison.Ordinal))
            {
                Interlocked.Increment(ref _count);
            }

            return base.ReaderExecutingAsync(command, eventData, result, cancellationToken);
        }
    }
}
