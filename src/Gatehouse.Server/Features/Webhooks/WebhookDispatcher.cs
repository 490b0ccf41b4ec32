using System.Diagnostics;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using Gatehouse.Crypto;
using Gatehouse.Server.Platform;
using Gatehouse.Server.Platform.Jobs;
using Gatehouse.Server.Platform.Observability;
using Gatehouse.Server.Platform.Storage;
using Microsoft.EntityFrameworkCore;

namespace Gatehouse.Server.Features.Webhooks;

/// <summary>
/// Sends the outbox: polls for due deliveries (and is woken right after a commit on this node),
/// claims a batch under a random token and a short lease that it renews while sending, signs and
/// posts each, and records the attempt and the retry schedule only while its claim still holds.
/// A dead node's claims lapse with their lease; an attempt in flight at its death is sent again,
/// so delivery is at-least-once (decision 0016). Schedules use the injected clock.
/// </summary>
public sealed class WebhookDispatcher(
    IServiceScopeFactory scopes, WebhookDispatchSignal signal, JobRunner runner, JobRegistry jobs, TimeProvider clock,
    WebhookOptions options, WebhookDeliveryMetrics metrics, ILogger<WebhookDispatcher> logger) : PeriodicJob(runner, jobs, clock, logger)
{
    public const string JobName = "webhook-delivery";
    public const string HttpClientName = "webhooks";
    public const int ExcerptBytes = 1024;
    public static readonly TimeSpan AttemptTimeout = TimeSpan.FromSeconds(15);
    public static readonly TimeSpan DisableAfter = TimeSpan.FromDays(5);

    /// <summary>The wait after failed attempt n (1-based); after the last one the delivery has failed.</summary>
    public static readonly IReadOnlyList<TimeSpan> RetrySchedule =
    [
        TimeSpan.FromSeconds(5), TimeSpan.FromMinutes(5), TimeSpan.FromMinutes(30), TimeSpan.FromHours(2),
        TimeSpan.FromHours(5), TimeSpan.FromHours(10), TimeSpan.FromHours(10),
    ];

    /// <summary>Jitter adds up to this share of the wait, so endpoints that failed together do not retry together.</summary>
    public const double JitterShare = 0.1;

    private const int BatchSize = 20;
    private static readonly TimeSpan PollInterval = TimeSpan.FromSeconds(1);
    private static readonly (string Type, string Id) SystemActor = ("system", JobName);

    public override string Name => JobName;

    /// <summary>Polls for due retries and for other nodes' work; this node's commits wake it at once.</summary>
    public override TimeSpan Interval => PollInterval;

    public override string Description => "Sends due webhook deliveries from the outbox and schedules retries of failed attempts.";

    /// <summary>Every node sends: each delivery is claimed under a lease, so live nodes never send the same attempt twice.</summary>
    public override JobPlacement Placement => JobPlacement.EveryNode;

    public override bool Scheduled => options.DeliveryEnabled;

    public override Task StartAsync(CancellationToken cancellationToken)
    {
        if (options.DeliveryEnabled)
        {
            signal.Attach(Wake);
        }
        else
        {
            Logger.LogWarning("Webhook delivery is disabled on this node (Gatehouse:Webhooks:DeliveryEnabled=false); events stay in the outbox");
        }

        return base.StartAsync(cancellationToken);
    }

    /// <summary>Batch after batch until fewer than a full batch were due.</summary>
    public override async Task<JobPass> RunPassAsync(JobPassContext pass, CancellationToken cancellationToken)
    {
        int due;
        var sent = 0;
        do
        {
            due = await RunOnceAsync(cancellationToken);
            sent += due;
        }
        while (due == BatchSize && !cancellationToken.IsCancellationRequested);

        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<GatehouseDb>();
        var pending = await db.Set<WebhookDelivery>().LongCountAsync(d => d.Status == WebhookDelivery.Pending, cancellationToken);
        metrics.QueueDepth(pending);
        return new JobPass(Succeeded: true, pending, DidWork: sent > 0);
    }

    /// <summary>Claims one batch of due deliveries and sends them; returns how many this pass claimed.</summary>
    public async Task<int> RunOnceAsync(CancellationToken cancellationToken)
    {
        var (token, claimed) = await ClaimBatchAsync(cancellationToken);
        if (claimed.Count == 0)
        {
            return 0;
        }

        await Parallel.ForEachAsync(claimed, new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = cancellationToken },
            async (deliveryId, ct) => await AttemptAsync(deliveryId, token, ct));
        return claimed.Count;
    }

    private TimeSpan ClaimLease => TimeSpan.FromSeconds(options.ClaimLeaseSeconds);

    /// <summary>
    /// Claims up to a batch of due deliveries under one fresh random token and a short lease. On
    /// PostgreSQL one statement picks and claims them, skipping rows another node is claiming at
    /// that moment; on SQLite (one node, writes serialized) each row is claimed by a conditional
    /// update. Either way a row is claimed only while it is pending, due and unclaimed or its lease
    /// has passed, so a dead node's claims are free once their lease ends.
    /// </summary>
    private async Task<(string Token, IReadOnlyList<string> Claimed)> ClaimBatchAsync(CancellationToken cancellationToken)
    {
        var token = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
        var now = Clock.GetUtcNow().UtcDateTime;
        var until = now + ClaimLease;
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<GatehouseDb>();
        if (db.IsPostgres)
        {
            var claimed = await db.Database.SqlQuery<string>($"""
                UPDATE webhook_deliveries SET claim_token = {token}, locked_until = {until}
                WHERE id IN (
                    SELECT id FROM webhook_deliveries
                    WHERE status = {WebhookDelivery.Pending} AND next_attempt_at <= {now} AND (locked_until IS NULL OR locked_until < {now})
                    ORDER BY next_attempt_at
                    LIMIT {BatchSize}
                    FOR UPDATE SKIP LOCKED)
                RETURNING id AS "Value"
                """).ToListAsync(cancellationToken);
            return (token, claimed);
        }

        var due = await db.Set<WebhookDelivery>().AsNoTracking()
            .Where(d => d.Status == WebhookDelivery.Pending && d.NextAttemptAt <= now && (d.LockedUntil == null || d.LockedUntil < now))
            .OrderBy(d => d.NextAttemptAt).Select(d => d.Id).Take(BatchSize).ToListAsync(cancellationToken);
        var taken = new List<string>(due.Count);
        foreach (var deliveryId in due)
        {
            var rows = await db.Set<WebhookDelivery>()
                .Where(d => d.Id == deliveryId && d.Status == WebhookDelivery.Pending && (d.LockedUntil == null || d.LockedUntil < now))
                .ExecuteUpdateAsync(s => s.SetProperty(d => d.ClaimToken, token).SetProperty(d => d.LockedUntil, until), cancellationToken);
            if (rows == 1)
            {
                taken.Add(deliveryId);
            }
        }

        return (token, taken);
    }

    private async Task AttemptAsync(string deliveryId, string token, CancellationToken cancellationToken)
    {
        using var span = Telemetry.Source.StartActivity("webhook.deliver");
        span?.SetTag("gatehouse.webhook.delivery_id", deliveryId);
        await using var scope = scopes.CreateAsyncScope();
        var services = scope.ServiceProvider;
        var db = services.GetRequiredService<GatehouseDb>();
        var delivery = await db.Set<WebhookDelivery>().AsNoTracking().FirstOrDefaultAsync(d => d.Id == deliveryId && d.ClaimToken == token, cancellationToken);
        if (delivery is null)
        {
            return; // Deleted with its endpoint or organization, or the claim already lapsed to another node.
        }

        // Not tracked: the dispatcher's bookkeeping on the endpoint (FailingSince) is written by
        // conditional updates that leave its version alone, so an owner's concurrent PATCH or
        // secret rotation never loses a race against a delivery attempt.
        var endpoint = await db.Set<WebhookEndpoint>().AsNoTracking().FirstOrDefaultAsync(w => w.Id == delivery.EndpointId, cancellationToken);
        if (endpoint is null || !endpoint.Enabled)
        {
            await Held(db, deliveryId, token).ExecuteUpdateAsync(s => s
                .SetProperty(d => d.Status, WebhookDelivery.Canceled).SetProperty(d => d.NextAttemptAt, (DateTime?)null)
                .SetProperty(d => d.LockedUntil, (DateTime?)null).SetProperty(d => d.ClaimToken, (string?)null), cancellationToken);
            return;
        }

        AttemptOutcome outcome;
        await using (var renewal = new ClaimRenewal(this, deliveryId, token))
        {
            outcome = await SendAsync(services, endpoint, delivery, cancellationToken);
        }

        // Scheme and host only: the path and query of a webhook URL often carry the receiver's token.
        Logger.Log(outcome.Succeeded ? LogLevel.Debug : LogLevel.Information, "Webhook delivery {DeliveryId} to {Target}: status {StatusCode}, {Outcome}",
            delivery.Id, WebhookUrlPolicy.ForLog(endpoint.Url), outcome.StatusCode, outcome.Error ?? (outcome.Succeeded ? "delivered" : "not delivered"));
        var attemptedAt = Clock.GetUtcNow().UtcDateTime;
        var attempt = delivery.Attempts + 1;
        var (status, nextAttemptAt) = Schedule(outcome, attempt, attemptedAt);
        var changes = services.GetRequiredService<ChangeSet>();
        try
        {
            await changes.RunAsync(async ct =>
            {
                // The result counts only while this claim still holds the row: a claim that lapsed
                // (this node stalled past its lease) belongs to whoever took it, and two results of one
                // attempt would double its history and its retry schedule.
                var held = await Held(db, deliveryId, token).ExecuteUpdateAsync(s => s
                    .SetProperty(d => d.Attempts, attempt).SetProperty(d => d.LastAttemptAt, attemptedAt)
                    .SetProperty(d => d.LastStatusCode, outcome.StatusCode).SetProperty(d => d.Status, status)
                    .SetProperty(d => d.NextAttemptAt, nextAttemptAt)
                    .SetProperty(d => d.LockedUntil, (DateTime?)null).SetProperty(d => d.ClaimToken, (string?)null), ct);
                if (held == 0)
                {
                    throw new ClaimLostException();
                }

                db.Add(new WebhookAttempt
                {
                    Id = Ids.New("wat", Clock.GetUtcNow()),
                    DeliveryId = delivery.Id,
                    EndpointId = endpoint.Id,
                    Attempt = attempt,
                    AttemptedAt = attemptedAt,
                    StatusCode = outcome.StatusCode,
                    LatencyMs = outcome.LatencyMs,
                    ResponseExcerpt = outcome.Excerpt,
                    Error = outcome.Error,
                    Succeeded = outcome.Succeeded,
                });
                await RecordEndpointStateAsync(db, changes, endpoint, outcome, attemptedAt, ct);
            }, CancellationToken.None);
            var result = outcome.Succeeded ? WebhookDeliveryMetrics.Delivered
                : status == WebhookDelivery.Failed ? WebhookDeliveryMetrics.Failed : WebhookDeliveryMetrics.Retrying;
            metrics.Attempted(result);
            span?.SetTag("gatehouse.webhook.outcome", result);
            span?.SetTag("http.response.status_code", outcome.StatusCode);
        }
        catch (ClaimLostException)
        {
            if (await db.Set<WebhookDelivery>().AnyAsync(d => d.Id == deliveryId, CancellationToken.None))
            {
                metrics.ClaimLost();
                Logger.LogWarning("Webhook delivery {DeliveryId}: the claim lapsed while sending (status {StatusCode}); the result is dropped and the holder of the new claim sends again",
                    deliveryId, outcome.StatusCode);
            }

            // Otherwise its endpoint or organization was deleted while we sent: nothing is left to record.
        }
    }

    private static IQueryable<WebhookDelivery> Held(GatehouseDb db, string deliveryId, string token) =>
        db.Set<WebhookDelivery>().Where(d => d.Id == deliveryId && d.ClaimToken == token);

    /// <summary>Moves the lease on; false when the claim is no longer this one's.</summary>
    private async Task<bool> RenewClaimAsync(string deliveryId, string token, CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<GatehouseDb>();
        var until = Clock.GetUtcNow().UtcDateTime + ClaimLease;
        return await Held(db, deliveryId, token).ExecuteUpdateAsync(s => s.SetProperty(d => d.LockedUntil, until), cancellationToken) == 1;
    }

    /// <summary>
    /// Renews a claim every third of its lease while the attempt is in flight, so an attempt longer
    /// than the lease (a slow receiver, up to the attempt timeout) keeps it, while a dead node's claim
    /// lapses within one lease. A failed renewal is retried at the next tick; the lease still has two
    /// thirds left.
    /// </summary>
    private sealed class ClaimRenewal : IAsyncDisposable
    {
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _loop;

        public ClaimRenewal(WebhookDispatcher dispatcher, string deliveryId, string token)
        {
            _loop = RenewAsync(dispatcher, deliveryId, token, _stop.Token);
        }

        private static async Task RenewAsync(WebhookDispatcher dispatcher, string deliveryId, string token, CancellationToken stop)
        {
            var every = dispatcher.ClaimLease / 3;
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    await Task.Delay(every, dispatcher.Clock, stop);
                    if (!await dispatcher.RenewClaimAsync(deliveryId, token, stop))
                    {
                        // Lost: the attempt finishes, and its result is dropped when it is recorded.
                        return;
                    }
                }
                catch (OperationCanceledException) when (stop.IsCancellationRequested)
                {
                    return;
                }
                catch (Exception ex)
                {
                    dispatcher.Logger.LogWarning(ex, "Webhook delivery {DeliveryId}: the claim could not be renewed; trying again", deliveryId);
                }
            }
        }

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            await _loop;
            _stop.Dispose();
        }
    }

    private sealed class ClaimLostException() : Exception("The delivery's claim lapsed while it was sent.");

    /// <summary>The delivery's state after attempt number <paramref name="attempt"/>: done, or when to try again.</summary>
    private static (string Status, DateTime? NextAttemptAt) Schedule(AttemptOutcome outcome, int attempt, DateTime attemptedAt)
    {
        if (outcome.Succeeded)
        {
            return (WebhookDelivery.Succeeded, null);
        }

        var retryIndex = attempt - 1;
        return retryIndex < RetrySchedule.Count
            ? (WebhookDelivery.Pending, attemptedAt + WithJitter(RetrySchedule[retryIndex]))
            : (WebhookDelivery.Failed, null);
    }

    private async Task RecordEndpointStateAsync(GatehouseDb db, ChangeSet changes, WebhookEndpoint endpoint, AttemptOutcome outcome, DateTime attemptedAt, CancellationToken cancellationToken)
    {
        if (outcome.Succeeded)
        {
            await db.Set<WebhookEndpoint>().Where(w => w.Id == endpoint.Id && w.FailingSince != null)
                .ExecuteUpdateAsync(u => u.SetProperty(w => w.FailingSince, (DateTime?)null), cancellationToken);
            return;
        }

        if (endpoint.FailingSince is null)
        {
            endpoint.FailingSince = attemptedAt;
            await db.Set<WebhookEndpoint>().Where(w => w.Id == endpoint.Id && w.FailingSince == null)
                .ExecuteUpdateAsync(u => u.SetProperty(w => w.FailingSince, attemptedAt), cancellationToken);
        }

        if (attemptedAt - endpoint.FailingSince.Value >= DisableAfter)
        {
            // Conditional, so that of several attempts failing at once exactly one disables and says so.
            var flipped = await db.Set<WebhookEndpoint>().Where(w => w.Id == endpoint.Id && w.Enabled)
                .ExecuteUpdateAsync(s => s.SetProperty(w => w.Enabled, false).SetProperty(w => w.DisabledReason, "failing").SetProperty(w => w.UpdatedAt, attemptedAt), cancellationToken);
            if (flipped == 1)
            {
                changes.Record(WebhookActions.Disable, endpoint.OrgId, endpoint.Id,
                    new { reason = "failing", failingSince = endpoint.FailingSince }, SystemActor);
                Logger.LogWarning("Webhook endpoint {EndpointId} disabled after failing since {Since}", endpoint.Id, endpoint.FailingSince);
            }
        }
    }

    public static TimeSpan WithJitter(TimeSpan wait) =>
        wait + TimeSpan.FromMilliseconds((long)(wait.TotalMilliseconds * JitterShare * RandomNumberGenerator.GetInt32(0, 1001) / 1000.0));

    private sealed record AttemptOutcome(bool Succeeded, int? StatusCode, int LatencyMs, string? Excerpt, string? Error);

    private async Task<AttemptOutcome> SendAsync(IServiceProvider services, WebhookEndpoint endpoint, WebhookDelivery delivery, CancellationToken cancellationToken)
    {
        var secrets = services.GetRequiredService<WebhookSecrets>();
        var now = Clock.GetUtcNow();
        var timestamp = now.ToUnixTimeSeconds();
        var signatures = new List<string> { WebhookSignature.Sign(secrets.Open(endpoint.Id, endpoint.SealedSecret), delivery.EventId, timestamp, delivery.Payload) };
        if (endpoint.PreviousSealedSecret is { } previous && endpoint.PreviousSecretUntil > now.UtcDateTime)
        {
            signatures.Add(WebhookSignature.Sign(secrets.Open(endpoint.Id, previous), delivery.EventId, timestamp, delivery.Payload));
        }

        using var request = new HttpRequestMessage(HttpMethod.Post, endpoint.Url)
        {
            Content = new StringContent(delivery.Payload, Encoding.UTF8, "application/json"),
        };
        request.Headers.TryAddWithoutValidation("webhook-id", delivery.EventId);
        request.Headers.TryAddWithoutValidation("webhook-timestamp", timestamp.ToString(System.Globalization.CultureInfo.InvariantCulture));
        request.Headers.TryAddWithoutValidation("webhook-signature", string.Join(' ', signatures));
        request.Headers.TryAddWithoutValidation("User-Agent", "Gatehouse-Webhooks/1");

        var http = services.GetRequiredService<IHttpClientFactory>().CreateClient(HttpClientName);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(AttemptTimeout);
        var stopwatch = Stopwatch.StartNew();
        try
        {
            using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
            var excerpt = await ReadExcerptAsync(response, timeout.Token);
            var status = (int)response.StatusCode;
            var succeeded = status is >= 200 and < 300;
            return new AttemptOutcome(succeeded, status, Elapsed(stopwatch), excerpt,
                succeeded ? null : status is >= 300 and < 400 ? "redirects are not followed" : null);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return new AttemptOutcome(false, null, Elapsed(stopwatch), null, $"timed out after {AttemptTimeout.TotalSeconds:0} s");
        }
        catch (HttpRequestException ex)
        {
            var reason = ex.InnerException is WebhookTargetForbiddenException forbidden ? forbidden.Message
                : ex.InnerException is SocketException socket ? $"connection failed: {socket.SocketErrorCode}"
                : ex.HttpRequestError.ToString();
            return new AttemptOutcome(false, null, Elapsed(stopwatch), null, reason);
        }
    }

    /// <summary>Reads at most <see cref="ExcerptBytes"/> of the body; the rest is never read (a huge response costs nothing).</summary>
    private static async Task<string?> ReadExcerptAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        await using var stream = await response.Content.ReadAsStreamAsync(cancellationToken);
        var buffer = new byte[ExcerptBytes];
        var read = 0;
        while (read < buffer.Length)
        {
            var n = await stream.ReadAsync(buffer.AsMemory(read), cancellationToken);
            if (n == 0)
            {
                break;
            }

            read += n;
        }

        if (read == 0)
        {
            return null;
        }

        var text = Encoding.UTF8.GetString(buffer, 0, read);
        // A multi-byte character cut at the limit decodes to U+FFFD; keep the excerpt within 1 KB of UTF-8.
        while (Encoding.UTF8.GetByteCount(text) > ExcerptBytes)
        {
            text = text[..^1];
        }

        return text;
    }

    private static int Elapsed(Stopwatch stopwatch) => (int)Math.Min(int.MaxValue, stopwatch.ElapsedMilliseconds);
}
