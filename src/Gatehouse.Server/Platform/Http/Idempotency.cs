using System.Security.Cryptography;
using System.Text;
using Gatehouse.Crypto;
using Gatehouse.Server.Platform.Auth;
using Gatehouse.Server.Platform.Cluster;
using Gatehouse.Server.Platform.Hosting;
using Gatehouse.Server.Platform.Jobs;
using Gatehouse.Server.Platform.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Gatehouse.Server.Platform.Http;

/// <summary>A POST executed under an <c>Idempotency-Key</c>: its request hash and, once done, its sealed response.</summary>
public sealed class IdempotencyRecord
{
    public required string Scope { get; init; }
    public required string Key { get; init; }
    public required string RequestHash { get; init; }
    public int? StatusCode { get; set; }
    public byte[]? SealedBody { get; set; }
    public DateTime CreatedAt { get; init; }

    /// <summary>The node executing the request (<c>ClusterNode.Id</c>); null once the response is stored.</summary>
    public string? OwnerNode { get; set; }

    /// <summary>Until when the owner may still be running it; afterwards another request may take it over.</summary>
    public DateTime? LeaseExpiresAt { get; set; }

    /// <summary>The request's change committed (set in the same transaction): it must never execute again.</summary>
    public bool Committed { get; set; }
}

internal sealed class IdempotencyRecordMapping : IEntityTypeConfiguration<IdempotencyRecord>
{
    public void Configure(EntityTypeBuilder<IdempotencyRecord> builder)
    {
        builder.ToTable("idempotency_records");
        builder.HasKey(r => new { r.Scope, r.Key });
    }
}

/// <summary>The idempotency record the current request executes under; the change set marks it committed.</summary>
public sealed class IdempotencyClaim(string scope, string key)
{
    public string Scope { get; } = scope;
    public string Key { get; } = key;

    /// <summary>A change of this request committed (and with it the record's <c>committed</c> flag).</summary>
    public bool Committed { get; set; }

    /// <summary>The claim the request executes under, if it was sent with an <c>Idempotency-Key</c> and the filter runs it.</summary>
    public static IdempotencyClaim? Of(HttpContext httpContext) =>
        // Most requests come without the header: no Items dictionary is made for them.
        httpContext.Request.Headers.ContainsKey(IdempotencyFilter.Header)
            && httpContext.Items.TryGetValue(IdempotencyFilter.ClaimItem, out var item) ? item as IdempotencyClaim : null;
}

/// <summary>
/// <c>Idempotency-Key</c> on every credentialed POST of /api/v1, Stripe's semantics: the first
/// successful (2xx) response is stored for 24 h per credential and key and
/// replayed to a retry with the same body (<c>Idempotent-Replayed: true</c>); the same key with
/// another body, or while the first request still runs, is 409 CONFLICT. Failed requests are not
/// stored, so they can be retried. Stored bodies may hold a one-time secret (a new API key), so
/// they are sealed with a master-key subkey and bound to their scope and key.
/// <para>
/// Across nodes (decision 0016): the in-progress record names its owner node and a lease. A retry
/// that finds the owner dead (no heartbeat within the node timeout) or the lease over takes the
/// record over with one conditional update and executes. The request's change set marks the record
/// committed in the change's own transaction, so a request whose change committed is never run
/// again: when its owner died before storing the response, a retry gets 409 saying so.
/// </para>
/// </summary>
public sealed class IdempotencyFilter(MasterKey masterKey, TimeProvider clock, ClusterNodes nodes, GatehouseOptions options, ILogger<IdempotencyFilter> logger) : IEndpointFilter
{
    public const string Header = "Idempotency-Key";
    public static readonly TimeSpan Retention = TimeSpan.FromHours(24);
    public const string Purpose = "idempotency";

    /// <summary>Where the filter leaves the <see cref="IdempotencyClaim"/> of the request it runs.</summary>
    public static readonly object ClaimItem = new();

