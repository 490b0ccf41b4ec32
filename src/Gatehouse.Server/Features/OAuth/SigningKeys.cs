using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Gatehouse.Contracts.OAuth;
using Gatehouse.Crypto;
using Gatehouse.Server.Platform.Storage;
using Microsoft.EntityFrameworkCore;

namespace Gatehouse.Server.Features.OAuth;

/// <summary>How a signing key's private part is sealed under the master key (master-key rotation re-seals it the same way).</summary>
[Gatehouse.Server.Platform.Composition.FeatureApi]
public static class SigningKeySealing
{
    /// <summary>The master-key subkey purpose.</summary>
    public const string Purpose = "gatehouse/oauth-signing-key";

    /// <summary>Binds the sealed key to its kid: a sealed key copied to another row does not open.</summary>
    public static byte[] Aad(string kid) => Encoding.UTF8.GetBytes("oauth_signing_key:" + kid);
}

/// <summary>The JWS algorithms access tokens are signed with.</summary>
public static class SigningAlgorithms
{
    public const string ES256 = "ES256";
    public const string RS256 = "RS256";

    public static readonly IReadOnlyList<string> All = [ES256, RS256];
}

/// <summary>
/// One signing key in memory. ECDsa and RSA objects are not documented as safe for concurrent use,
/// so each thread signs and verifies with its own copy made from the same key material.
/// </summary>
public sealed class LoadedSigningKey : IDisposable
{
    private readonly ThreadLocal<AsymmetricAlgorithm> _perThread;

    public LoadedSigningKey(string kid, string algorithm, byte[] pkcs8, JsonElement publicJwk, DateTime createdAt, DateTime activatesAt)
    {
        Kid = kid;
        Algorithm = algorithm;
        PublicJwk = publicJwk;
        CreatedAt = createdAt;
        ActivatesAt = activatesAt;
        _perThread = new ThreadLocal<AsymmetricAlgorithm>(() => Import(algorithm, pkcs8), trackAllValues: true);
        // The header every token of this key starts with, encoded once.
        // The kid is base64url and the algorithm a fixed name: neither needs JSON escaping.
        EncodedHeader = Base64Url.EncodeToString(Encoding.UTF8.GetBytes($"{{\"alg\":\"{algorithm}\",\"typ\":\"at+jwt\",\"kid\":\"{kid}\"}}"));
    }

    public string Kid { get; }
    public string Algorithm { get; }
    public JsonElement PublicJwk { get; }
    public DateTime CreatedAt { get; }
    public DateTime ActivatesAt { get; }
    public string EncodedHeader { get; }

    /// <summary>When a newer key of the same algorithm took over signing; null while this one signs (or has not started).</summary>
    public DateTime? RetiredAt
    {
        get => Volatile.Read(ref _retiredTicks) is var ticks and not 0 ? new DateTime(ticks, DateTimeKind.Utc) : null;
        set => Volatile.Write(ref _retiredTicks, value?.Ticks ?? 0);
    }

    private long _retiredTicks;

    /// <summary>When it leaves the JWKS: the longest token it can have signed has expired by then.</summary>
    public DateTime? UnpublishAt => RetiredAt?.Add(SigningKeyStore.LongestTokenLifetime);

    public string StatusAt(DateTime now) =>
        ActivatesAt > now ? "pending" : RetiredAt is null ? "active" : UnpublishAt > now ? "retired" : "expired";

    public bool IsPublishedAt(DateTime now) => UnpublishAt is not { } until || until > now;

    public int Sign(ReadOnlySpan<byte> data, Span<byte> signature) => _perThread.Value switch
    {
        ECDsa ec => ec.SignData(data, signature, HashAlgorithmName.SHA256),
        RSA rsa => rsa.SignData(data, signature, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1),
        _ => throw new InvalidOperationException("Unknown key type."),
    };

    public bool Verify(ReadOnlySpan<byte> data, ReadOnlySpan<byte> signature) => _perThread.Value switch
    {
        ECDsa ec => ec.VerifyData(data, signature, HashAlgorithmName.SHA256),
        RSA rsa => rsa.VerifyData(data, signature, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1),
        _ => false,
    };

    public void Dispose()
    {
        foreach (var key in _perThread.Values)
        {
            key.Dispose();
        }

        _perThread.Dispose();
    }

    private static AsymmetricAlgorithm Import(string algorithm, byte[] pkcs8)
    {
        AsymmetricAlgorithm key = algorithm == SigningAlgorithms.RS256 ? RSA.Create() : ECDsa.Create();
        key.ImportPkcs8PrivateKey(pkcs8, out _);
        return key;
    }

