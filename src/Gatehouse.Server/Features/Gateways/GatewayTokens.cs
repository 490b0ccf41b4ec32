using System.Security.Cryptography;
using Gatehouse.Contracts;
using Gatehouse.Server.Platform.Auth;
using Gatehouse.Server.Platform.Storage;
using Microsoft.EntityFrameworkCore;

namespace Gatehouse.Server.Features.Gateways;

/// <summary>The gateway token format: <c>gkg_</c> and 32 random bytes in base64url (256 bits).</summary>
public static class GatewayTokens
{
    public const string Prefix = "gkg_";
    private const int Length = 4 + 43;

    public static string Generate() => Prefix + Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    /// <summary>Prefix and length only: anything else is left to the other resolvers.</summary>
    public static bool LooksLike(string text) => text.Length == Length && text.StartsWith(Prefix, StringComparison.Ordinal);
}

/// <summary>
/// Resolves <c>gkg_…</c> tokens (sent as <c>X-Gateway-Token</c>, or as a bearer token) to the
/// gateway's principal: actor kind <c>gateway</c>, its organization, no platform permissions. The
/// token is looked up by its keyed hash, so the comparison never touches the secret itself.
/// </summary>
public sealed class GatewayCredentialResolver(IServiceScopeFactory scopes) : ICredentialResolver
{
    public const string InvalidTokenMessage = "The gateway token is not valid.";

    public CredentialShape Shape => CredentialShape.OpaqueSecret;

    public async ValueTask<CredentialOutcome?> ResolveAsync(PresentedCredential credential, HttpContext httpContext, CancellationToken cancellationToken)
    {
        if (!GatewayTokens.LooksLike(credential.Text))
        {
            return null;
        }

        var hash = credential.Digest.ToHex();
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<GatehouseDb>();
        var gateway = await db.Set<Gateway>().AsNoTracking().Where(g => g.TokenHash == hash).Select(g => new { g.Id, g.OrgId }).FirstOrDefaultAsync(cancellationToken);
        return gateway is null
            ? CredentialOutcome.Failure(ErrorCodes.AuthenticationFailed, InvalidTokenMessage)
            : CredentialOutcome.Success(new Principal(ActorKind.Gateway, gateway.Id, gateway.OrgId, [], AuthenticationMethod.SecretKey) { SubjectId = gateway.Id });
    }
}
