using Gatehouse.Contracts;
using Gatehouse.Server.Platform.Auth;

namespace Gatehouse.Server.Features.ApiKeys;

/// <summary>
/// Organization keys call this API themselves: a key with platform permissions authenticates as
/// a principal of its own organization. Registered after the root resolver. A key that is not
/// ours (wrong format or unknown) is left to the next resolver; a known key that is revoked,
/// disabled, expired or used from outside its IP allowlist is rejected as INVALID_API_KEY with the
/// same message as an unknown one.
/// Credits and the key's own rate limits are for verify; platform policies limit API calls.
/// </summary>
internal sealed class ApiKeyCredentialResolver(KeyVerifier verifier, KeyUsageRecorder usage, TimeProvider clock) : ICredentialResolver
{
    public CredentialShape Shape => CredentialShape.OpaqueSecret;

    public async ValueTask<CredentialOutcome?> ResolveAsync(PresentedCredential credential, HttpContext httpContext, CancellationToken cancellationToken)
    {
        var key = await verifier.FindAsync(credential.Text, credential.Digest, null, cancellationToken);
        if (key is null)
        {
            return null;
        }

        var now = clock.GetUtcNow().UtcDateTime;
        // One answer for revoked, disabled, expired, out-of-allowlist and unknown keys alike: a
        // caller holding a leaked key learns nothing about it (verify's codes are the documented
        // exception, for the organization's own callers).
        if (KeyVerifier.CheckState(key, now) is not null
            || (key.IpAllowlist.Count > 0 && (httpContext.Connection.RemoteIpAddress is not { } address || !IpRanges.Contains(key.IpAllowlist, address))))
        {
            return CredentialOutcome.Failure(ErrorCodes.InvalidApiKey, Authentication.InvalidApiKeyMessage);
        }

        usage.Record(key.OrgId, key.Id, code: null, now, used: true);
        return key.AuthenticatedOutcome;
    }
}
