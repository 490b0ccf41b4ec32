using Gatehouse.Server.Platform.Jobs;
using Gatehouse.Server.Platform.Storage;
using Microsoft.EntityFrameworkCore;

namespace Gatehouse.Server.Features.OAuth;

/// <summary>
/// Rotates the token-signing keys: when the key signing an algorithm is older than
/// <see cref="OAuthOptions.SigningKeyRotationDays"/> and no successor is waiting, a successor is
/// published that starts signing after the lead time. Keys whose last possible token has expired
/// are deleted (they already left the JWKS). Hourly, on one node.
/// </summary>
public sealed class SigningKeyRotationJob(
    IServiceScopeFactory scopes, SigningKeyStore keys, OAuthOptions options, JobRunner runner, JobRegistry jobs, TimeProvider clock, ILogger<SigningKeyRotationJob> logger)
    : PeriodicJob(runner, jobs, clock, logger)
{
    public const string JobName = "oauth-signing-key-rotation";

    private static readonly (string Type, string Id) SystemActor = ("system", JobName);

    public override string Name => JobName;

    public override string Description => "Publishes a successor for a token-signing key older than the rotation period, and deletes keys whose tokens have all expired.";

    public override TimeSpan Interval => TimeSpan.FromHours(1);

    public override async Task<JobPass> RunPassAsync(JobPassContext pass, CancellationToken cancellationToken)
    {
        await keys.ReloadAsync(cancellationToken);
        var loaded = await keys.KeysAsync(cancellationToken);
        var now = Clock.GetUtcNow().UtcDateTime;
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<GatehouseDb>();
        var changes = scope.ServiceProvider.GetRequiredService<ChangeSet>();
        var worked = false;

        foreach (var algorithm in SigningAlgorithms.All)
        {
            var newest = loaded.Where(k => k.Algorithm == algorithm).MaxBy(k => k.ActivatesAt);
            if (newest is not null && newest.ActivatesAt <= now - TimeSpan.FromDays(options.SigningKeyRotationDays))
            {
                var view = keys.Add(db, algorithm, TimeSpan.FromSeconds(options.SigningKeyLeadSeconds));
                changes.Record(OAuthActions.RotateSigningKey, null, view.Kid, new { view.Algorithm, view.ActivatesAt, reason = "scheduled" }, SystemActor);
                worked = true;
            }
        }

        var expired = loaded.Where(k => !k.IsPublishedAt(now)).Select(k => k.Kid).ToList();
        if (expired.Count > 0)
        {
            await db.Set<OAuthSigningKey>().Where(k => expired.Contains(k.Kid)).ExecuteDeleteAsync(cancellationToken);
            worked = true;
        }

        if (changes.Pending.Count > 0)
        {
            await changes.CommitAsync(cancellationToken);
        }

        if (worked)
        {
            await keys.ReloadAsync(cancellationToken);
        }

        return new JobPass(Succeeded: true, DidWork: worked);
    }
}

/// <summary>Forgets revoked tokens and used client assertions once they would have expired anyway. Hourly, on one node.</summary>
public sealed class OAuthTokenPrune(IServiceScopeFactory scopes, RevokedTokens revoked, JobRunner runner, JobRegistry jobs, TimeProvider clock, ILogger<OAuthTokenPrune> logger)
    : PeriodicJob(runner, jobs, clock, logger)
{
    public const string JobName = "oauth-token-prune";

    public override string Name => JobName;

    public override string Description => "Deletes revoked-token records and used client assertions that have expired.";

    public override TimeSpan Interval => TimeSpan.FromHours(1);

    public override async Task<JobPass> RunPassAsync(JobPassContext pass, CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<GatehouseDb>();
        var now = Clock.GetUtcNow().UtcDateTime;
        var deleted = await db.Set<OAuthRevokedToken>().Where(t => t.ExpiresAt < now).ExecuteDeleteAsync(cancellationToken)
            + await db.Set<OAuthUsedAssertion>().Where(a => a.ExpiresAt < now).ExecuteDeleteAsync(cancellationToken);
        revoked.Prune();
        return new JobPass(Succeeded: true, DidWork: deleted > 0);
    }
}
