using System.Security.Cryptography;
using System.Text;
using Gatehouse.Server.Tests.ApiKeys;
using Microsoft.IdentityModel.Tokens;

namespace Gatehouse.Server.Tests.OAuth;

/// <summary>An access token used on this API as a Bearer credential: its scopes are its permissions, its organization its reach.</summary>
public sealed class BearerTokenTests(SharedServer shared)
{
    private readonly GatehouseServer _server = shared.Server;

    [Fact]
    public async Task A_token_with_api_keys_read_lists_the_organizations_keys_and_nothing_more()
    {
        var orgId = await _server.CreateOrgAsync();
        var otherOrg = await _server.CreateOrgAsync();
        var (keyId, _) = await _server.CreateKeyAsync(orgId, new { name = "listed", permissions = new[] { "deploy:read" } });
        var (otherKeyId, _) = await _server.CreateKeyAsync(otherOrg, new { name = "elsewhere", permissions = new[] { "deploy:read" } });
        var client = await _server.CreateSecretClientAsync(orgId, ["api_keys:read"]);
        var caller = _server.CreateClient(await _server.AccessTokenAsync(client));

        var list = await caller.GetAsync($"/api/v1/orgs/{orgId}/api-keys");
        var write = await caller.PostAsync($"/api/v1/orgs/{orgId}/api-keys", new { name = "planted", permissions = Array.Empty<string>() });
        var otherList = await caller.GetAsync($"/api/v1/orgs/{otherOrg}/api-keys");
        var otherKey = await caller.GetAsync($"/api/v1/orgs/{orgId}/api-keys/{otherKeyId}");

        list.StatusCode.ShouldBe(200, list.Text);
        list.Data.EnumerateArray().Select(k => k.GetProperty("id").GetString()).ShouldBe([keyId]);
        write.StatusCode.ShouldBe(403, write.Text);
        write.ErrorCode.ShouldBe("FORBIDDEN");
        write.Body.GetProperty("error").GetProperty("details").GetProperty("required").GetString().ShouldBe("api_keys:write");
        otherList.StatusCode.ShouldBe(404, otherList.Text);
        otherList.ErrorCode.ShouldBe("NOT_FOUND");
        otherKey.ErrorCode.ShouldBe("NOT_FOUND");
        (await _server.Root.GetAsync($"/api/v1/orgs/{orgId}/api-keys")).Data.GetArrayLength().ShouldBe(1);
    }

    [Fact]
    public async Task A_narrowed_token_holds_only_the_scope_it_asked_for()
    {
        var orgId = await _server.CreateOrgAsync();
        var client = await _server.CreateSecretClientAsync(orgId, ["api_keys:read", "oauth_clients:read"]);
        var caller = _server.CreateClient(await _server.AccessTokenAsync(client, "oauth_clients:read"));

        (await caller.GetAsync($"/api/v1/orgs/{orgId}/oauth-clients")).StatusCode.ShouldBe(200);
        (await caller.GetAsync($"/api/v1/orgs/{orgId}/api-keys")).ErrorCode.ShouldBe("FORBIDDEN");
    }

    [Fact]
    public async Task A_token_whose_signature_or_claims_were_tampered_with_is_401()
    {
        var orgId = await _server.CreateOrgAsync();
        var otherOrg = await _server.CreateOrgAsync();
        var client = await _server.CreateSecretClientAsync(orgId, ["api_keys:read"]);
        var token = await _server.AccessTokenAsync(client);
        var parts = token.Split('.');
        var (header, claims) = OAuthSteps.DecodeJwt(token);

        // A flipped bit in the signature.
        var signature = Base64UrlEncoder.DecodeBytes(parts[2]);
        signature[^1] ^= 0x01;
        var badSignature = $"{parts[0]}.{parts[1]}.{Base64UrlEncoder.Encode(signature)}";
        // Claims rewritten to another organization and a wider scope, the original signature kept.
        var forgedClaims = claims.ToString().Replace(orgId, otherOrg, StringComparison.Ordinal).Replace("api_keys:read", "*", StringComparison.Ordinal);
        var rewritten = $"{parts[0]}.{Base64UrlEncoder.Encode(forgedClaims)}.{parts[2]}";
        // The same claims with the algorithm stripped.
        var unsigned = $"{Base64UrlEncoder.Encode("{\"alg\":\"none\",\"typ\":\"at+jwt\"}")}.{parts[1]}.";
        // The same claims signed by a key of our own under the server's kid.
        using var attackerKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var signingInput = $"{Base64UrlEncoder.Encode(header.ToString())}.{parts[1]}";
        var attackerSignature = attackerKey.SignData(Encoding.ASCII.GetBytes(signingInput), HashAlgorithmName.SHA256);
        var foreignSigned = $"{signingInput}.{Base64UrlEncoder.Encode(attackerSignature)}";

        var wrong = new List<string>();
        foreach (var (name, forged) in new[] { ("flipped signature", badSignature), ("rewritten claims", rewritten), ("alg none", unsigned), ("foreign key", foreignSigned) })
        {
            foreach (var path in new[] { $"/api/v1/orgs/{orgId}/api-keys", $"/api/v1/orgs/{otherOrg}/api-keys" })
            {
                var response = await _server.CreateClient(forged).GetAsync(path);
                if (response.StatusCode != 401)
                {
                    wrong.Add($"{name} on {path}: {response}");
                }
            }
        }

        wrong.ShouldBeEmpty();
        (await _server.CreateClient(token).GetAsync($"/api/v1/orgs/{orgId}/api-keys")).StatusCode.ShouldBe(200);
    }

    [Fact]
    public async Task A_token_is_refused_where_only_an_api_key_is_meant_to_be_presented()
    {
        var orgId = await _server.CreateOrgAsync();
        var client = await _server.CreateSecretClientAsync(orgId, ["api_keys:verify"]);
        var token = await _server.AccessTokenAsync(client);

        // A token is a credential to call the API, not a key an application verifies on behalf of its users.
        var verified = await _server.Root.VerifyAsync(new { key = token });

        // Refused either as a malformed key (422, a JWT is longer than any key) or as an invalid one; never valid.
        verified.StatusCode.ShouldBeOneOf([200, 422], verified.Text);
        if (verified.StatusCode == 200)
        {
            verified.Data.GetProperty("valid").GetBoolean().ShouldBeFalse();
        }
    }
}
