using System.Buffers.Text;
using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using Microsoft.EntityFrameworkCore;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Gatehouse.Server.Features.OAuth;

/// <summary>
/// DPoP proofs (RFC 9449): a JWT the client signs with its own key for each request, naming the
/// method and URL (and, at a resource, the hash of the access token). A token issued with a proof
/// is bound to that key (<c>cnf.jkt</c>), so a stolen token is useless without the private key.
/// A proof is accepted once: this node remembers the proofs it has seen, and on PostgreSQL, where
/// other nodes share the database, each proof is also recorded in the single-use table that
/// <c>private_key_jwt</c> assertions use, so a proof replayed to another node is refused too.
/// </summary>
public sealed class DpopProofs(TimeProvider clock, IServiceScopeFactory scopes, Platform.Storage.DatabaseTarget database)
{
    public const string HeaderName = "DPoP";

    /// <summary>How far a proof's <c>iat</c> may lie in the past (and, for clock skew, in the future).</summary>
    private static readonly TimeSpan MaxAge = TimeSpan.FromMinutes(5);
    private static readonly TimeSpan FutureSkew = TimeSpan.FromSeconds(30);
    private const int MaxRememberedProofs = 1_000_000;

    public static readonly IReadOnlyList<string> Algorithms =
        [SecurityAlgorithms.EcdsaSha256, SecurityAlgorithms.EcdsaSha384, SecurityAlgorithms.EcdsaSha512, SecurityAlgorithms.RsaSha256,
         SecurityAlgorithms.RsaSha384, SecurityAlgorithms.RsaSha512, SecurityAlgorithms.RsaSsaPssSha256, SecurityAlgorithms.RsaSsaPssSha384, SecurityAlgorithms.RsaSsaPssSha512];

    private readonly JsonWebTokenHandler _handler = new() { MapInboundClaims = false };

    // Proof ids seen on this node, until they are too old to be accepted anyway: a replayed proof is refused.
    private readonly ConcurrentDictionary<string, long> _seen = new(StringComparer.Ordinal);

    /// <summary>The thumbprint (<c>jkt</c>) of the proof's key, or the reason it is refused.</summary>
    public async Task<(string? Jkt, string? Error)> ValidateAsync(string proof, string method, string url, string? accessToken)
    {
        JsonWebToken jwt;
        try
        {
            jwt = _handler.ReadJsonWebToken(proof);
        }
        catch (Exception ex) when (ex is ArgumentException or SecurityTokenException)
        {
            return (null, "The DPoP proof is not a JWT.");
        }

        if (jwt.Typ != "dpop+jwt" || !Algorithms.Contains(jwt.Alg))
        {
            return (null, "The DPoP proof needs typ dpop+jwt and an asymmetric alg.");
        }

        JsonWebKey key;
        try
        {
            using var header = System.Text.Json.JsonDocument.Parse(Base64Url.DecodeFromChars(proof.AsSpan(0, proof.IndexOf('.', StringComparison.Ordinal))));
            if (!header.RootElement.TryGetProperty("jwk", out var jwk) || jwk.ValueKind != System.Text.Json.JsonValueKind.Object)
            {
                return (null, "The DPoP proof needs a jwk header.");
            }

            if (jwk.TryGetProperty("d", out _) || jwk.TryGetProperty("p", out _) || jwk.TryGetProperty("k", out _))
            {
                return (null, "The DPoP proof's jwk must be a public key.");
            }

            key = new JsonWebKey(jwk.GetRawText());
        }
        catch (Exception ex) when (ex is ArgumentException or FormatException or System.Text.Json.JsonException)
        {
            return (null, "The DPoP proof's jwk is not valid.");
        }

        var result = await _handler.ValidateTokenAsync(proof, new TokenValidationParameters
        {
            ValidateIssuer = false,
            ValidateAudience = false,
            ValidateLifetime = false,
            RequireExpirationTime = false,
            RequireSignedTokens = true,
            IssuerSigningKey = key,
            ValidAlgorithms = Algorithms,
            ValidTypes = ["dpop+jwt"],
        });
        if (!result.IsValid)
        {
            return (null, "The DPoP proof's signature is not valid.");
        }

        if (!jwt.TryGetPayloadValue<string>("htm", out var htm) || htm != method
            || !jwt.TryGetPayloadValue<string>("htu", out var htu) || !SameUrl(htu, url))
        {
            return (null, "The DPoP proof is for another method or URL.");
        }

        var now = clock.GetUtcNow();
        if (!jwt.TryGetPayloadValue<long>("iat", out var iat)
            || DateTimeOffset.FromUnixTimeSeconds(iat) < now - MaxAge || DateTimeOffset.FromUnixTimeSeconds(iat) > now + FutureSkew)
        {
            return (null, "The DPoP proof's iat is missing or outside the accepted window.");
        }

        if (accessToken is not null)
        {
            var expected = Base64Url.EncodeToString(SHA256.HashData(Encoding.ASCII.GetBytes(accessToken)));
            if (!jwt.TryGetPayloadValue<string>("ath", out var ath) || !CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(ath), Encoding.ASCII.GetBytes(expected)))
            {
                return (null, "The DPoP proof's ath does not match the access token.");
            }
        }

