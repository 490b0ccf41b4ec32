using System.Collections.Frozen;
using BenchmarkDotNet.Attributes;
using Gatehouse.Contracts.ApiKeys;
using Gatehouse.Crypto;
using Gatehouse.Server.Features.ApiKeys;
using Gatehouse.Server.Platform.Auth;

namespace Gatehouse.Benchmarks;

/// <summary>
/// The parts of verify that need the server: the key cache and the whole decision, in process, on
/// a real server composition (<see cref="Gatehouse.Server.Program.Build"/>) over a seeded SQLite
/// data dir. The HTTP layer is what the load benchmark adds on top.
/// </summary>
public abstract class SeededServerBenchmarks : IDisposable
{
    private string? _dir;

    protected WebApplication App { get; private set; } = null!;

    /// <summary>Plain keys of the seeded organization (no credits, no limits).</summary>
    protected string[] Keys { get; private set; } = [];

    protected void StartServer()
    {
        _dir = Path.Combine(Path.GetTempPath(), "gatehouse-bench-" + Guid.NewGuid().ToString("N"));
        var master = Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));
        var root = "gkr_bench_" + Guid.NewGuid().ToString("N");
        Seed.Run(Path.Combine(_dir, "data"), master, root, 1_000, _dir);
        Keys = [.. File.ReadLines(Path.Combine(_dir, "keys.txt"))];
        App = Gatehouse.Server.Program.Build([], builder => builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Gatehouse:DataDir"] = Path.Combine(_dir, "data"),
            ["Gatehouse:MasterKey"] = master,
            ["Logging:LogLevel:Default"] = "Warning",
        }));
    }

    [GlobalCleanup]
    public void Dispose()
    {
        Dispose(disposing: true);
        GC.SuppressFinalize(this);
    }

    protected virtual void Dispose(bool disposing)
    {
        if (!disposing)
        {
            return;
        }

        (App as IDisposable)?.Dispose();
        if (_dir is not null && Directory.Exists(_dir))
        {
            Directory.Delete(_dir, recursive: true);
        }
    }
}

/// <summary>A key-cache hit, by digest. Baseline: a frozen dictionary lookup of the same digest.</summary>
[MemoryDiagnoser]
public class KeyCacheBenchmarks : SeededServerBenchmarks
{
    private KeyRecordCache _cache = null!;
    private SecretDigest _digest;
    private FrozenDictionary<SecretDigest, string> _plain = null!;

    [GlobalSetup]
    public void Setup()
    {
        StartServer();
        _cache = App.Services.GetRequiredService<KeyRecordCache>();
        var hasher = App.Services.GetRequiredService<SecretHasher>();
        _digest = hasher.Digest(Keys[0]);
        _plain = Keys.ToFrozenDictionary(k => hasher.Digest(k), k => k);
        // The first lookup reads the database and fills the cache; the benchmark measures hits.
        _ = _cache.FindAsync(_digest, CancellationToken.None).AsTask().GetAwaiter().GetResult() ?? throw new InvalidOperationException("seeded key not found");
    }

    [Benchmark(Baseline = true)]
    public bool FrozenDictionaryLookup() => _plain.ContainsKey(_digest);

    [Benchmark]
    public async ValueTask<bool> CacheHit() => await _cache.FindAsync(_digest, CancellationToken.None) is not null;
}

/// <summary>
/// The whole verify decision in process: format and checksum, HMAC, cache, every check, the usage
/// count. Baseline: what the load test's baseline server does per request (HMAC and a dictionary
/// lookup).
/// </summary>
[MemoryDiagnoser]
public class VerifyDecisionBenchmarks : SeededServerBenchmarks
{
    private static readonly Dictionary<string, long> NoCosts = [];

    private KeyVerifier _verifier = null!;
    private SecretHasher _hasher = null!;
    private FrozenDictionary<string, bool> _hashes = null!;
    private VerifyInput _valid;
    private VerifyInput _withQuery;
    private VerifyInput _badChecksum;

    [GlobalSetup]
    public void Setup()
    {
        StartServer();
        _verifier = App.Services.GetRequiredService<KeyVerifier>();
        _hasher = App.Services.GetRequiredService<SecretHasher>();
        _hashes = Keys.ToFrozenDictionary(k => _hasher.Hash(k), _ => true, StringComparer.Ordinal);
        if (!PermissionQuery.TryParse("documents.read OR (billing.read AND admin.secrets.read)", out var query, out var error))
        {
            throw new InvalidOperationException(error?.ToString());
        }

        _valid = new VerifyInput(Keys[0], null, 1, NoCosts, null);
        _withQuery = _valid with { Permissions = query };
        _badChecksum = _valid with { Key = Keys[0][..^1] + (Keys[0][^1] == 'x' ? 'y' : 'x') };
        // Fill the cache: the benchmarks measure cached keys, as the load test's (b) does.
        var first = _verifier.VerifyAsync(_valid, null, CancellationToken.None).AsTask().GetAwaiter().GetResult();
        if (first.Code != VerifyCodes.Valid)
        {
            throw new InvalidOperationException($"seeded key verified as {first.Code}");
        }
    }

    [Benchmark(Baseline = true)]
    public bool HmacAndLookup() => _hashes.ContainsKey(_hasher.Hash(_valid.Key));

    [Benchmark]
    public async ValueTask<bool> ValidKey() => (await _verifier.VerifyAsync(_valid, null, CancellationToken.None)).Valid;

    [Benchmark]
    public async ValueTask<string> ValidKeyWithPermissionQuery() => (await _verifier.VerifyAsync(_withQuery, null, CancellationToken.None)).Code;

    [Benchmark]
    public async ValueTask<bool> BadChecksum() => (await _verifier.VerifyAsync(_badChecksum, null, CancellationToken.None)).Valid;
}

/// <summary>Permission-query evaluation ("a AND (b OR c)"). Baseline: one permission check.</summary>
[MemoryDiagnoser]
public class PermissionQueryBenchmarks
{
    private const string Text = "api_keys:read AND (billing.invoices.read OR orgs:write)";
    private readonly string[] _granted = ["api_keys:read", "billing.*", "orgs:read"];
    private PermissionQuery _parsed = null!;

    [GlobalSetup]
    public void Setup()
    {
        if (!PermissionQuery.TryParse(Text, out var query, out var error))
        {
            throw new InvalidOperationException(error?.ToString());
        }

        _parsed = query!;
    }

    [Benchmark(Baseline = true)]
    public bool SinglePermission() => Permission.Grants(_granted, "api_keys:read");

    [Benchmark]
    public bool EvaluateParsedQuery() => _parsed.IsSatisfiedBy(_granted);

    [Benchmark]
    public bool ParseAndEvaluate() => PermissionQuery.TryParse(Text, out var query, out _) && query!.IsSatisfiedBy(_granted);
}
