using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Gatehouse.Contracts.Content;
using Gatehouse.Crypto;
using Gatehouse.Server.Platform;
using Gatehouse.Server.Platform.Http;
using Gatehouse.Server.Platform.Storage;
using Gatehouse.Server.Platform.Tenancy;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.EntityFrameworkCore;

namespace Gatehouse.Server.Features.Content;

/// <summary>
/// Consents are append-only and chained per organization: each record's hash covers the previous
/// hash and the record's fields, with the subject only as a keyed digest. Erasing a person empties
/// their <c>subject</c> column and keeps the digest, so the chain verifies before and after.
/// </summary>
public static class ConsentOperations
{
    /// <summary>The purpose a DRM rule with <c>requireConsent</c> asks recipients for.</summary>
    public const string ContentAccessPurpose = "content_access";

    private const string Genesis = "0000000000000000000000000000000000000000000000000000000000000000";

    public static async Task<Results<ApiCreated<ConsentView>, ApiError>> Record(
        string orgId, RecordConsentRequest request, GatehouseDb db, ChangeSet changes, SecretHasher hasher, TimeProvider clock, CancellationToken cancellationToken)
    {
        var validation = new Validation().Required("subject", request.Subject, 254).Required("purpose", request.Purpose, 100).Required("policyVersion", request.PolicyVersion, 50);
        if (request.Granted is null)
        {
            validation.Add("granted", "required");
        }

        if (!validation.IsValid)
        {
            return validation.ToError();
        }

        var record = await changes.RunAsync(ct => AppendAsync(db, changes, hasher, clock, orgId, request.Subject!, request.Purpose!, request.PolicyVersion!, request.Granted!.Value, ct), cancellationToken);
        return new ApiCreated<ConsentView>(ContentViews.View(record));
    }

    public static async Task<Results<ApiPage<ConsentView>, ApiError>> List(
        string orgId, [AsParameters] PageParameters paging, [FromQuery] string? subject, [FromQuery] string? purpose, GatehouseDb db, SecretHasher hasher, CancellationToken cancellationToken)
    {
        if (!paging.TryParse(out var page, out var error))
        {
            return error!;
        }

        var query = db.Owned<ConsentRecord>(orgId).AsNoTracking();
        if (subject is not null)
        {
            var digest = Digest(hasher, subject);
            query = query.Where(c => c.SubjectDigest == digest);
        }

        if (purpose is not null)
        {
            query = query.Where(c => c.Purpose == purpose);
        }

        query = query.ApplyWindow(page);
        var total = await query.LongCountAsync(cancellationToken);
        var items = await query.ApplySortAndPage(page).ToListAsync(cancellationToken);
        return new ApiPage<ConsentView>([.. items.Select(ContentViews.View)], page.Paginate(total));
    }

    public static async Task<Results<ApiOk<ConsentStatusView>, ApiError>> Status(string orgId, [FromQuery] string? subject, GatehouseDb db, SecretHasher hasher, CancellationToken cancellationToken)
    {
        if (string.IsNullOrWhiteSpace(subject))
        {
            return ApiError.Validation("subject", "required");
        }

        var digest = Digest(hasher, subject);
        var records = await db.Owned<ConsentRecord>(orgId).AsNoTracking().Where(c => c.SubjectDigest == digest).OrderBy(c => c.Seq).ToListAsync(cancellationToken);
        var latest = records.GroupBy(r => r.Purpose).Select(g => g.Last()).OrderBy(r => r.Purpose, StringComparer.Ordinal)
            .Select(r => new ConsentPurposeStatus(r.Purpose, r.Granted, r.PolicyVersion, r.CreatedAt)).ToList();
        return new ApiOk<ConsentStatusView>(new ConsentStatusView(subject, latest));
    }

    public static async Task<Results<ApiOk<ConsentChainView>, ApiError>> Verify(string orgId, GatehouseDb db, CancellationToken cancellationToken)
    {
        var previous = Genesis;
        long count = 0;
        long expectedSeq = 1;
        await foreach (var record in db.Owned<ConsentRecord>(orgId).AsNoTracking().OrderBy(c => c.Seq).AsAsyncEnumerable().WithCancellation(cancellationToken))
        {
            count++;
            var expected = HashOf(previous, record.Id, record.OrgId, record.Seq, record.SubjectDigest, record.Purpose, record.PolicyVersion, record.Granted, record.CreatedAt);
            if (record.Seq != expectedSeq || !SecretComparison.AreEqual(record.PrevHash, previous) || !SecretComparison.AreEqual(record.Hash, expected))
            {
                return new ApiOk<ConsentChainView>(new ConsentChainView(false, count, record.Seq));
            }

            previous = record.Hash;
            expectedSeq++;
        }

        return new ApiOk<ConsentChainView>(new ConsentChainView(true, count, null));
    }