        if (string.IsNullOrEmpty(jwt.Id) || jwt.Id.Length > 256)
        {
            return (null, "The DPoP proof needs a jti.");
        }

        var jkt = Base64Url.EncodeToString(key.ComputeJwkThumbprint());
        if (!Remember(jkt + "/" + jwt.Id, now) || !await RecordForOtherNodesAsync(jkt, jwt.Id, now))
        {
            return (null, "The DPoP proof was already used.");
        }

        return (jkt, null);
    }

    private bool Remember(string proofId, DateTimeOffset now)
    {
        var until = (now + MaxAge + FutureSkew).ToUnixTimeSeconds();
        if (_seen.Count >= MaxRememberedProofs)
        {
            var cutoff = now.ToUnixTimeSeconds();
            foreach (var (id, expires) in _seen)
            {
                if (expires < cutoff)
                {
                    _seen.TryRemove(id, out _);
                }
            }
        }

        return _seen.TryAdd(proofId, until);
    }

    /// <summary>
    /// On PostgreSQL, the first node to record the proof wins (the table's primary key decides);
    /// SQLite has one node, and <see cref="Remember"/> is enough. The owner column is namespaced
    /// (<c>dpop:</c> and the key thumbprint) so it never meets a client id; the OAuth prune job
    /// deletes the rows once expired.
    /// </summary>
    private async Task<bool> RecordForOtherNodesAsync(string jkt, string proofId, DateTimeOffset now)
    {
        if (database.Provider != Platform.Storage.DatabaseProvider.Postgres)
        {
            return true;
        }

        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<Platform.Storage.GatehouseDb>();
        var owner = "dpop:" + jkt;
        var expiresAt = (now + MaxAge + FutureSkew).UtcDateTime;
        var inserted = await db.Database.ExecuteSqlInterpolatedAsync(
            $"INSERT INTO oauth_used_assertions (client_id, jti, expires_at) VALUES ({owner}, {proofId}, {expiresAt}) ON CONFLICT DO NOTHING");
        return inserted == 1;
    }

    /// <summary>RFC 9449 §4.3: the URL without query and fragment, scheme and host compared without case.</summary>
    private static bool SameUrl(string htu, string url) =>
        Uri.TryCreate(htu, UriKind.Absolute, out var claimed) && Uri.TryCreate(url, UriKind.Absolute, out var actual)
        && string.Equals(claimed.GetLeftPart(UriPartial.Path), actual.GetLeftPart(UriPartial.Path), StringComparison.OrdinalIgnoreCase);
}
