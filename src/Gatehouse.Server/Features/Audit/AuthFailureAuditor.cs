using Gatehouse.Contracts;
using Gatehouse.Server.Platform.Auth;
using Gatehouse.Server.Platform.Events;
using Gatehouse.Server.Platform.Http;
using Gatehouse.Server.Platform.Storage;

namespace Gatehouse.Server.Features.Audit;

/// <summary>
/// Records rejected credentials as <c>auth.failure</c> on the platform chain, bounded so that a
/// flood of bad keys cannot become a flood of writes: at most one event per client IP per minute
/// (the next recorded event of that IP carries how many were folded into it as
/// <c>suppressedSinceLast</c>), and at most <see cref="MaxEventsPerMinute"/> events per minute in all.
/// The event never holds the presented credential, not even a prefix of it.
/// </summary>
public sealed class AuthFailureAuditor(IServiceScopeFactory scopes, TimeProvider clock, ILogger<AuthFailureAuditor> logger) : IAuthenticationFailureObserver
{
    public const int MaxEventsPerMinute = 600;
    private const int MaxTrackedClients = 10_000;

    private readonly Lock _gate = new();
    private readonly Dictionary<string, ClientWindow> _clients = new(StringComparer.Ordinal);
    private long _minute = -1;
    private int _recordedThisMinute;

    public ValueTask OnFailureAsync(HttpContext httpContext, ApiError error, CancellationToken cancellationToken) =>
        RecordAsync(httpContext, error.Code == ErrorCodes.RateLimitExceeded ? AuthActions.RateLimited : AuthActions.Failure, error.Code);

    /// <summary>
    /// Records a rejected request of the authentication surface under <paramref name="action"/> (also for
    /// the rate limiter's rejections of unauthenticated auth endpoints, e.g. <c>auth.rate_limited</c>), with
    /// the same per-IP-per-minute bound.
    /// </summary>
    public async ValueTask RecordAsync(HttpContext httpContext, AuditAction action, string code)
    {
        var ip = httpContext.Connection.RemoteIpAddress?.ToString() ?? "unknown";
        if (!TryAdmit(action.Name + "|" + ip, out var suppressed))
        {
            return;
        }

        try
        {
            await using var scope = scopes.CreateAsyncScope();
            var changes = scope.ServiceProvider.GetRequiredService<ChangeSet>();
            var presented = Authentication.ReadCredential(httpContext.Request) is not null;
            changes.Record(action, null, null, new
            {
                code,
                method = httpContext.Request.Method,
                path = httpContext.Request.Path.Value,
                credentialPresented = presented,
                suppressedSinceLast = suppressed,
            });
            await changes.CommitAsync(CancellationToken.None);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // The request is refused either way; a lost failure record must not turn a 401 into a 500.
            logger.LogWarning(ex, "Could not record a rejected authentication request");
        }
    }

    private bool TryAdmit(string client, out long suppressed)
    {
        suppressed = 0;
        var minute = clock.GetUtcNow().UtcTicks / TimeSpan.TicksPerMinute;
        lock (_gate)
        {
            if (minute != _minute)
            {
                _minute = minute;
                _recordedThisMinute = 0;
                if (_clients.Count > MaxTrackedClients)
                {
                    _clients.Clear();
                }
            }

            if (_clients.TryGetValue(client, out var window) && window.Minute == minute)
            {
                window.Suppressed++;
                return false;
            }

            if (_recordedThisMinute >= MaxEventsPerMinute || (window is null && _clients.Count >= MaxTrackedClients))
            {
                return false;
            }

            _recordedThisMinute++;
            suppressed = window?.Suppressed ?? 0;
            _clients[client] = new ClientWindow { Minute = minute };
            return true;
        }
    }

    private sealed class ClientWindow
    {
        public long Minute { get; init; }
        public long Suppressed { get; set; }
    }
}
