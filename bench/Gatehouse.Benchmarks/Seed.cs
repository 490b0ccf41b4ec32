using System.Diagnostics;
using Gatehouse.Contracts.Orgs;
using Gatehouse.Crypto;
using Gatehouse.Server.Features.ApiKeys;
using Gatehouse.Server.Platform;
using Gatehouse.Server.Platform.Auth;
using Gatehouse.Server.Platform.Hosting;
using Gatehouse.Server.Platform.Storage;
using Gatehouse.Server.Platform.Tenancy;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging.Abstractions;

namespace Gatehouse.Benchmarks;

/// <summary>
/// Fills a fresh data dir for the load test with the server's own code (migrations, pepper, entity
/// mapping): one organization, <c>count</c> plain keys, 1 000 keys with usage credits, one caller key.
/// Rows are written directly (no API, no audit events): this is a benchmark fixture, not a product path.
/// Writes keys.txt, credit-keys.txt, invalid-keys.txt, ids.txt and caller.txt into <c>out</c>.
/// </summary>
public static class Seed
{
    public static void Run(string dataDir, string masterKeyBase64, string rootKey, int count, string outDir)
    {
        var started = Stopwatch.StartNew();
        Directory.CreateDirectory(dataDir);
        Directory.CreateDirectory(outDir);
        if (!MasterKey.TryParse(masterKeyBase64, out var masterKey, out var error))
        {
            throw new ArgumentException(error);
        }

        var target = DatabaseTarget.Sqlite(dataDir);
        new SchemaMigrator(target, NullLogger<SchemaMigrator>.Instance).Migrate();
        var hasher = ServerKeys.LoadSecretHasher(target, masterKey!);
        RootKeyStore.Bootstrap(target, hasher, rootKey);

        var options = new DbContextOptionsBuilder<GatehouseDb>();
        target.Configure(options);
        var now = DateTime.UtcNow;
        var orgId = Ids.New("org");
        using (var db = new GatehouseDb(options.Options))
        {
            db.Add(new Organization
            {
                Id = orgId,
                Name = "Load test",
                Slug = "load-test-" + orgId[^6..].ToLowerInvariant(),
                Settings = new OrgSettings { RateLimits = new OrgRateLimitSettings { VerifyPerMinute = 1_000_000_000, PerMinute = 1_000_000_000, PerFiveMinutes = 1_000_000_000, PerDay = 1_000_000_000, AdminPerMinute = 1_000_000_000 } },
                CreatedAt = now,
                UpdatedAt = now,
            });
            db.SaveChanges();
        }

        var caller = Insert(options, hasher, orgId, 1, now, ["api_keys:verify", "api_keys:read"], remaining: null);
        File.WriteAllText(Path.Combine(outDir, "caller.txt"), caller[0].Key);
        var plain = Insert(options, hasher, orgId, count, now, [], remaining: null);
        File.WriteAllLines(Path.Combine(outDir, "keys.txt"), plain.Select(k => k.Key));
        File.WriteAllLines(Path.Combine(outDir, "ids.txt"), plain.Take(10_000).Select(k => $"{orgId} {k.Id}"));
        var credits = Insert(options, hasher, orgId, 1000, now, [], remaining: 1_000_000_000);
        File.WriteAllLines(Path.Combine(outDir, "credit-keys.txt"), credits.Select(k => k.Key));
        // Invalid keys look right but carry a wrong checksum: the format check must turn them away.
        File.WriteAllLines(Path.Combine(outDir, "invalid-keys.txt"), Enumerable.Range(0, 10_000).Select(_ => Corrupt(ApiKeyFormat.Generate("gk"))));
        Console.WriteLine($"seeded {count} keys + 1000 credit keys in {started.Elapsed.TotalSeconds:F1} s");
    }

    private static List<(string Id, string Key)> Insert(DbContextOptionsBuilder<GatehouseDb> options, SecretHasher hasher, string orgId, int count, DateTime now, List<string> permissions, long? remaining)
    {
        const int batch = 10_000;
        var made = new List<(string, string)>(count);
        for (var offset = 0; offset < count; offset += batch)
        {
            using var db = new GatehouseDb(options.Options);
            db.ChangeTracker.AutoDetectChangesEnabled = false;
            for (var i = offset; i < Math.Min(count, offset + batch); i++)
            {
                var secret = ApiKeyFormat.Generate("gk");
                var key = new ApiKey
                {
                    Id = Ids.New("key"),
                    OrgId = orgId,
                    Name = $"load {i}",
                    Hash = hasher.Hash(secret),
                    Start = ApiKeyFormat.Start(secret),
                    Prefix = "gk",
                    Permissions = permissions,
                    Remaining = remaining,
                    CreatedAt = now,
                    UpdatedAt = now,
                };
                db.Add(key);
                made.Add((key.Id, secret));
            }

            db.SaveChanges();
        }

        return made;
    }

    private static string Corrupt(string key)
    {
        var last = key[^1];
        var replacement = Base58.Alphabet[(Base58.Alphabet.IndexOf(last, StringComparison.Ordinal) + 1) % Base58.Alphabet.Length];
        return key[..^1] + replacement;
    }
}
