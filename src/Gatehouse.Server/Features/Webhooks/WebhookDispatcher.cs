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
/// claims each row with a conditional update so nodes never send the same attempt twice, signs
/// and posts it, records the attempt, and schedules the retry. Schedules use the injected clock.
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
    private static readonly TimeSpan ClaimLength = TimeSpan.FromMinutes(2);
    private static readonly (string Type, string Id) SystemActor = ("system", JobName);

    public override string Name => JobName;

    /// <summary>Polls for due retries and for other nodes' work; this node's commits wake it at once.</summary>
    public override TimeSpan Interval => PollInterval;

    public override string Description => "Sends due webhook deliveries from the outbox and schedules retries of failed attempts.";

    /// <summary>Every node sends: each delivery attempt is claimed row by row, so nodes never send the same attempt twice.</summary>
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

    /// <summary>Sends every due delivery of one batch; returns how many were due.</summary>
    public async Task<int> RunOnceAsync(CancellationToken cancellationToken)
    {
        var now = Clock.GetUtcNow().UtcDateTime;
        List<string> due;
        await using (var scope = scopes.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<GatehouseDb>();
            due = await db.Set<WebhookDelivery>().AsNoTracking()
                .Where(d => d.Status == WebhookDelivery.Pending && d.NextAttemptAt <= now && (d.LockedUntil == null || d.LockedUntil < now))
                .OrderBy(d => d.NextAttemptAt).Select(d => d.Id).Take(BatchSize).ToListAsync(cancellationToken);
        }

        if (due.Count == 0)
        {
            return 0;
        }

        await Parallel.ForEachAsync(due, new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = cancellationToken },
            async (deliveryId, ct) => await AttemptAsync(deliveryId, ct));
        return due.Count;
    }

    private async Task AttemptAsync(string deliveryId, CancellationToken cancellationToken)
    {
        using var span = Telemetry.Source.StartActivity("webhook.deliver");
        span?.SetTag("gatehouse.webhook.delivery_id", deliveryId);
        await using var scope = scopes.CreateAsyncScope();
        var services = scope.ServiceProvider;
        var db = services.GetRequiredService<GatehouseDb>();
        var now = Clock.GetUtcNow().UtcDateTime;
        var claimUntil = now + ClaimLength;
        var claimed = await db.Set<WebhookDelivery>()
            .Where(d => d.Id == deliveryId && d.Status == WebhookDelivery.Pending && (d.LockedUntil == null || d.LockedUntil < now))
            .ExecuteUpdateAsync(s => s.SetProperty(d => d.LockedUntil, claimUntil), cancellationToken);
        if (claimed == 0)
        {
            return; // Another node (or an earlier pass) has it.
        }

        var delivery = await db.Set<WebhookDelivery>().FirstOrDefaultAsync(d => d.Id == deliveryId, cancellationToken);
        if (delivery is null)
        {
            return; // Its endpoint or organization was deleted meanwhile.
        }

        // Not tracked: the dispatcher's bookkeeping on the endpoint (FailingSince) is written by
        // conditional updates that leave its version alone, so an owner's concurrent PATCH or
        // secret rotation never loses a race against a delivery attempt.
        var endpoint = await db.Set<WebhookEndpoint>().AsNoTracking().FirstOrDefaultAsync(w => w.Id == delivery.EndpointId, cancellationToken);
        if (endpoint is null || !endpoint.Enabled)
        {
            delivery.Status = WebhookDelivery.Canceled;
            delivery.NextAttemptAt = null;
            delivery.LockedUntil = null;
            await db.SaveChangesAsync(cancellationToken);
            return;
        }

        var outcome = await SendAsync(services, endpoint, delivery, cancellationToken);
        // Scheme and host only: the path and query of a webhook URL often carry the receiver's token.
        Logger.Log(outcome.Succeeded ? LogLevel.Debug : LogLevel.Information, "Webhook delivery {DeliveryId} to {Target}: status {StatusCode}, {Outcome}",
            delivery.Id, WebhookUrlPolicy.ForLog(endpoint.Url), outcome.StatusCode, outcome.Error ?? (outcome.Succeeded ? "delivered" : "not delivered"));
        var attemptedAt = Clock.GetUtcNow().UtcDateTime;
        delivery.Attempts++;
        delivery.LastAttemptAt = attemptedAt;
        delivery.LastStatusCode = outcome.StatusCode;
        delivery.LockedUntil = null;
        db.Add(new WebhookAttempt
        {
            Id = Ids.New("wat", Clock.GetUtcNow()),
            DeliveryId = delivery.Id,
            EndpointId = endpoint.Id,
            Attempt = delivery.Attempts,
            AttemptedAt = attemptedAt,
            StatusCode = outcome.StatusCode,
            LatencyMs = outcome.LatencyMs,
            ResponseExcerpt = outcome.Excerpt,
            Error = outcome.Error,
            Succeeded = outcome.Succeeded,
        });

        var changes = services.GetRequiredService<ChangeSet>();
        try
        {
            await changes.RunAsync(ct => RecordOutcomeAsync(db, changes, endpoint, delivery, outcome, attemptedAt, ct), CancellationToken.None);
            var result = outcome.Succeeded ? WebhookDeliveryMetrics.Delivered
                : delivery.Status == WebhookDelivery.Failed ? WebhookDeliveryMetrics.Failed : WebhookDeliveryMetrics.Retrying;
            metrics.Attempted(result);
            span?.SetTag("gatehouse.webhook.outcome", result);
            span?.SetTag("http.response.status_code", outcome.StatusCode);
        }
        catch (DbUpdateConcurrencyException)
        {
            // The endpoint was deleted while we sent: nothing is left to record.
        }
    }

    private async Task RecordOutcomeAsync(GatehouseDb db, ChangeSet changes, WebhookEndpoint endpoint, WebhookDelivery delivery, AttemptOutcome outcome, DateTime attemptedAt, CancellationToken cancellationToken)
    {
        if (outcome.Succeeded)
        {
            delivery.Status = WebhookDelivery.Succeeded;
            delivery.NextAttemptAt = null;
            await db.Set<WebhookEndpoint>().Where(w => w.Id == endpoint.Id && w.FailingSince != null)
                .ExecuteUpdateAsync(u => u.SetProperty(w => w.FailingSince, (DateTime?)null), cancellationToken);
        }
        else
        {
            var retryIndex = delivery.Attempts - 1;
            if (retryIndex < RetrySchedule.Count)
            {
                delivery.NextAttemptAt = attemptedAt + WithJitter(RetrySchedule[retryIndex]);
            }
            else
            {
                delivery.Status = WebhookDelivery.Failed;
                delivery.NextAttemptAt = null;
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
