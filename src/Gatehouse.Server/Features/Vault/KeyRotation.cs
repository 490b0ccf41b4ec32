using Gatehouse.Crypto;
using Gatehouse.Server.Features.Audit;
using Gatehouse.Server.Platform.Http;
using Gatehouse.Server.Platform.Jobs;
using Gatehouse.Server.Platform.Storage;
using Gatehouse.Server.Platform.Tenancy;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.EntityFrameworkCore;

namespace Gatehouse.Server.Features.Vault;

/// <summary>Rotate data keys of one organization, or of all when <c>orgId</c> is absent.</summary>
public sealed record RotateDataKeysRequest
{
    public string? OrgId { get; init; }
}

/// <summary>The new current data-key version of an organization.</summary>
public sealed record RotatedDataKey(string OrgId, int Version);

/// <summary>One data-key version and how many credential versions it still protects.</summary>
public sealed record KeyringEntry(string OrgId, int Version, bool Current, int Records, DateTime CreatedAt, DateTime? RetiredAt);

public static class KeyRotation
{
    public static async Task<Results<ApiOk<IReadOnlyList<RotatedDataKey>>, ApiError>> Rotate(
        RotateDataKeysRequest? request, GatehouseDb db, VaultKeyring keyring, OrgDirectory orgs, AuditLog audit, DataKeyReencryption reencryption, CancellationToken cancellationToken)
    {
        List<string> targets;
        if (request?.OrgId is { } orgId)
        {
            if (!await orgs.ExistsAsync(orgId, cancellationToken))
            {
                return ApiError.NotFound("organization");
            }

            targets = [orgId];
        }
        else
        {
            targets = await db.Set<Organization>().Where(o => o.DeletedAt == null).Select(o => o.Id).ToListAsync(cancellationToken);
        }

        // The new key versions and their audit events commit together, or not at all.
        var rotated = new List<RotatedDataKey>();
        await using (var transaction = await db.Database.BeginTransactionAsync(cancellationToken))
        {
            foreach (var target in targets)
            {
                var version = await keyring.RotateAsync(db, target, cancellationToken);
                audit.Record(target, "dek.rotate", "data_key", $"{target}/v{version}", new { version });
                rotated.Add(new RotatedDataKey(target, version));
            }

            await audit.SaveChangesAsync(cancellationToken);
            await transaction.CommitAsync(cancellationToken);
        }

        await audit.AfterOuterCommitAsync();
        reencryption.Wake();
        return new ApiOk<IReadOnlyList<RotatedDataKey>>(rotated);
    }

    public static async Task<Results<ApiOk<IReadOnlyList<KeyringEntry>>, ApiError>> List([FromQuery] string? orgId, GatehouseDb db, CancellationToken cancellationToken)
    {
        var query = db.Set<DataKey>().AsNoTracking();
        if (orgId is not null)
        {
            query = query.Where(k => k.OrgId == orgId);
        }

        var keys = await query.OrderBy(k => k.OrgId).ThenBy(k => k.Version).ToListAsync(cancellationToken);
        var counts = await db.Set<CredentialVersion>().GroupBy(v => new { v.OrgId, v.KeyVersion })
            .Select(g => new { g.Key.OrgId, g.Key.KeyVersion, Count = g.Count() }).ToListAsync(cancellationToken);
        var current = keys.GroupBy(k => k.OrgId).ToDictionary(g => g.Key, g => g.Max(k => k.Version));
        return new ApiOk<IReadOnlyList<KeyringEntry>>([.. keys.Select(k => new KeyringEntry(k.OrgId, k.Version, current[k.OrgId] == k.Version,
            counts.FirstOrDefault(c => c.OrgId == k.OrgId && c.KeyVersion == k.Version)?.Count ?? 0, k.CreatedAt, k.RetiredAt))]);
    }
}

