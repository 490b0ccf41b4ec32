using BenchmarkDotNet.Attributes;
using Gatehouse.Crypto;
using Gatehouse.Server.Features.ApiKeys;
using Gatehouse.Server.Features.Users;
using Gatehouse.Server.Platform.Auth;
using Gatehouse.Server.Platform.Storage;

namespace Gatehouse.Benchmarks;

/// <summary>
/// A request authenticated by a login session that is cached: the session resolver from the token's
/// digest to the principal. Baseline: an API-key cache hit by digest, in the same run.
/// </summary>
[MemoryDiagnoser]
public class SessionValidationBenchmarks : SeededServerBenchmarks
{
    private KeyRecordCache _keys = null!;
    private SessionCredentialResolver _sessions = null!;
    private SecretDigest _keyDigest;
    private PresentedCredential _session;
    private DefaultHttpContext _httpContext = null!;

    [GlobalSetup]
    public void Setup()
    {
        StartServer();
        var hasher = App.Services.GetRequiredService<SecretHasher>();
        _keys = App.Services.GetRequiredService<KeyRecordCache>();
        _keyDigest = hasher.Digest(Keys[0]);
        _ = _keys.FindAsync(_keyDigest, CancellationToken.None).AsTask().GetAwaiter().GetResult() ?? throw new InvalidOperationException("seeded key not found");

        // A platform administrator and one session of theirs, written straight to the database.
        var token = SessionTokens.Generate();
        var now = DateTime.UtcNow;
        using (var scope = App.Services.CreateScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<GatehouseDb>();
            var userId = "usr_bench_" + Guid.NewGuid().ToString("N");
            db.Add(new User { Id = userId, Email = "bench@example.org", EmailKey = "platform/bench@example.org", Name = "Bench", CreatedAt = now, UpdatedAt = now });
            // The user first: the session row references it, and nothing tells EF the order.
            db.SaveChanges();
            db.Add(new UserSession
            {
                Id = "ses_bench_" + Guid.NewGuid().ToString("N"),
                UserId = userId,
                Hash = hasher.Hash(token),
                CreatedAt = now,
                LastSeenAt = now,
                ExpiresAt = now.AddHours(12),
                IdleTimeoutSeconds = 1800,
            });
            db.SaveChanges();
        }

        _sessions = App.Services.GetServices<ICredentialResolver>().OfType<SessionCredentialResolver>().Single();
        _session = new PresentedCredential(token, CredentialShape.OpaqueSecret, hasher.Digest(token));
        _httpContext = new DefaultHttpContext { RequestServices = App.Services };
        // The first validation reads the database and fills the cache; the benchmark measures hits.
        if (_sessions.ResolveAsync(_session, _httpContext, CancellationToken.None).AsTask().GetAwaiter().GetResult()?.Principal is null)
        {
            throw new InvalidOperationException("the seeded session did not validate");
        }
    }

    [Benchmark(Baseline = true)]
    public async ValueTask<bool> ApiKeyCacheHit() => await _keys.FindAsync(_keyDigest, CancellationToken.None) is not null;

    [Benchmark]
    public async ValueTask<bool> SessionCacheHit() => (await _sessions.ResolveAsync(_session, _httpContext, CancellationToken.None))?.Principal is not null;
}

/// <summary>One password hash at the server's default Argon2id cost (19 MiB, 2 passes, 1 lane).</summary>
public class PasswordHashBenchmarks
{
    private readonly PasswordHasher _hasher = new(new UsersOptions());

    [Benchmark]
    public string HashPassword() => _hasher.HashAsync("correct-horse-battery-staple-42", CancellationToken.None).GetAwaiter().GetResult();
}
