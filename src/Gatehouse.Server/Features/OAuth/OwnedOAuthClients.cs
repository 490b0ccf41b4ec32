using Gatehouse.Server.Platform.Auth;
using Gatehouse.Server.Platform.Storage;
using Gatehouse.Server.Platform.Tenancy;
using Microsoft.EntityFrameworkCore;

namespace Gatehouse.Server.Features.OAuth;

/// <summary>
/// OAuth clients follow their owner (a service account or user): disabled, the owner's clients stop
/// and every token they hold dies; enabled, they can obtain new tokens again (the old ones stay
/// dead); deleted, the clients are deleted in the owner's own transaction.
/// </summary>
public sealed class OwnedOAuthClients(GatehouseDb db, OAuthClientCache cache, TimeProvider clock) : IOwnedCredentials
{
    public async Task SetOwnerSuspendedAsync(ChangeSet changes, string orgId, string ownerId, bool suspended, CancellationToken cancellationToken)
    {
        var clients = await db.Owned<OAuthClient>(orgId).Where(c => c.OwnerId == ownerId && c.OwnerSuspended != suspended).ToListAsync(cancellationToken);
        var now = clock.GetUtcNow().UtcDateTime;
        foreach (var client in clients)
        {
            client.OwnerSuspended = suspended;
            client.UpdatedAt = now;
            if (suspended)
            {
                client.TokenGeneration++;
            }

            cache.EvictAfterCommit(changes, client.Id);
        }
    }

    public async Task<int> RevokeOwnedAsync(ChangeSet changes, string orgId, string ownerId, CancellationToken cancellationToken)
    {
        var clients = await db.Owned<OAuthClient>(orgId).Where(c => c.OwnerId == ownerId).ToListAsync(cancellationToken);
        foreach (var client in clients)
        {
            db.Remove(client);
            changes.Record(OAuthActions.Delete, orgId, client.Id, new { client.Name, client.OwnerId, reason = "owner_deleted" });
            cache.EvictAfterCommit(changes, client.Id);
        }

        return clients.Count;
    }
}