/// <summary>
/// Re-encrypts credential versions still sealed under an older data key, in batches, and retires
/// an old key (destroys its wrapped bytes) once nothing uses it. Its progress is the data itself —
/// records still on an old version — so a crash halfway loses nothing: the next run continues.
/// </summary>
public sealed class DataKeyReencryption(IServiceScopeFactory scopes, VaultKeyring keyring, JobRegistry jobs, TimeProvider clock, IConfiguration configuration, ILogger<DataKeyReencryption> logger) : BackgroundService
{
    public const string JobName = "dek-reencrypt";
    public const int BatchSize = 100;
    private readonly SemaphoreSlim _wake = new(0);

    public void Wake() => _wake.Release();

    public override Task StartAsync(CancellationToken cancellationToken)
    {
        jobs.Register(JobName);
        return base.StartAsync(cancellationToken);
    }

    /// <summary>Re-encrypts at most <paramref name="maxBatches"/> batches; returns how many records moved.</summary>
    public async Task<int> RunAsync(int maxBatches, CancellationToken cancellationToken)
    {
        var moved = 0;
        for (var batch = 0; batch < maxBatches; batch++)
        {
            await using var scope = scopes.CreateAsyncScope();
            var db = scope.ServiceProvider.GetRequiredService<GatehouseDb>();
            var currents = await db.Set<DataKey>().Where(k => k.WrappedKey != null).GroupBy(k => k.OrgId)
                .Select(g => new { OrgId = g.Key, Current = g.Max(k => k.Version) }).ToListAsync(cancellationToken);
            var stale = new List<CredentialVersion>();
            foreach (var org in currents)
            {
                stale.AddRange(await db.Set<CredentialVersion>().Where(v => v.OrgId == org.OrgId && v.KeyVersion < org.Current)
                    .Take(BatchSize - stale.Count).ToListAsync(cancellationToken));
                if (stale.Count >= BatchSize)
                {
                    break;
                }
            }

            if (stale.Count == 0)
            {
                await RetireUnusedAsync(db, cancellationToken);
                break;
            }

            foreach (var group in stale.GroupBy(v => v.OrgId))
            {
                var ring = await keyring.ForOrgAsync(db, group.Key, cancellationToken);
                foreach (var version in group)
                {
                    var aad = AssociatedData.ForCredential(version.OrgId, version.CredentialId, version.Version);
                    version.Ciphertext = ring.Seal(ring.Open(version.Ciphertext, aad), aad);
                    version.KeyVersion = (int)ring.CurrentVersion;
                }
            }

            await db.SaveChangesAsync(cancellationToken);
            moved += stale.Count;
        }

        jobs.ReportRun(JobName, succeeded: true, clock.GetUtcNow().UtcDateTime);
        return moved;
    }

    private async Task RetireUnusedAsync(GatehouseDb db, CancellationToken cancellationToken)
    {
        var keys = await db.Set<DataKey>().Where(k => k.WrappedKey != null).ToListAsync(cancellationToken);
        foreach (var org in keys.GroupBy(k => k.OrgId))
        {
            var current = org.Max(k => k.Version);
            foreach (var old in org.Where(k => k.Version < current))
            {
                var used = await db.Set<CredentialVersion>().AnyAsync(v => v.OrgId == old.OrgId && v.KeyVersion == old.Version, cancellationToken);
                if (!used)
                {
                    old.WrappedKey = null;
                    old.RetiredAt = clock.GetUtcNow().UtcDateTime;
                }
            }
        }

        await db.SaveChangesAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // Tests that drive the job batch by batch (to stop it halfway, like a crash) switch the loop off.
        if (!configuration.GetValue("Gatehouse:Vault:ReencryptInBackground", true))
        {
            return;
        }

        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await _wake.WaitAsync(TimeSpan.FromSeconds(30), stoppingToken);
                while (await RunAsync(10, stoppingToken) > 0)
                {
                    // Keep going while there is work; each round is 10 batches.
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                jobs.ReportRun(JobName, succeeded: false, clock.GetUtcNow().UtcDateTime);
                logger.LogWarning(ex, "Data-key re-encryption failed; it resumes on the next run");
            }
        }
    }
}
