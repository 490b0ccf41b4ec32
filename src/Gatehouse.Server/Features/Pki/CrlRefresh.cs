using Gatehouse.Server.Platform.Jobs;
using Gatehouse.Server.Platform.Storage;
using Microsoft.EntityFrameworkCore;

namespace Gatehouse.Server.Features.Pki;

/// <summary>
/// Re-signs each organization's CRL with the next number once half its validity has passed, so a
/// relying party never holds a CRL past its <c>nextUpdate</c> even when nothing was revoked. Each
/// organization is refreshed in its own transaction under its CRL lock, so a refresh never races a revocation.
/// </summary>
public sealed class CrlRefresh(IServiceScopeFactory scopes, PkiOptions options, JobRunner runner, JobRegistry jobs, TimeProvider clock, ILogger<CrlRefresh> logger)
    : PeriodicJob(runner, jobs, clock, logger)
{
    public const string JobName = "pki-crl-refresh";

    public override string Name => JobName;

    public override string Description => "Re-signs certificate revocation lists before they lapse (halfway through their validity).";

    public override TimeSpan Interval => TimeSpan.FromMinutes(10);

    public override async Task<JobPass> RunPassAsync(JobPassContext pass, CancellationToken cancellationToken)
    {
        var due = Clock.GetUtcNow().UtcDateTime.AddHours(options.CrlValidityHours / 2.0);
        List<string> orgIds;
        await using (var scope = scopes.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<GatehouseDb>();
            orgIds = await db.Set<CertificateAuthorityRecord>().AsNoTracking().Where(a => a.CrlNextUpdate < due).OrderBy(a => a.OrgId)
                .Select(a => a.OrgId).ToListAsync(cancellationToken);
        }

        foreach (var orgId in orgIds)
        {
            await using var scope = scopes.CreateAsyncScope();
            var db = scope.ServiceProvider.GetRequiredService<GatehouseDb>();
            var changes = scope.ServiceProvider.GetRequiredService<ChangeSet>();
            var authorities = scope.ServiceProvider.GetRequiredService<OrgCertificateAuthorities>();
            await changes.RunAsync(ct => authorities.RefreshCrlAsync(db, orgId, ct), cancellationToken);
        }

        return new JobPass(Succeeded: true, DidWork: orgIds.Count > 0);
    }
}