    /// <summary>Removes a person's personal data (the subject text) from every record; the digests and hashes stay.</summary>
    public static async Task<Results<ApiOk<ConsentErasureView>, ApiError>> Erase(
        string orgId, EraseConsentSubjectRequest request, GatehouseDb db, ChangeSet changes, SecretHasher hasher, CancellationToken cancellationToken)
    {
        var validation = new Validation().Required("subject", request.Subject, 254);
        if (!validation.IsValid)
        {
            return validation.ToError();
        }

        var digest = Digest(hasher, request.Subject!);
        var erased = await changes.RunAsync(async ct =>
        {
            var count = await db.Owned<ConsentRecord>(orgId).Where(c => c.SubjectDigest == digest && c.Subject != null)
                .ExecuteUpdateAsync(s => s.SetProperty(c => c.Subject, (string?)null), ct);
            // The audit names no person: only how many records were emptied.
            changes.Record(ContentActions.ConsentErase, orgId, null, new { records = count });
            return (long)count;
        }, cancellationToken);
        return new ApiOk<ConsentErasureView>(new ConsentErasureView(request.Subject!, erased));
    }

    /// <summary>Whether the subject's newest decision for <paramref name="purpose"/> is a grant.</summary>
    internal static async Task<bool> IsGrantedAsync(GatehouseDb db, SecretHasher hasher, string orgId, string subject, string purpose, CancellationToken cancellationToken)
    {
        var digest = Digest(hasher, subject);
        var latest = await db.Owned<ConsentRecord>(orgId).AsNoTracking().Where(c => c.SubjectDigest == digest && c.Purpose == purpose)
            .OrderByDescending(c => c.Seq).FirstOrDefaultAsync(cancellationToken);
        return latest?.Granted == true;
    }

    /// <summary>Appends one record at the head of the organization's chain; run inside the change set's transaction.</summary>
    internal static async Task<ConsentRecord> AppendAsync(
        GatehouseDb db, ChangeSet changes, SecretHasher hasher, TimeProvider clock, string orgId, string subject, string purpose, string policyVersion, bool granted,
        CancellationToken cancellationToken)
    {
        // One appender per organization at a time (SQLite: the transaction's write lock already is that).
        if (db.IsPostgres)
        {
            var key = "consents:" + orgId;
            await db.Database.ExecuteSqlAsync($"SELECT pg_advisory_xact_lock(hashtext({key}))", cancellationToken);
        }

        var head = await db.Owned<ConsentRecord>(orgId).AsNoTracking().OrderByDescending(c => c.Seq).Select(c => new { c.Seq, c.Hash }).FirstOrDefaultAsync(cancellationToken);
        var now = clock.GetUtcNow();
        var at = new DateTime(now.UtcDateTime.Ticks - now.UtcDateTime.Ticks % TimeSpan.TicksPerMillisecond, DateTimeKind.Utc);
        var id = Ids.New("cns", now);
        var seq = (head?.Seq ?? 0) + 1;
        var previous = head?.Hash ?? Genesis;
        var digest = Digest(hasher, subject);
        var record = new ConsentRecord
        {
            Id = id,
            OrgId = orgId,
            Seq = seq,
            Subject = subject.Trim(),
            SubjectDigest = digest,
            Purpose = purpose,
            PolicyVersion = policyVersion,
            Granted = granted,
            CreatedAt = at,
            PrevHash = previous,
            Hash = HashOf(previous, id, orgId, seq, digest, purpose, policyVersion, granted, at),
        };
        db.Add(record);
        changes.Record(ContentActions.ConsentRecord, orgId, id, new { seq, purpose, policyVersion, granted });
        return record;
    }

    /// <summary>Keyed with the server's pepper: a digest alone cannot be turned back into an address by guessing.</summary>
    private static string Digest(SecretHasher hasher, string subject) => hasher.Hash("consent-subject:" + subject.Trim().ToLowerInvariant());

    private static string HashOf(string previous, string id, string orgId, long seq, string subjectDigest, string purpose, string policyVersion, bool granted, DateTime at)
    {
        var text = string.Join('\n', previous, id, orgId, seq.ToString(CultureInfo.InvariantCulture), subjectDigest, purpose, policyVersion, granted ? "1" : "0",
            at.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture));
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));
    }
}
