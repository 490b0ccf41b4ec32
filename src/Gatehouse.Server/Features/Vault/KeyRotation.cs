using System.Security.Cryptography;
using Gatehouse.Contracts.Vault;
using Gatehouse.Crypto;
using Gatehouse.Server.Platform.Http;
using Gatehouse.Server.Platform.Jobs;
using Gatehouse.Server.Platform.Storage;
using Gatehouse.Server.Platform.Tenancy;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.EntityFrameworkCore;

namespace Gatehouse.Server.Features.Vault;

public static class KeyRotation
{
    public static async Task<Results<ApiOk<IReadOnlyList<RotatedDataKey>>, ApiError>> Rotate(
        RotateDataKeysRequest? request, GatehouseDb db, VaultKeyring keyring, OrgDirectory orgs, ChangeSet changes, DataKeyReencryption reencryption, CancellationToken cancellationToken)
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
            // One order for every caller, so two rotations of all organizations never lock crosswise.
            targets = await db.Set<Organization>().Where(o => o.DeletedAt == null).OrderBy(o => o.Id).Select(o => o.Id).ToListAsync(cancellationToken);
        }

        // The new key versions and their audit events commit together, or not at all.
        var rotated = new List<RotatedDataKey>();
        await changes.RunAsync(async ct =>
        {
            foreach (var target in targets)
            {
                // Exclusive: concurrent rotations of one org cannot pick the same next version, and a
                // reveal holding the shared side never meets a version added after its keyring loaded.
                await DataKeyLock.ForRetiringAsync(db, target, ct);
                var version = await keyring.RotateAsync(db, target, ct);
                changes.Record(VaultActions.RotateDataKey, target, $"{target}/v{version}", new { version });
                rotated.Add(new RotatedDataKey(target, version));
            }
        }, cancellationToken);
        reencryption.Wake();
        return new ApiOk<IReadOnlyList<RotatedDataKey>>(rotated);
    }

    public static async Task<Results<ApiOk<IReadOnlyList<KeyringEntry>>, ApiError>> List([FromQuery] string? orgId, GatehouseDb db, CancellationToken cancellationToken)
    {
        var query = (orgId is null ? db.Set<DataKey>() : db.Owned<DataKey>(orgId)).AsNoTracking();

        var keys = await query.OrderBy(k => k.OrgId).ThenBy(k => k.Version).ToListAsync(cancellationToken);
        var counts = await db.Set<CredentialVersion>().GroupBy(v => new { v.OrgId, v.KeyVersion })
            .Select(g => new { g.Key.OrgId, g.Key.KeyVersion, Count = g.Count() }).ToListAsync(cancellationToken);
        var current = keys.GroupBy(k => k.OrgId).ToDictionary(g => g.Key, g => g.Max(k => k.Version));
        return new ApiOk<IReadOnlyList<KeyringEntry>>([.. keys.Select(k => new KeyringEntry(k.OrgId, k.Version, current[k.OrgId] == k.Version,
            counts.FirstOrDefault(c => c.OrgId == k.OrgId && c.KeyVersion == k.Version)?.Count ?? 0, k.CreatedAt, k.RetiredAt))]);
    }
}

/// <summary>What one run of the re-encryption job did.</summary>
/// <param name="Moved">Records re-encrypted under their organization's current data key.</param>
/// <param name="Skipped">Records that could not be opened (<c>credentialId/version</c>): left as they are, their key kept.</param>
/// <param name="Complete">Every organization was gone through (not stopped by the batch limit or a failure).</param>
/// <param name="Retired">Data keys destroyed because nothing uses them any more.</param>
public sealed record ReencryptionRun(int Moved, IReadOnlyList<string> Skipped, bool Complete, int Retired = 0);

