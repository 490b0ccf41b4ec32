using System.Buffers;
using System.Buffers.Text;
using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Gatehouse.Server.Platform.Storage;
using Microsoft.EntityFrameworkCore;

namespace Gatehouse.Server.Features.OAuth;

/// <summary>The claims of an access token this server signed and still accepts.</summary>
public sealed record AccessTokenClaims(
    string Issuer, string Subject, string Audience, string OrgId, string Scope, string Jti, long IssuedAt, long ExpiresAt, string ClientId, string Algorithm, string Kid,
    string? Jkt, int Generation)
{
    /// <summary>DPoP-bound (RFC 9449): the token is usable only with proofs signed by the key of this thumbprint.</summary>
    public bool IsBound => Jkt is not null;

    /// <summary>The scope as permissions.</summary>
    public string[] Scopes { get; } = Scope.Split(' ', StringSplitOptions.RemoveEmptyEntries);
}

/// <summary>An access token just issued.</summary>
public readonly record struct IssuedToken(string Token, string Jti, long ExpiresAt);

/// <summary>
/// Issues and checks JWT access tokens (RFC 9068 shape: <c>typ: at+jwt</c>). The compact
/// serialization is written directly: header and claims are a handful of known strings, and a
/// general JWT library spends more time on claim dictionaries than the signature itself costs.
/// Verification pins the algorithm to the key the <c>kid</c> names — a token cannot choose its own.
/// </summary>
public sealed class AccessTokens(SigningKeyStore keys, TimeProvider clock)
{
    private const int MaxCachedTokens = 100_000;
    private const int MaxTokenLength = 4096;

    // Verified tokens by their text: a token used on every request is verified once, then looked up.
    private readonly ConcurrentDictionary<string, AccessTokenClaims> _verified = new(StringComparer.Ordinal);

    /// <summary>Signs a token for <paramref name="client"/>; <paramref name="jkt"/> binds it to a DPoP key.</summary>
    public async ValueTask<IssuedToken> IssueAsync(ClientRecord client, string issuer, string scope, string? jkt, CancellationToken cancellationToken)
    {
        var key = await keys.SignerAsync(client.SigningAlgorithm, cancellationToken);
        var issuedAt = clock.GetUtcNow().ToUnixTimeSeconds();
        var expiresAt = issuedAt + client.TokenTtlSeconds;
        var jti = Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(16));

        var claims = new ArrayBufferWriter<byte>(512);
        using (var json = new Utf8JsonWriter(claims))
        {
            json.WriteStartObject();
            json.WriteString("iss", issuer);
            json.WriteString("sub", client.Id);
            json.WriteString("aud", issuer);
            json.WriteNumber("exp", expiresAt);
            json.WriteNumber("iat", issuedAt);
            json.WriteString("jti", jti);
            json.WriteString("client_id", client.Id);
            json.WriteString("org_id", client.OrgId);
            json.WriteString("scope", scope);
            json.WriteNumber("gen", client.TokenGeneration);
            if (jkt is not null)
            {
                json.WriteStartObject("cnf");
                json.WriteString("jkt", jkt);
                json.WriteEndObject();
            }

            json.WriteEndObject();
        }