    /// <summary>
    /// How long an owner may run its request before others may take it over. No renewal: the
    /// request timeout cancels a request after <c>RequestTimeoutSeconds</c>, so twice that (and a
    /// margin for clocks of nodes that differ by a few seconds) is longer than any live owner runs —
    /// a takeover can only find a dead owner, or one already answered 503.
    /// </summary>
    public TimeSpan Lease => TimeSpan.FromSeconds(2 * options.RequestTimeoutSeconds + 10);

    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var httpContext = context.HttpContext;
        if (!HttpMethods.IsPost(httpContext.Request.Method) || !httpContext.Request.Headers.TryGetValue(Header, out var values))
        {
            return await next(context);
        }

        var key = values.ToString();
        if (key.Length is 0 or > 255)
        {
            return ApiError.Invalid($"{Header} must be 1–255 characters.", new Dictionary<string, object?> { ["header"] = Header });
        }

        // Runs after authorization (Authorization.Require adds it), so the principal is known. Stored
        // responses belong to the credential that caused them: another key of the same organization
        // sending the same Idempotency-Key gets its own execution, never the first key's secret.
        var principal = httpContext.RequirePrincipal();
        var scope = $"{principal.CredentialType}:{principal.CredentialId}";
        var requestHash = await HashRequestAsync(httpContext.Request);
        var db = httpContext.RequestServices.GetRequiredService<GatehouseDb>();
        var now = clock.GetUtcNow().UtcDateTime;
        var existing = await db.Set<IdempotencyRecord>().AsNoTracking().FirstOrDefaultAsync(r => r.Scope == scope && r.Key == key, httpContext.RequestAborted);
        if (existing is not null && existing.CreatedAt <= now - Retention)
        {
            await db.Set<IdempotencyRecord>().Where(r => r.Scope == scope && r.Key == key).ExecuteDeleteAsync(httpContext.RequestAborted);
            existing = null;
        }

        if (existing is null)
        {
            try
            {
                db.Add(new IdempotencyRecord { Scope = scope, Key = key, RequestHash = requestHash, CreatedAt = now, OwnerNode = ClusterNode.Id, LeaseExpiresAt = now + Lease });
                await db.SaveChangesAsync(httpContext.RequestAborted);
                db.ChangeTracker.Clear();
                return await ExecuteAndStoreAsync(context, next, db, scope, key);
            }
            catch (DbUpdateException)
            {
                // A concurrent request with the same key got there first.
                db.ChangeTracker.Clear();
                existing = await db.Set<IdempotencyRecord>().AsNoTracking().FirstOrDefaultAsync(r => r.Scope == scope && r.Key == key, httpContext.RequestAborted);
                if (existing is null)
                {
                    return InProgress();
                }
            }
        }

        if (Answer(existing, requestHash, scope, key) is { } answer)
        {
            return answer;
        }

        if (!await TryTakeOverAsync(db, existing, now, httpContext.RequestAborted))
        {
            return InProgress();
        }