/// <summary>
/// Re-encrypts credential versions still sealed under an older data key, in batches, and retires
/// an old key (destroys its wrapped bytes) once nothing uses it. Its progress is the data itself —
/// records still on an old version — so a crash halfway loses nothing: the next run continues.
/// A record that cannot be opened is skipped and reported (log, run result, admin health); it
/// keeps its key version alive, and neither stops the run nor the other records and organizations.
/// </summary>
public sealed class DataKeyReencryption(IServiceScopeFactory scopes, VaultKeyring keyring, JobRunner runner, JobRegistry jobs, TimeProvider clock, VaultOptions options, ILogger<DataKeyReencryption> logger)
    : PeriodicJob(runner, jobs, clock, logger)
{
    public const string JobName = "dek-reencrypt";
    public const int BatchSize = 100;
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, IReadOnlyList<string>> _unreadable = new(StringComparer.Ordinal);
    private bool _lastRunFailed;

    public override string Name => JobName;

    public override TimeSpan Interval => TimeSpan.FromSeconds(30);

    public override string Description => "Re-encrypts vault records still sealed under an older data key and retires data keys nothing uses any more.";

    /// <summary>A manual run may be limited to one organization.</summary>
    public override bool AcceptsOrg => true;

    /// <summary>Tests that drive the job batch by batch (to stop it halfway, like a crash) switch the loop off.</summary>
    public override bool Scheduled => options.ReencryptInBackground;

    /// <summary>Batches are small transactions of their own; one pass goes through every organization (or the one asked for).</summary>
    public override async Task<JobPass> RunPassAsync(JobPassContext pass, CancellationToken cancellationToken)
    {
        var run = await RunAsync(int.MaxValue, cancellationToken, pass);
        return new JobPass(!_lastRunFailed, _unreadable.Values.Sum(v => v.Count), DidWork: run.Moved > 0 || run.Skipped.Count > 0 || run.Retired > 0);
    }

    /// <summary>Records (<c>credentialId/version</c>) the last complete pass over their organization could not open; they keep their old key.</summary>
    public IReadOnlyList<string> Unreadable => [.. _unreadable.OrderBy(o => o.Key, StringComparer.Ordinal).SelectMany(o => o.Value)];

    /// <summary>Re-encrypts at most <paramref name="maxBatches"/> batches, then retires unused keys if every organization was gone through.</summary>
    public async Task<ReencryptionRun> RunAsync(int maxBatches, CancellationToken cancellationToken, JobPassContext? pass = null)
    {
        pass ??= JobPassContext.Detached();
        List<(string OrgId, int Current)> orgs;
        long total;
        await using (var scope = scopes.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<GatehouseDb>();
            var keys = db.Set<DataKey>().Where(k => k.WrappedKey != null);
            if (pass.OrgId is { } only)
            {
                keys = keys.Where(k => k.OrgId == only);
            }

            orgs = [.. (await keys.GroupBy(k => k.OrgId)
                .Select(g => new { OrgId = g.Key, Current = g.Max(k => k.Version) }).OrderBy(o => o.OrgId).ToListAsync(cancellationToken))
                .Select(o => (o.OrgId, o.Current))];

            // The progress total: every record on an older key when the pass starts.
            total = 0;
            foreach (var (orgId, current) in orgs)
            {
                total += await db.Owned<CredentialVersion>(orgId).LongCountAsync(v => v.KeyVersion < current, cancellationToken);
            }
        }

        long done = 0;
        await pass.Progress.ReportAsync(done, total);

        var moved = 0;
        var batches = 0;
        var skipped = new List<string>();
        var completed = new List<string>();
        var complete = true;
        var failed = false;
        foreach (var (orgId, current) in orgs)
        {
            var skippedBefore = skipped.Count;
            var orgComplete = true;
            // Each run passes over an org's stale records once, in key order: a skipped record is
            // behind the cursor, so it cannot fill every batch and starve the records after it.
            (string CredentialId, int Version)? cursor = null;
            while (true)
            {
                if (batches >= maxBatches)
                {
                    orgComplete = false;
                    break;
                }

                Batch batch;
                try
                {
                    batch = await ReencryptBatchAsync(orgId, current, cursor, skipped, cancellationToken);
                }
                catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
                {
                    // One organization's failure (a credential deleted under the batch, a lost
                    // connection) waits for the next run; the other organizations go on now.
                    Logger.LogWarning(ex, "Data-key re-encryption of organization {OrgId} failed; it resumes on the next run", orgId);
                    failed = true;
                    orgComplete = false;
                    break;
                }

                if (batch.Read == 0)
                {
                    break;
                }

                batches++;
                moved += batch.Moved;
                done += batch.Read;
                await pass.Progress.ReportAsync(Math.Min(done, total), total);
                cursor = batch.Cursor;
                if (batch.Read < BatchSize)
                {
                    break;
                }
            }

            if (!orgComplete)
            {
                complete = false;
                if (batches >= maxBatches)
                {
                    break;
                }

                continue;
            }

            // Other features' records sealed under the org's keys (content file keys), once the credentials are done.
            try
            {
                (var userMoved, batches) = await ReencryptUsersAsync(orgId, batches, maxBatches, skipped, cancellationToken);
                moved += userMoved;
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                Logger.LogWarning(ex, "Data-key re-encryption of organization {OrgId} failed; it resumes on the next run", orgId);
                failed = true;
                complete = false;
                continue;
            }

            if (batches >= maxBatches)
            {
                complete = false;
                break;
            }

            completed.Add(orgId);
            if (skipped.Count > skippedBefore)
            {
                _unreadable[orgId] = skipped[skippedBefore..];
            }
            else
            {
                _unreadable.TryRemove(orgId, out _);
            }
        }

        foreach (var gone in _unreadable.Keys.Where(o => pass.OrgId is null && !orgs.Any(x => x.OrgId == o)))
        {
            _unreadable.TryRemove(gone, out _);
        }

        // Only organizations gone through to the end: elsewhere a record may still be on an old key.
        var retired = await RetireUnusedAsync(completed, cancellationToken);
        _lastRunFailed = failed;
        return new ReencryptionRun(moved, skipped, complete, retired);
    }

    private sealed record Batch(int Read, int Moved, (string CredentialId, int Version)? Cursor);

    private async Task<Batch> ReencryptBatchAsync(string orgId, int current, (string CredentialId, int Version)? cursor, List<string> skipped, CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<GatehouseDb>();
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        // Sealing under the keyring loaded here: no version of it may be retired before this commits.
        await DataKeyLock.ForSealingAsync(db, orgId, cancellationToken);
        var query = db.Owned<CredentialVersion>(orgId).Where(v => v.KeyVersion < current);
        if (cursor is var (afterId, afterVersion))
        {
            query = query.Where(v => string.Compare(v.CredentialId, afterId) > 0 || (v.CredentialId == afterId && v.Version > afterVersion));
        }

        var stale = await query.OrderBy(v => v.CredentialId).ThenBy(v => v.Version).Take(BatchSize).ToListAsync(cancellationToken);
        if (stale.Count == 0)
        {
            return new Batch(0, 0, cursor);
        }

        var ring = await keyring.LoadAsync(db, orgId, cancellationToken);
        var moved = 0;
        foreach (var version in stale)
        {
            var aad = AssociatedData.ForCredential(version.OrgId, version.CredentialId, version.Version);
            byte[]? plaintext = null;
            try
            {
                plaintext = ring?.Open(version.Ciphertext, aad);
            }
            catch (CryptographicException)
            {
                // Reported below.
            }

            if (ring is null || plaintext is null)
            {
                // Never the contents: the record's identity is all an operator needs to find it.
                Logger.LogError("Credential {CredentialId} version {Version} of organization {OrgId} cannot be opened; it is skipped and its data key {KeyVersion} kept",
                    version.CredentialId, version.Version, orgId, version.KeyVersion);
                skipped.Add($"{version.CredentialId}/{version.Version}");
                continue;
            }

            try
            {
                version.Ciphertext = ring.Seal(plaintext, aad);
                version.KeyVersion = (int)ring.CurrentVersion;
                moved++;
            }
            finally
            {
                CryptographicOperations.ZeroMemory(plaintext);
            }
        }

        await db.SaveChangesAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        var last = stale[^1];
        return new Batch(stale.Count, moved, (last.CredentialId, last.Version));
    }

    /// <summary>
    /// Re-seals other features' records (<see cref="IDataKeyUser.ReencryptAsync"/>) of one organization
    /// in batches, each its own transaction under the sealing side of the key lock; stops at the batch limit.
    /// </summary>
    private async Task<(int Moved, int Batches)> ReencryptUsersAsync(string orgId, int batches, int maxBatches, List<string> skipped, CancellationToken cancellationToken)
    {
        var moved = 0;
        int userCount;
        await using (var probe = scopes.CreateAsyncScope())
        {
            userCount = probe.ServiceProvider.GetServices<IDataKeyUser>().Count();
        }

        for (var index = 0; index < userCount; index++)
        {
            string? after = null;
            while (batches < maxBatches)
            {
                await using var scope = scopes.CreateAsyncScope();
                var db = scope.ServiceProvider.GetRequiredService<GatehouseDb>();
                var user = scope.ServiceProvider.GetServices<IDataKeyUser>().ElementAt(index);
                await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
                await DataKeyLock.ForSealingAsync(db, orgId, cancellationToken);
                var ring = await keyring.LoadAsync(db, orgId, cancellationToken);
                if (ring is null)
                {
                    return (moved, batches);
                }

                var batch = await user.ReencryptAsync(db, ring, orgId, after, BatchSize, cancellationToken);
                await db.SaveChangesAsync(cancellationToken);
                await transaction.CommitAsync(cancellationToken);
                if (batch.Read == 0)
                {
                    break;
                }

                batches++;
                moved += batch.Moved;
                foreach (var record in batch.Unreadable)
                {
                    // Never the contents: the record's identity is all an operator needs to find it.
                    Logger.LogError("Record {Record} of organization {OrgId} cannot be opened; it is skipped and its data key kept", record, orgId);
                    skipped.Add(record);
                }

                after = batch.Last;
                if (batch.Read < BatchSize)
                {
                    break;
                }
            }
        }

        return (moved, batches);
    }

    /// <summary>Per organization, under the exclusive side of its key lock: no writer is between loading a key and committing.</summary>
    private async Task<int> RetireUnusedAsync(IReadOnlyList<string> orgIds, CancellationToken cancellationToken)
    {
        var retired = 0;
        foreach (var orgId in orgIds)
        {
            await using var scope = scopes.CreateAsyncScope();
            var db = scope.ServiceProvider.GetRequiredService<GatehouseDb>();
            await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
            await DataKeyLock.ForRetiringAsync(db, orgId, cancellationToken);
            var keys = await db.Owned<DataKey>(orgId).Where(k => k.WrappedKey != null).ToListAsync(cancellationToken);
            var current = keys.Max(k => (int?)k.Version) ?? 0;
            if (keys.Count < 2)
            {
                continue;
            }

            foreach (var old in keys.Where(k => k.Version < current))
            {
                // A record still on the version — a skipped one included — keeps it alive.
                var used = await db.Owned<CredentialVersion>(orgId).AnyAsync(v => v.KeyVersion == old.Version, cancellationToken);
                foreach (var user in scope.ServiceProvider.GetServices<IDataKeyUser>())
                {
                    used = used || await user.UsesAsync(db, orgId, old.Version, cancellationToken);
                }

                if (!used)
                {
                    old.WrappedKey = null;
                    retired++;
                    old.RetiredAt = Clock.GetUtcNow().UtcDateTime;
                }
            }

            await db.SaveChangesAsync(cancellationToken);
            await transaction.CommitAsync(cancellationToken);
        }

        return retired;
    }
}
