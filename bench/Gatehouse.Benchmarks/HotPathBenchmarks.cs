using BenchmarkDotNet.Attributes;
using Gatehouse.Crypto;
using Gatehouse.Server.Platform.Auth;
using Gatehouse.Server.Platform.RateLimiting;

namespace Gatehouse.Benchmarks;

/// <summary>Key format check: the filter that keeps garbage away from storage. Baseline: a plain prefix check.</summary>
[MemoryDiagnoser]
public class KeyFormatBenchmarks
{
    private readonly string _valid = ApiKeyFormat.Generate("gk");
    private readonly string _badChecksum = ApiKeyFormat.Generate("gk")[..^1] + "x";

    [Benchmark(Baseline = true)]
    public bool PrefixOnly() => _valid.StartsWith("gk_", StringComparison.Ordinal);

    [Benchmark]
    public bool WellFormedKey() => ApiKeyFormat.IsWellFormed(_valid);

    [Benchmark]
    public bool BadChecksum() => ApiKeyFormat.IsWellFormed(_badChecksum);
}

/// <summary>Hashing a presented key. Baseline: plain SHA-256 of the same bytes.</summary>
[MemoryDiagnoser]
public class KeyHashBenchmarks
{
    private readonly SecretHasher _hasher = new(new byte[32]);
    private readonly string _key = ApiKeyFormat.Generate("gk");
    private readonly byte[] _digest = new byte[32];

    [Benchmark(Baseline = true)]
    public byte[] Sha256() => System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(_key));

    [Benchmark]
    public void HmacInto() => _hasher.HashInto(_key, _digest);

    [Benchmark]
    public string HmacHex() => _hasher.Hash(_key);
}

/// <summary>Permission matching with wildcards. Baseline: exact set membership.</summary>
[MemoryDiagnoser]
public class PermissionMatchBenchmarks
{
    private readonly HashSet<string> _exact = ["api_keys:read", "billing.invoices.read", "orgs:read"];
    private readonly string[] _granted = ["api_keys:read", "billing.*", "orgs:read", "read"];

    [Benchmark(Baseline = true)]
    public bool ExactLookup() => _exact.Contains("billing.invoices.read");

    [Benchmark]
    public bool WildcardGrant() => Permission.Grants(_granted, "billing.invoices.read");

    [Benchmark]
    public bool ShorthandGrant() => Permission.Grants(_granted, "credentials:read");
}

/// <summary>One rate-limit decision over three windows. Baseline: one interlocked increment.</summary>
[MemoryDiagnoser]
public class RateLimitBenchmarks
{
    private static readonly RateLimitRule[] Rules =
    [
        new("minute", 1_000_000_000, TimeSpan.FromMinutes(1)),
        new("burst", 1_000_000_000, TimeSpan.FromMinutes(5)),
        new("day", 1_000_000_000, TimeSpan.FromDays(1)),
    ];

    private readonly RateLimiter _limiter = new(new InMemoryCounterStore(), TimeProvider.System);
    private long _counter;

    [Benchmark(Baseline = true)]
    public long Interlocked() => System.Threading.Interlocked.Increment(ref _counter);

    [Benchmark]
    public async Task<bool> ThreeWindowDecision() => (await _limiter.TryConsumeAsync("key:bench", Rules)).Allowed;
}