        return await ExecuteAndStoreAsync(context, next, db, scope, key);
    }

    /// <summary>The answer a record gives without executing: a replay or a 409; null when it is in progress.</summary>
    private IResult? Answer(IdempotencyRecord record, string requestHash, string scope, string key)
    {
        if (!SecretComparison.AreEqual(record.RequestHash, requestHash))
        {
            return Conflict("This Idempotency-Key was used with a different request.", "request_mismatch");
        }

        if (record.StatusCode is { } status && record.SealedBody is not null)
        {
            byte[] body;
            try
            {
                body = masterKey.Open(Purpose, record.SealedBody, Aad(scope, key));
            }
            catch (CryptographicException ex)
            {
                logger.LogError(ex, "A stored idempotent response could not be opened");
                throw;
            }

            return new ReplayedResult(status, body);
        }

        if (record.Committed)
        {
            // The change committed, then its node died before the response was stored: executing
            // again would do it twice, and there is no response to replay.
            return Conflict("The request with this Idempotency-Key completed, but its response was lost; read the resource to see the result instead of retrying.", "response_lost");
        }

        return null;
    }

    /// <summary>
    /// Takes over an in-progress record whose owner is dead or whose lease is over. One conditional
    /// update, still naming the owner that was read: of several retries racing, one changes the
    /// owner (or the lease) and the others update nothing and get 409.
    /// </summary>
    private async Task<bool> TryTakeOverAsync(GatehouseDb db, IdempotencyRecord existing, DateTime now, CancellationToken cancellationToken)
    {
        var ownerAlive = existing.OwnerNode is { } owner && await nodes.IsAliveAsync(db, owner, cancellationToken);
        var leaseOver = existing.LeaseExpiresAt is not { } lease || lease < now;
        if (ownerAlive && !leaseOver)
        {
            return false;
        }

        var (scope, key, previousOwner, hash) = (existing.Scope, existing.Key, existing.OwnerNode, existing.RequestHash);
        var candidate = db.Set<IdempotencyRecord>().Where(r => r.Scope == scope && r.Key == key && r.RequestHash == hash && r.StatusCode == null && !r.Committed);
        candidate = previousOwner is null ? candidate.Where(r => r.OwnerNode == null) : candidate.Where(r => r.OwnerNode == previousOwner);
        if (ownerAlive)
        {
            candidate = candidate.Where(r => r.LeaseExpiresAt == null || r.LeaseExpiresAt < now);
        }

        var until = now + Lease;
        var taken = await candidate.ExecuteUpdateAsync(s => s.SetProperty(r => r.OwnerNode, ClusterNode.Id).SetProperty(r => r.LeaseExpiresAt, until), cancellationToken) == 1;
        if (taken)
        {
            logger.LogWarning("An idempotent request was taken over from node {Owner} ({Reason}); it runs again here", previousOwner ?? "unknown",
                ownerAlive ? "its lease expired" : "the node is dead");
        }

        return taken;
    }

    private async Task<object?> ExecuteAndStoreAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next, GatehouseDb db, string scope, string key)
    {
        var httpContext = context.HttpContext;
        var claim = new IdempotencyClaim(scope, key);
        httpContext.Items[ClaimItem] = claim;
        var stored = false;
        try
        {
            var result = await next(context);
            if (result is not IResult executable)
            {
                return result;
            }

            // Run the result into memory to keep its bytes, then send the same bytes to the client.
            var original = httpContext.Response.Body;
            using var buffer = new MemoryStream();
            httpContext.Response.Body = buffer;
            try
            {
                await executable.ExecuteAsync(httpContext);
            }
            finally
            {
                httpContext.Response.Body = original;
            }

            var status = httpContext.Response.StatusCode;
            var body = buffer.ToArray();
            if (status is >= 200 and < 300)
            {
                var sealedBody = masterKey.Seal(Purpose, body, Aad(scope, key));
                await db.Set<IdempotencyRecord>().Where(r => r.Scope == scope && r.Key == key && r.OwnerNode == ClusterNode.Id)
                    .ExecuteUpdateAsync(s => s.SetProperty(r => r.StatusCode, status).SetProperty(r => r.SealedBody, sealedBody), CancellationToken.None);
                stored = true;
            }

            await original.WriteAsync(body, httpContext.RequestAborted);
            return Results.Empty;
        }
        finally
        {
            httpContext.Items.Remove(ClaimItem);
            if (!stored && !claim.Committed)
            {
                // Nothing stored and nothing committed: the key is free for a retry of the failed request.
                await db.Set<IdempotencyRecord>().Where(r => r.Scope == scope && r.Key == key && r.StatusCode == null && !r.Committed && r.OwnerNode == ClusterNode.Id)
                    .ExecuteDeleteAsync(CancellationToken.None);
            }
        }
    }

    private static ApiError InProgress() => Conflict("A request with this Idempotency-Key is in progress; retry later.", "in_progress");

    private static ApiError Conflict(string message, string reason) =>
        new(Gatehouse.Contracts.ErrorCodes.Conflict, message, new Dictionary<string, object?> { ["reason"] = reason });

    public static byte[] Aad(string scope, string key) => Encoding.UTF8.GetBytes($"idempotency\n{scope}\n{key}");

    private static async Task<string> HashRequestAsync(HttpRequest request)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        sha.AppendData(Encoding.UTF8.GetBytes($"{request.Method} {request.Path}\n"));
        if (request.Body.CanSeek)
        {
            request.Body.Position = 0;
            var buffer = new byte[8192];
            int read;
            while ((read = await request.Body.ReadAsync(buffer)) > 0)
            {
                sha.AppendData(buffer, 0, read);
            }
        }

        return Convert.ToHexStringLower(sha.GetHashAndReset());
    }

    private sealed class ReplayedResult(int status, byte[] body) : IResult
    {
        public async Task ExecuteAsync(HttpContext httpContext)
        {
            httpContext.Response.StatusCode = status;
            httpContext.Response.ContentType = "application/json; charset=utf-8";
            httpContext.Response.Headers["Idempotent-Replayed"] = "true";
            await httpContext.Response.Body.WriteAsync(body, httpContext.RequestAborted);
        }
    }
}

