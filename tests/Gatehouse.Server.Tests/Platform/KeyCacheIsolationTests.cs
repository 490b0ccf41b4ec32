using Gatehouse.Crypto;
using Gatehouse.Server.Features.ApiKeys;
using Gatehouse.Server.Tests.ApiKeys;

namespace Gatehouse.Server.Tests.Platform;

/// <summary>
/// Unknown keys are remembered within a bound per organization (and one for anonymous callers):
/// one tenant's garbage pushes out only its own earlier garbage, never another tenant's keys.
/// </summary>
public sealed class KeyCacheIsolationTests
{
    private const string Hits = "gatehouse_key_cache_lookups_total{result=\"hit\"}";
    private const string Misses = "gatehouse_key_cache_lookups_total{result=\"miss\"}";

    [Fact]
    public async Task Garbage_from_one_organization_or_from_anonymous_callers_does_not_evict_another_organizations_key()
    {
        // Small bounds, so that a few hundred requests overflow them: 20 unknown hashes per owner, 50 in all, 100 known keys.
        await using var server = await GatehouseServer.StartAsync(new ServerOptions
        {
            Services = services => services.AddSingleton(new KeyCacheLimits(MaxEntries: 100, MaxUnknownPerOwner: 20, MaxUnknown: 50)),
        });
        var orgA = await server.CreateOrgAsync();
        var orgB = await server.CreateOrgAsync();
        var verifierA = await server.OrgClientAsync(orgA, "api_keys:verify");
        var verifierB = await server.OrgClientAsync(orgB, "api_keys:verify");
        var (_, keyB) = await server.CreateKeyAsync(orgB, new { name = "hot", permissions = new[] { "p" } });
        var guessB = ApiKeyFormat.Generate("gk");
        (await verifierB.VerifyAsync(new { key = keyB })).Code().ShouldBe("VALID");
        (await verifierB.VerifyAsync(new { key = guessB })).Code().ShouldBe("NOT_FOUND");
        await ShouldHitAsync(server, () => verifierB.VerifyAsync(new { key = keyB }), "VALID");

        var garbageA = new List<string>();
        for (var i = 0; i < 300; i++)
        {
            garbageA.Add(ApiKeyFormat.Generate("gk"));
            (await verifierA.VerifyAsync(new { key = garbageA[^1] })).Code().ShouldBe("NOT_FOUND");
        }

        for (var i = 0; i < 100; i++)
        {
            (await server.CreateClient(ApiKeyFormat.Generate("gk")).GetAsync($"/api/v1/orgs/{orgB}")).StatusCode.ShouldBe(401);
        }

        // B's key and B's remembered guess are still answered from memory.
        await ShouldHitAsync(server, () => verifierB.VerifyAsync(new { key = keyB }), "VALID");
        await ShouldHitAsync(server, () => verifierB.VerifyAsync(new { key = guessB }), "NOT_FOUND");
        // A's latest guesses are remembered too; its oldest gave way to its own newer ones.
        await ShouldHitAsync(server, () => verifierA.VerifyAsync(new { key = garbageA[^1] }), "NOT_FOUND");
        var before = await MetricsScrape.ReadAsync(server, Misses);
        (await verifierA.VerifyAsync(new { key = garbageA[0] })).Code().ShouldBe("NOT_FOUND");
        (await MetricsScrape.ReadAsync(server, Misses))[0].ShouldBe(before[0] + 1);
    }

    private static async Task ShouldHitAsync(GatehouseServer server, Func<Task<ApiResponse>> verify, string code)
    {
        var before = await MetricsScrape.ReadAsync(server, Hits, Misses);
        (await verify()).Code().ShouldBe(code);
        var after = await MetricsScrape.ReadAsync(server, Hits, Misses);
        // The caller's own key is looked up too (a hit): what matters is that nothing read the database.
        after[0].ShouldBeGreaterThanOrEqualTo(before[0] + 2, "hits");
        after[1].ShouldBe(before[1], "no miss");
    }
}
