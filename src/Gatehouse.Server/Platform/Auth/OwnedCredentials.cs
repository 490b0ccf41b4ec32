using Gatehouse.Server.Platform.Storage;

namespace Gatehouse.Server.Platform.Auth;

/// <summary>
/// Credentials that belong to an actor (a user's personal API keys, a service account's keys and
/// OAuth clients, named by their <c>ownerId</c>) follow that actor: when it is disabled they stop,
/// when it is enabled again they resume, when it is deleted they are revoked for good. Each feature
/// that issues owned credentials implements this once; the feature that owns the actor calls every
/// implementation inside its own change set, so the actor's change and its credentials' change
/// commit together or not at all.
/// </summary>
public interface IOwnedCredentials
{
    /// <summary>Stops (<paramref name="suspended"/> true) or resumes every live credential of the owner.</summary>
    Task SetOwnerSuspendedAsync(ChangeSet changes, string orgId, string ownerId, bool suspended, CancellationToken cancellationToken);

    /// <summary>Revokes every credential of the owner; returns how many were revoked.</summary>
    Task<int> RevokeOwnedAsync(ChangeSet changes, string orgId, string ownerId, CancellationToken cancellationToken);
}