    /// <summary>A new key pair: its PKCS#8 private key, its public JWK and its RFC 7638 thumbprint (the kid).</summary>
    public static (byte[] Pkcs8, string PublicJwk, string Kid) Generate(string algorithm)
    {
        SortedDictionary<string, string> members;
        byte[] pkcs8;
        if (algorithm == SigningAlgorithms.RS256)
        {
            using var rsa = RSA.Create(2048);
            var p = rsa.ExportParameters(false);
            members = new(StringComparer.Ordinal) { ["e"] = Base64Url.EncodeToString(p.Exponent), ["kty"] = "RSA", ["n"] = Base64Url.EncodeToString(p.Modulus) };
            pkcs8 = rsa.ExportPkcs8PrivateKey();
        }
        else
        {
            using var ec = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            var p = ec.ExportParameters(false);
            members = new(StringComparer.Ordinal) { ["crv"] = "P-256", ["kty"] = "EC", ["x"] = Base64Url.EncodeToString(p.Q.X), ["y"] = Base64Url.EncodeToString(p.Q.Y) };
            pkcs8 = ec.ExportPkcs8PrivateKey();
        }

        // RFC 7638: the required members in lexicographic order, no whitespace, hashed with SHA-256.
        var kid = Base64Url.EncodeToString(SHA256.HashData(JsonSerializer.SerializeToUtf8Bytes(members)));
        var jwk = new Dictionary<string, string>(members) { ["kid"] = kid, ["use"] = "sig", ["alg"] = algorithm };
        return (pkcs8, JsonSerializer.Serialize(jwk), kid);
    }
}

/// <summary>
/// The platform's token-signing keys. A new key is published in the JWKS before it signs (its
/// <c>activatesAt</c> lies ahead by the lead time), so verifiers that cache the JWKS know it before
/// they meet a token of it; once it signs, the key it replaced retires and stays published until
/// the longest token it can have signed has expired. Retirement is derived from the keys
/// themselves (the next key's activation), so every node computes the same answer without writes.
/// </summary>
public sealed class SigningKeyStore(IServiceScopeFactory scopes, MasterKey masterKey, TimeProvider clock, ILogger<SigningKeyStore> logger) : IDisposable
{
    /// <summary>The longest access-token lifetime, plus a minute of clock skew.</summary>
    public static readonly TimeSpan LongestTokenLifetime = TimeSpan.FromSeconds(86_400 + 60);

    private static readonly TimeSpan RefreshEvery = TimeSpan.FromSeconds(30);

    private readonly SemaphoreSlim _loadLock = new(1, 1);
    private volatile IReadOnlyList<LoadedSigningKey>? _keys;
    private DateTime _loadedAt;

    /// <summary>The keys, loaded (and the first ones created) on first use and re-read every 30 s so other nodes' rotations arrive.</summary>
    public async ValueTask<IReadOnlyList<LoadedSigningKey>> KeysAsync(CancellationToken cancellationToken)
    {
        var keys = _keys;
        if (keys is not null && clock.GetUtcNow().UtcDateTime - _loadedAt < RefreshEvery)
        {
            return keys;
        }

        await ReloadAsync(cancellationToken);
        return _keys!;
    }

    /// <summary>Reads the keys again on next use (another node rotated them).</summary>
    public void Reload() => _loadedAt = DateTime.MinValue;

    /// <summary>The key that signs new tokens of <paramref name="algorithm"/> now: the newest one already active.</summary>
    public async ValueTask<LoadedSigningKey> SignerAsync(string algorithm, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow().UtcDateTime;
        var keys = await KeysAsync(cancellationToken);
        LoadedSigningKey? signer = null;
        foreach (var key in keys)
        {
            if (key.Algorithm == algorithm && key.ActivatesAt <= now && (signer is null || key.ActivatesAt >= signer.ActivatesAt))
            {
                signer = key;
            }
        }

        return signer ?? throw new InvalidOperationException($"No active {algorithm} signing key.");
    }

    /// <summary>A key that may have signed a token still valid now: active or retired but published.</summary>
    public async ValueTask<LoadedSigningKey?> VerifierAsync(string kid, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow().UtcDateTime;
        var keys = await KeysAsync(cancellationToken);
        var key = Find(keys, kid);
        if (key is null && clock.GetUtcNow().UtcDateTime - _loadedAt > TimeSpan.FromSeconds(5))
        {
            // A kid this node has not seen: another node may have rotated a moment ago.
            await ReloadAsync(cancellationToken);
            key = Find(_keys!, kid);
        }

        return key is not null && key.ActivatesAt <= now && key.IsPublishedAt(now) ? key : null;
    }

