using System.Security.Cryptography;
using System.Text;
using BenchmarkDotNet.Attributes;
using Gatehouse.Contracts.Devices;
using Gatehouse.Crypto;
using Gatehouse.Server.Features.ApiKeys;
using Gatehouse.Server.Features.Devices;

namespace Gatehouse.Benchmarks;

/// <summary>
/// Validating a device-bound session: the cache lookup that a hit costs (no database round trip),
/// and the check of the device's ECDSA P-256 proof. Baseline: an API-key cache hit, in the same run.
/// (A proof also marks its challenge used with one UPDATE, which this does not time.)
/// </summary>
[MemoryDiagnoser]
public class DeviceSessionBenchmarks : SeededServerBenchmarks
{
    private const string SessionId = "ses_bench";
    private KeyRecordCache _keys = null!;
    private SecretDigest _keyDigest;
    private DeviceSessionCache _sessions = null!;
    private string _message = "";
    private string _signature = "";

    [GlobalSetup]
    public void Setup()
    {
        StartServer();
        var hasher = App.Services.GetRequiredService<SecretHasher>();
        _keys = App.Services.GetRequiredService<KeyRecordCache>();
        _keyDigest = hasher.Digest(Keys[0]);
        _ = _keys.FindAsync(_keyDigest, CancellationToken.None).AsTask().GetAwaiter().GetResult() ?? throw new InvalidOperationException("seeded key not found");

        // A device key as the browser agent makes it, and a session bound to it, put in the cache as a first validation does.
        using var device = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var point = device.ExportParameters(false).Q;
        var jwk = new DevicePublicKeyJwk { Kty = "EC", Crv = "P-256", X = Base64Url(point.X!), Y = Base64Url(point.Y!) };
        if (DeviceKeys.Check(jwk, out var canonical, out _) is { } problem)
        {
            throw new InvalidOperationException(problem);
        }

        var now = DateTime.UtcNow;
        var session = new DeviceSession { Id = SessionId, OrgId = "org_bench", AppId = "app_bench", UserId = "alice", DeviceId = "dev_bench", CreatedAt = now, ExpiresAt = now.AddHours(1) };
        _sessions = App.Services.GetRequiredService<DeviceSessionCache>();
        _sessions.Add(new CachedDeviceSession(session, deviceRevoked: false, canonical, proofMaxAgeSeconds: 300), _sessions.Generation);
        _message = DeviceKeys.SessionMessage(SessionId, "nonce-0123456789");
        _signature = Base64Url(device.SignData(Encoding.UTF8.GetBytes(_message), HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation));
        if (!ProofCheck())
        {
            throw new InvalidOperationException("the proof did not verify");
        }
    }

    [Benchmark(Baseline = true)]
    public async ValueTask<bool> ApiKeyCacheHit() => await _keys.FindAsync(_keyDigest, CancellationToken.None) is not null;

    [Benchmark]
    public bool SessionCacheHit() =>
        _sessions.TryGet(SessionId, out var entry) && entry.Session.EndedAt is null && !entry.DeviceRevoked && DateTime.UtcNow < entry.Session.ExpiresAt;

    [Benchmark]
    public bool ProofCheck() => _sessions.TryGet(SessionId, out var entry) && entry.Verify(_message, _signature);

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
