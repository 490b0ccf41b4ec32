using System.Buffers;
using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Gatehouse.Benchmarks;

/// <summary>
/// The denominator of the OAuth load test (bench/load/oauth.sh): the least a client-credentials token
/// endpoint and an introspection endpoint can do on the same Kestrel — parse the form, authenticate the
/// client by Basic auth against a frozen dictionary of keyed secret hashes, sign (or verify) an ES256 JWT
/// with the contract's header and claims, and answer RFC 6749 / RFC 7662 JSON. No framework, no options,
/// no logging: the ratio of a real server to this one measures what that server adds.
/// </summary>
public static class OAuthBaselineServer
{
    private const int TokenLifetimeSeconds = 3600;

    public static void Run(string[] args)
    {
        var builder = WebApplication.CreateSlimBuilder(args);
        builder.Logging.ClearProviders();
        var clientsFile = builder.Configuration["clients"] ?? throw new InvalidOperationException("--clients <file of lines 'clientId secret'> is required");
        var clients = OAuthBenchClients.Load(clientsFile);
        var app = builder.Build();
        var signer = new Es256TokenSigner(ECDsa.Create(ECCurve.NamedCurves.nistP256).ExportParameters(includePrivateParameters: true), OAuthBenchClients.NewKeyId());

        app.MapPost("/oauth/token", async (HttpContext context) =>
        {
            context.Response.Headers.CacheControl = "no-store";
            var form = await context.Request.ReadFormAsync(context.RequestAborted);
            var client = clients.AuthenticateBasic(context.Request.Headers.Authorization);
            if (client is null)
            {
                context.Response.Headers.WWWAuthenticate = "Basic realm=\"gatehouse\"";
                await WriteError(context, StatusCodes.Status401Unauthorized, "invalid_client");
                return;
            }

            if (form["grant_type"] != "client_credentials")
            {
                await WriteError(context, StatusCodes.Status400BadRequest, "unsupported_grant_type");
                return;
            }

            var issuer = IssuerOf(context.Request);
            var token = signer.Issue(issuer, client, DateTimeOffset.UtcNow.ToUnixTimeSeconds(), TokenLifetimeSeconds);
            context.Response.ContentType = "application/json";
            await JsonSerializer.SerializeAsync(context.Response.Body, new TokenAnswer(token, "Bearer", TokenLifetimeSeconds, client.Scope), OAuthBaselineJson.Default.TokenAnswer);
        });

        app.MapPost("/oauth/introspect", async (HttpContext context) =>
        {
            context.Response.Headers.CacheControl = "no-store";
            var form = await context.Request.ReadFormAsync(context.RequestAborted);
            var caller = clients.AuthenticateBasic(context.Request.Headers.Authorization);
            if (caller is null)
            {
                context.Response.Headers.WWWAuthenticate = "Basic realm=\"gatehouse\"";
                await WriteError(context, StatusCodes.Status401Unauthorized, "invalid_client");
                return;
            }

            var claims = signer.Verify(form["token"].ToString());
            context.Response.ContentType = "application/json";
            if (claims is null || claims.Exp <= DateTimeOffset.UtcNow.ToUnixTimeSeconds() || claims.OrgId != caller.OrgId)
            {
                await context.Response.WriteAsync("{\"active\":false}");
                return;
            }

            var answer = new IntrospectionAnswer(true, claims.Scope, claims.ClientId, claims.Sub, claims.Aud, claims.Iss, claims.Exp, claims.Iat, claims.Jti, "Bearer", claims.OrgId);
            await JsonSerializer.SerializeAsync(context.Response.Body, answer, OAuthBaselineJson.Default.IntrospectionAnswer);
        });

        Console.WriteLine($"oauth baseline listening with {clients.Count} clients");
        app.Run();
    }

    private static string IssuerOf(HttpRequest request) => request.Scheme + "://" + request.Host.Value;

    private static Task WriteError(HttpContext context, int status, string error)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        return JsonSerializer.SerializeAsync(context.Response.Body, new OAuthError(error, null), OAuthBaselineJson.Default.OAuthError);
    }
}

/// <summary>
/// Signs and verifies compact ES256 JWTs with one P-256 key, by hand: the header is encoded once, the
/// claims are written straight to UTF-8, and each thread has its own <see cref="ECDsa"/> (an instance
/// is not documented as safe for concurrent use).
/// </summary>
public sealed class Es256TokenSigner
{
    private const int SignatureSize = 64;

    [ThreadStatic]
    private static ECDsa? t_key;

    [ThreadStatic]
    private static Es256TokenSigner? t_keyOwner;

    private readonly ECParameters _parameters;
    private readonly byte[] _headerSegment;
    private readonly string _headerText;

