using Gatehouse.Contracts.OAuth;
using Gatehouse.Server.Platform.Http;
using Gatehouse.Server.Platform.Storage;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Gatehouse.Server.Features.OAuth;

/// <summary>The root's view of the token-signing keys, and rotation on demand.</summary>
public static class SigningKeyOperations
{
    public static async Task<ApiOk<IReadOnlyList<SigningKeyView>>> List(SigningKeyStore keys, CancellationToken cancellationToken) =>
        new(await keys.ListAsync(cancellationToken));

    /// <summary>
    /// Publishes a new key now; it signs after <c>activateAfterSeconds</c> (default: the configured
    /// lead time), and the key it replaces stays published until its last token has expired.
    /// </summary>
    public static async Task<Results<ApiCreated<SigningKeyView>, ApiError>> Rotate(
        RotateSigningKeyRequest? request, SigningKeyStore keys, OAuthOptions options, GatehouseDb db, ChangeSet changes, CancellationToken cancellationToken)
    {
        var algorithm = request?.Algorithm ?? SigningAlgorithms.ES256;
        if (!SigningAlgorithms.All.Contains(algorithm))
        {
            return ApiError.Validation("algorithm", "must be ES256 or RS256");
        }

        var lead = request?.ActivateAfterSeconds ?? options.SigningKeyLeadSeconds;
        if (lead is < 0 or > 86_400)
        {
            return ApiError.Validation("activateAfterSeconds", "must be from 0 to 86400");
        }

        var view = keys.Add(db, algorithm, TimeSpan.FromSeconds(lead));
        changes.Record(OAuthActions.RotateSigningKey, null, view.Kid, new { view.Algorithm, view.ActivatesAt, reason = "requested" });
        await changes.CommitAsync(cancellationToken);
        await keys.ReloadAsync(cancellationToken);
        return new ApiCreated<SigningKeyView>(view);
    }
}