        // header '.' claims, base64url; then '.' signature.
        var header = key.EncodedHeader;
        var claimsLength = Base64Url.GetEncodedLength(claims.WrittenCount);
        var signingInputLength = header.Length + 1 + claimsLength;
        var buffer = ArrayPool<byte>.Shared.Rent(signingInputLength);
        Span<byte> signature = stackalloc byte[512];
        try
        {
            Encoding.ASCII.GetBytes(header, buffer);
            buffer[header.Length] = (byte)'.';
            Base64Url.EncodeToUtf8(claims.WrittenSpan, buffer.AsSpan(header.Length + 1, claimsLength));
            var signed = key.Sign(buffer.AsSpan(0, signingInputLength), signature);
            var token = string.Create(signingInputLength + 1 + Base64Url.GetEncodedLength(signed), (buffer, signingInputLength, signatureBytes: signature[..signed].ToArray()), static (chars, state) =>
            {
                Encoding.ASCII.GetChars(state.buffer.AsSpan(0, state.signingInputLength), chars);
                chars[state.signingInputLength] = '.';
                Base64Url.EncodeToChars(state.signatureBytes, chars[(state.signingInputLength + 1)..]);
            });
            return new IssuedToken(token, jti, expiresAt);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>The token's claims when this server signed it with a published key and it has not expired; null otherwise.</summary>
    public async ValueTask<AccessTokenClaims?> ValidateAsync(string token, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow().ToUnixTimeSeconds();
        if (_verified.TryGetValue(token, out var known))
        {
            return known.ExpiresAt > now ? known : null;
        }

        if (token.Length > MaxTokenLength)
        {
            return null;
        }

        var claims = await VerifyAsync(token, cancellationToken);
        if (claims is null || claims.ExpiresAt <= now)
        {
            return null;
        }

        if (_verified.Count >= MaxCachedTokens)
        {
            _verified.Clear();
        }

        _verified[token] = claims;
        return claims;
    }

    /// <summary>
    /// Whether the token names one of this server's signing keys (whatever else is wrong with it):
    /// a token of another issuer is left to other resolvers, and then refused like any unknown credential.
    /// </summary>
    public async ValueTask<bool> NamesOurKeyAsync(string token, CancellationToken cancellationToken)
    {
        var firstDot = token.IndexOf('.', StringComparison.Ordinal);
        if (firstDot <= 0)
        {
            return false;
        }

        string? kid;
        try
        {
            using var header = JsonDocument.Parse(Base64Url.DecodeFromChars(token.AsSpan(0, firstDot)));
            kid = ReadString(header.RootElement, "kid");
        }
        catch (Exception ex) when (ex is FormatException or JsonException)
        {
            return false;
        }

        return kid is not null && (await keys.KeysAsync(cancellationToken)).Any(k => k.Kid == kid);
    }

    /// <summary>Drops a token from the verified cache (its signing key left the JWKS, or it was revoked).</summary>
    public void Forget(string token) => _verified.TryRemove(token, out _);

    private async ValueTask<AccessTokenClaims?> VerifyAsync(string token, CancellationToken cancellationToken)
    {
        var firstDot = token.IndexOf('.', StringComparison.Ordinal);
        var lastDot = token.LastIndexOf('.');
        if (firstDot <= 0 || lastDot <= firstDot + 1 || lastDot == token.Length - 1)
        {
            return null;
        }

        string? alg, kid, typ;
        bool critical;
        try
        {
            using var header = JsonDocument.Parse(Base64Url.DecodeFromChars(token.AsSpan(0, firstDot)));
            alg = ReadString(header.RootElement, "alg");
            kid = ReadString(header.RootElement, "kid");
            typ = ReadString(header.RootElement, "typ");
            // Only this server's own header shape is accepted; "crit" would demand handling we do not do.
            critical = header.RootElement.ValueKind == JsonValueKind.Object && header.RootElement.TryGetProperty("crit", out _);
        }
        catch (Exception ex) when (ex is FormatException or JsonException)
        {
            return null;
        }

        if (alg is null || kid is null || typ != "at+jwt" || critical)
        {
            return null;
        }

        var key = await keys.VerifierAsync(kid, cancellationToken);
        if (key is null || key.Algorithm != alg)
        {
            return null;
        }

        byte[] signature;
        try
        {
            signature = Base64Url.DecodeFromChars(token.AsSpan(lastDot + 1));
        }
        catch (FormatException)
        {
            return null;
        }

        var signingInput = Encoding.ASCII.GetBytes(token, 0, lastDot);
        if (!key.Verify(signingInput, signature))
        {
            return null;
        }

        try
        {
            using var payload = JsonDocument.Parse(Base64Url.DecodeFromChars(token.AsSpan(firstDot + 1, lastDot - firstDot - 1)));
            var root = payload.RootElement;
            var claims = new AccessTokenClaims(
                ReadString(root, "iss") ?? "", ReadString(root, "sub") ?? "", ReadString(root, "aud") ?? "", ReadString(root, "org_id") ?? "",
                ReadString(root, "scope") ?? "", ReadString(root, "jti") ?? "", ReadLong(root, "iat"), ReadLong(root, "exp"),
                ReadString(root, "client_id") ?? "", alg, kid,
                root.TryGetProperty("cnf", out var confirmation) ? ReadString(confirmation, "jkt") : null, (int)ReadLong(root, "gen"));
            return claims.ClientId.Length > 0 && claims.OrgId.Length > 0 && claims.Jti.Length > 0 && claims.ExpiresAt > 0 ? claims : null;
        }
        catch (Exception ex) when (ex is FormatException or JsonException)
        {
            return null;
        }
    }

    private static string? ReadString(JsonElement element, string name) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private static long ReadLong(JsonElement element, string name) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out var number) ? number : 0;
}

/// <summary>
/// Revoked access tokens by <c>jti</c>, held in memory until each one's <c>exp</c> and kept in the
/// database so a restart remembers them. Loaded on first use; a revocation is added after it commits.
/// </summary>
public sealed class RevokedTokens(IServiceScopeFactory scopes, TimeProvider clock)
{
    private readonly ConcurrentDictionary<string, long> _revoked = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _loadLock = new(1, 1);
    private volatile bool _loaded;

    // Advanced by Reload: a load that began before it may have missed the revocation, so it does not count as loaded.
    private long _generation;

    public async ValueTask<bool> IsRevokedAsync(string jti, CancellationToken cancellationToken)
    {
        if (!_loaded)
        {
            await LoadAsync(cancellationToken);
        }

        return _revoked.ContainsKey(jti);
    }

    public void Add(string jti, long expiresAt) => _revoked[jti] = expiresAt;

    /// <summary>Reads the revocations again on next use (another node revoked a token).</summary>
    public void Reload()
    {
        Interlocked.Increment(ref _generation);
        _loaded = false;
    }

    /// <summary>Forgets revocations of tokens that have expired anyway.</summary>
    public void Prune()
    {
        var now = clock.GetUtcNow().ToUnixTimeSeconds();
        foreach (var (jti, expiresAt) in _revoked)
        {
            if (expiresAt <= now)
            {
                _revoked.TryRemove(jti, out _);
            }
        }
    }

    private async Task LoadAsync(CancellationToken cancellationToken)
    {
        await _loadLock.WaitAsync(cancellationToken);
        try
        {
            if (_loaded)
            {
                return;
            }

            var generation = Interlocked.Read(ref _generation);
            await using var scope = scopes.CreateAsyncScope();
            var db = scope.ServiceProvider.GetRequiredService<GatehouseDb>();
            var now = clock.GetUtcNow().UtcDateTime;
            foreach (var row in await db.Set<OAuthRevokedToken>().AsNoTracking().Where(t => t.ExpiresAt > now).ToListAsync(cancellationToken))
            {
                _revoked[row.Jti] = new DateTimeOffset(row.ExpiresAt).ToUnixTimeSeconds();
            }

            _loaded = Interlocked.Read(ref _generation) == generation;
        }
        finally
        {
            _loadLock.Release();
        }
    }
}