/// <summary>
/// Marks the current request's idempotency record committed inside the transaction of its change:
/// the change and the mark commit together or not at all, so a retry can tell "never happened"
/// (execute) from "happened, response lost" (409) even when the owner died in between. A record
/// no longer owned by this node was taken over; committing anyway would run the request twice, so
/// the change rolls back and the request answers 409.
/// </summary>
public sealed class IdempotencyCommitMark : IChangeSetParticipant
{
    public async Task BeforeCommitAsync(GatehouseDb db, IReadOnlyList<RecordedAction> actions, CancellationToken cancellationToken)
    {
        if (Current() is { } claim)
        {
            await MarkAsync(db, claim, cancellationToken);
        }
    }

    /// <summary>Marks the claim's record committed in the transaction open on <paramref name="db"/>; throws (so the change rolls back) when it was taken over.</summary>
    public static async Task MarkAsync(GatehouseDb db, IdempotencyClaim claim, CancellationToken cancellationToken)
    {
        var marked = await db.Set<IdempotencyRecord>().Where(r => r.Scope == claim.Scope && r.Key == claim.Key && r.OwnerNode == ClusterNode.Id)
            .ExecuteUpdateAsync(s => s.SetProperty(r => r.Committed, true), cancellationToken);
        if (marked == 0)
        {
            throw new DbUpdateConcurrencyException("The idempotency record of this request was taken over by another node.");
        }
    }

    public void Completed(GatehouseDb db, bool committed)
    {
        if (committed && Current() is { } claim)
        {
            claim.Committed = true;
        }
    }

    private static IdempotencyClaim? Current() => CurrentRequest.HttpContext is { } httpContext ? IdempotencyClaim.Of(httpContext) : null;
}

/// <summary>Keeps the body of idempotent POSTs re-readable, so the filter can hash exactly what was sent.</summary>
public sealed class IdempotencyBodyBuffering(RequestDelegate next)
{
    public Task InvokeAsync(HttpContext context)
    {
        if (HttpMethods.IsPost(context.Request.Method) && context.Request.Headers.ContainsKey(IdempotencyFilter.Header))
        {
            context.Request.EnableBuffering();
        }

        return next(context);
    }
}

/// <summary>Deletes stored idempotent responses older than 24 h, hourly.</summary>
public sealed class IdempotencyPurge(IServiceScopeFactory scopes, JobRunner runner, JobRegistry jobs, TimeProvider clock, ILogger<IdempotencyPurge> logger)
    : PeriodicJob(runner, jobs, clock, logger)
{
    public const string JobName = "idempotency-purge";

    public override string Name => JobName;

    public override string Description => "Deletes stored responses of idempotent requests once they are older than 24 hours.";

    public override TimeSpan Interval => TimeSpan.FromHours(1);

    public async Task<int> PurgeAsync(CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<GatehouseDb>();
        var cutoff = Clock.GetUtcNow().UtcDateTime - IdempotencyFilter.Retention;
        return await db.Set<IdempotencyRecord>().Where(r => r.CreatedAt <= cutoff).ExecuteDeleteAsync(cancellationToken);
    }

    public override async Task<JobPass> RunPassAsync(JobPassContext pass, CancellationToken cancellationToken)
    {
        var purged = await PurgeAsync(cancellationToken);
        return new JobPass(Succeeded: true, DidWork: purged > 0);
    }
}