    public Es256TokenSigner(ECParameters parameters, string keyId)
    {
        _parameters = parameters;
        // Written by hand: the serializer would escape the '+' of at+jwt. The key id is base64url, so it needs no escaping.
        var header = Encoding.ASCII.GetBytes($"{{\"alg\":\"ES256\",\"typ\":\"at+jwt\",\"kid\":\"{keyId}\"}}");
        _headerSegment = Encoding.ASCII.GetBytes(Base64Url.EncodeToString(header));
        _headerText = Encoding.ASCII.GetString(_headerSegment);
    }

    private ECDsa Key
    {
        get
        {
            if (t_key is null || !ReferenceEquals(t_keyOwner, this))
            {
                t_key?.Dispose();
                t_key = ECDsa.Create(_parameters);
                t_keyOwner = this;
            }

            return t_key;
        }
    }

    /// <summary>A signed access token with the contract's claims.</summary>
    public string Issue(string issuer, OAuthBenchClient client, long now, int lifetimeSeconds)
    {
        var payload = new ArrayBufferWriter<byte>(512);
        using (var writer = new Utf8JsonWriter(payload))
        {
            Span<byte> jti = stackalloc byte[16];
            RandomNumberGenerator.Fill(jti);
            writer.WriteStartObject();
            writer.WriteString("iss"u8, issuer);
            writer.WriteString("sub"u8, client.ClientId);
            writer.WriteString("aud"u8, issuer);
            writer.WriteString("org_id"u8, client.OrgId);
            writer.WriteString("scope"u8, client.Scope);
            writer.WriteString("jti"u8, Base64Url.EncodeToString(jti));
            writer.WriteNumber("iat"u8, now);
            writer.WriteNumber("exp"u8, now + lifetimeSeconds);
            writer.WriteString("client_id"u8, client.ClientId);
            writer.WriteEndObject();
        }

        var payloadLength = Base64Url.GetEncodedLength(payload.WrittenCount);
        var signatureLength = Base64Url.GetEncodedLength(SignatureSize);
        var token = new byte[_headerSegment.Length + 1 + payloadLength + 1 + signatureLength];
        _headerSegment.CopyTo(token, 0);
        token[_headerSegment.Length] = (byte)'.';
        Base64Url.EncodeToUtf8(payload.WrittenSpan, token.AsSpan(_headerSegment.Length + 1));
        var signedLength = _headerSegment.Length + 1 + payloadLength;
        token[signedLength] = (byte)'.';
        Span<byte> signature = stackalloc byte[SignatureSize];
        if (!Key.TrySignData(token.AsSpan(0, signedLength), signature, HashAlgorithmName.SHA256, out _))
        {
            throw new CryptographicException("ES256 signing failed.");
        }

        Base64Url.EncodeToUtf8(signature, token.AsSpan(signedLength + 1));
        return Encoding.ASCII.GetString(token);
    }

    /// <summary>The claims of a token this signer issued and whose signature holds, or null.</summary>
    public AccessTokenClaims? Verify(string token)
    {
        var firstDot = token.IndexOf('.', StringComparison.Ordinal);
        var lastDot = token.LastIndexOf('.');
        if (firstDot <= 0 || lastDot <= firstDot || !token.AsSpan(0, firstDot).SequenceEqual(_headerText))
        {
            return null;
        }

        Span<byte> signature = stackalloc byte[SignatureSize];
        if (Base64Url.DecodeFromChars(token.AsSpan(lastDot + 1), signature, out _, out var signatureBytes) != OperationStatus.Done || signatureBytes != SignatureSize)
        {
            return null;
        }

        var signed = ArrayPool<byte>.Shared.Rent(lastDot);
        try
        {
            var length = Encoding.ASCII.GetBytes(token.AsSpan(0, lastDot), signed);
            if (!Key.VerifyData(signed.AsSpan(0, length), signature, HashAlgorithmName.SHA256))
            {
                return null;
            }

            var payloadChars = token.AsSpan(firstDot + 1, lastDot - firstDot - 1);
            var payload = signed.AsSpan(0, Base64Url.GetMaxDecodedLength(payloadChars.Length));
            return Base64Url.DecodeFromChars(payloadChars, payload, out _, out var payloadBytes) == OperationStatus.Done
                ? JsonSerializer.Deserialize(payload[..payloadBytes], OAuthBaselineJson.Default.AccessTokenClaims)
                : null;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(signed);
        }
    }
}

public sealed record AccessTokenClaims(string Iss, string Sub, string Aud, string OrgId, string Scope, string Jti, long Iat, long Exp, string ClientId);

public sealed record TokenAnswer(string AccessToken, string TokenType, int ExpiresIn, string Scope);

public sealed record IntrospectionAnswer(bool Active, string Scope, string ClientId, string Sub, string Aud, string Iss, long Exp, long Iat, string Jti, string TokenType, string OrgId);

public sealed record OAuthError(string Error, string? ErrorDescription);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(AccessTokenClaims))]
[JsonSerializable(typeof(TokenAnswer))]
[JsonSerializable(typeof(IntrospectionAnswer))]
[JsonSerializable(typeof(OAuthError))]
internal sealed partial class OAuthBaselineJson : JsonSerializerContext;