    /// <summary>The public JWK Set: every key published now (pending ones included, so they are known before they sign).</summary>
    public async ValueTask<byte[]> JwksAsync(CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow().UtcDateTime;
        var keys = await KeysAsync(cancellationToken);
        return JsonSerializer.SerializeToUtf8Bytes(new { keys = keys.Where(k => k.IsPublishedAt(now)).OrderByDescending(k => k.ActivatesAt).Select(k => k.PublicJwk) });
    }

    public async Task<IReadOnlyList<SigningKeyView>> ListAsync(CancellationToken cancellationToken)
    {
        await ReloadAsync(cancellationToken);
        var now = clock.GetUtcNow().UtcDateTime;
        return [.. _keys!.OrderByDescending(k => k.ActivatesAt).Select(k => new SigningKeyView(k.Kid, k.Algorithm, k.StatusAt(now), k.CreatedAt, k.ActivatesAt, k.RetiredAt, k.UnpublishAt))];
    }

    /// <summary>Adds (uncommitted) a key of <paramref name="algorithm"/> that starts signing after <paramref name="lead"/>; returns its view.</summary>
    public SigningKeyView Add(GatehouseDb db, string algorithm, TimeSpan lead)
    {
        var now = clock.GetUtcNow().UtcDateTime;
        var (pkcs8, publicJwk, kid) = LoadedSigningKey.Generate(algorithm);
        try
        {
            db.Add(new OAuthSigningKey
            {
                Kid = kid,
                Algorithm = algorithm,
                SealedKey = masterKey.Seal(SigningKeySealing.Purpose, pkcs8, SigningKeySealing.Aad(kid)),
                PublicJwk = publicJwk,
                CreatedAt = now,
                ActivatesAt = now + lead,
            });
        }
        finally
        {
            CryptographicOperations.ZeroMemory(pkcs8);
        }

        logger.LogInformation("Adding {Algorithm} signing key {Kid}, signing from {ActivatesAt:o}", algorithm, kid, now + lead);
        return new SigningKeyView(kid, algorithm, lead > TimeSpan.Zero ? "pending" : "active", now, now + lead, null, null);
    }

    public async Task ReloadAsync(CancellationToken cancellationToken)
    {
        await _loadLock.WaitAsync(cancellationToken);
        try
        {
            await using var scope = scopes.CreateAsyncScope();
            var db = scope.ServiceProvider.GetRequiredService<GatehouseDb>();
            var rows = await db.Set<OAuthSigningKey>().AsNoTracking().ToListAsync(cancellationToken);
            var now = clock.GetUtcNow().UtcDateTime;
            foreach (var algorithm in SigningAlgorithms.All)
            {
                if (!rows.Any(r => r.Algorithm == algorithm && r.ActivatesAt <= now))
                {
                    // No key signs this algorithm yet (a new installation): one starts now.
                    Add(db, algorithm, TimeSpan.Zero);
                    await db.SaveChangesAsync(cancellationToken);
                    rows = await db.Set<OAuthSigningKey>().AsNoTracking().ToListAsync(cancellationToken);
                }
            }

            var previous = _keys;
            var loaded = new List<LoadedSigningKey>();
            foreach (var row in rows)
            {
                if (previous?.FirstOrDefault(k => k.Kid == row.Kid) is { } known)
                {
                    loaded.Add(known);
                    continue;
                }

                var pkcs8 = masterKey.Open(SigningKeySealing.Purpose, row.SealedKey, SigningKeySealing.Aad(row.Kid));
                using var jwk = JsonDocument.Parse(row.PublicJwk);
                loaded.Add(new LoadedSigningKey(row.Kid, row.Algorithm, pkcs8, jwk.RootElement.Clone(), row.CreatedAt, row.ActivatesAt));
            }

            foreach (var group in loaded.GroupBy(k => k.Algorithm))
            {
                var ordered = group.OrderBy(k => k.ActivatesAt).ToList();
                for (var i = 0; i < ordered.Count; i++)
                {
                    var next = i + 1 < ordered.Count ? ordered[i + 1].ActivatesAt : (DateTime?)null;
                    ordered[i].RetiredAt = next <= now ? next : null;
                }
            }

            _keys = loaded;
            _loadedAt = now;
        }
        finally
        {
            _loadLock.Release();
        }
    }

    private static LoadedSigningKey? Find(IReadOnlyList<LoadedSigningKey> keys, string kid)
    {
        foreach (var key in keys)
        {
            if (key.Kid == kid)
            {
                return key;
            }
        }

        return null;
    }

    public void Dispose()
    {
        foreach (var key in _keys ?? [])
        {
            key.Dispose();
        }

        _loadLock.Dispose();
    }
}
