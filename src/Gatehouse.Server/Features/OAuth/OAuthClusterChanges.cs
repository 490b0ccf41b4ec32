using Gatehouse.Server.Platform.Cluster;

namespace Gatehouse.Server.Features.OAuth;

/// <summary>
/// Other nodes' changes reach this node's OAuth state: a changed or deleted client is read again
/// (its token generation decides which tokens live); an owner's or the organization's change drops
/// the organization's clients; a revoked token reloads the deny-list; a signing-key rotation reloads the keys.
/// </summary>
internal sealed class OAuthClusterChanges(OAuthClientCache clients, RevokedTokens revoked, SigningKeyStore signingKeys) : IClusterChangeHandler
{
    public void Apply(IReadOnlyList<ClusterChange> changes)
    {
        foreach (var change in changes)
        {
            if (change.Action.StartsWith("oauth_client.", StringComparison.Ordinal) && change.TargetId is { } clientId)
            {
                clients.Evict(clientId);
            }
            else if (change.Action == OAuthActions.RevokeToken.Name)
            {
                revoked.Reload();
            }
            else if (change.Action.StartsWith("oauth_signing_key.", StringComparison.Ordinal))
            {
                signingKeys.Reload();
            }
            else if (change.OrgId is { } orgId && (change.Action.StartsWith("org.", StringComparison.Ordinal)
                || change.Action.StartsWith("user.", StringComparison.Ordinal) || change.Action.StartsWith("service_account.", StringComparison.Ordinal)))
            {
                clients.EvictOrg(orgId);
            }
        }
    }

    public void Reset()
    {
        clients.Clear();
        revoked.Reload();
        signingKeys.Reload();
    }
}
