using System.Security.Cryptography;
using BenchmarkDotNet.Attributes;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Gatehouse.Benchmarks;

/// <summary>
/// What one access token costs to sign and to check, in process (docs/decisions/0013): the ES256
/// signature alone (the floor), the hand-made signer of the load-test baseline, and
/// Microsoft.IdentityModel's <see cref="JsonWebTokenHandler"/> — the library an own grant would build on.
/// </summary>
[MemoryDiagnoser]
public class AccessTokenBenchmarks
{
    private const string Issuer = "http://127.0.0.1:5080";

    private readonly ECDsa _key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
    private readonly byte[] _signingInput = new byte[300];
    private readonly OAuthBenchClient _client = new("ocl_01JD0000000000000000000000", new byte[32], OAuthBenchClients.OrgId, OAuthBenchClients.Scope);
    private readonly JsonWebTokenHandler _handler = new() { SetDefaultTimesOnTokenCreation = false };
    private Es256TokenSigner _signer = null!;
    private SigningCredentials _credentials = null!;
    private TokenValidationParameters _validation = null!;
    private string _handMadeToken = null!;
    private string _identityModelToken = null!;

    [GlobalSetup]
    public void Setup()
    {
        RandomNumberGenerator.Fill(_signingInput);
        var keyId = OAuthBenchClients.NewKeyId();
        _signer = new Es256TokenSigner(_key.ExportParameters(includePrivateParameters: true), keyId);
        var securityKey = new ECDsaSecurityKey(_key) { KeyId = keyId };
        _credentials = new SigningCredentials(securityKey, SecurityAlgorithms.EcdsaSha256);
        _validation = new TokenValidationParameters
        {
            ValidIssuer = Issuer,
            ValidAudience = Issuer,
            IssuerSigningKey = securityKey,
            ValidTypes = ["at+jwt"],
            ValidAlgorithms = [SecurityAlgorithms.EcdsaSha256],
        };
        _handMadeToken = HandMadeIssue();
        _identityModelToken = IdentityModelIssue();
    }

    [GlobalCleanup]
    public void Cleanup() => _key.Dispose();

    [Benchmark(Baseline = true)]
    public byte[] SignatureOnly() => _key.SignData(_signingInput, HashAlgorithmName.SHA256);

    [Benchmark]
    public string HandMadeIssue() => _signer.Issue(Issuer, _client, DateTimeOffset.UtcNow.ToUnixTimeSeconds(), 3600);

    [Benchmark]
    public string IdentityModelIssue()
    {
        var now = DateTime.UtcNow;
        return _handler.CreateToken(new SecurityTokenDescriptor
        {
            Issuer = Issuer,
            Audience = Issuer,
            TokenType = "at+jwt",
            IssuedAt = now,
            Expires = now.AddHours(1),
            SigningCredentials = _credentials,
            Claims = new Dictionary<string, object>(5, StringComparer.Ordinal)
            {
                ["sub"] = _client.ClientId,
                ["org_id"] = _client.OrgId,
                ["scope"] = _client.Scope,
                ["jti"] = Guid.NewGuid().ToString("N"),
                ["client_id"] = _client.ClientId,
            },
        });
    }

    [Benchmark]
    public bool HandMadeVerify() => _signer.Verify(_handMadeToken) is not null;

    [Benchmark]
    public async Task<bool> IdentityModelValidate() => (await _handler.ValidateTokenAsync(_identityModelToken, _validation)).IsValid;
}
