using System.Net;
using System.Net.Sockets;
using System.Text;
using Gatehouse.Crypto;
using Gatehouse.Server.Features.Audit;
using Gatehouse.Server.Platform.Tenancy;

namespace Gatehouse.Server.Features.Webhooks;

/// <summary>Seals signing secrets with the master key, bound to their endpoint id.</summary>
public sealed class WebhookSecrets(MasterKey masterKey)
{
    public const string Purpose = "webhook-secret";

    public byte[] Seal(string endpointId, ReadOnlySpan<byte> secret) => masterKey.Seal(Purpose, secret, Encoding.UTF8.GetBytes(endpointId));

    public byte[] Open(string endpointId, byte[] sealedSecret) => masterKey.Open(Purpose, sealedSecret, Encoding.UTF8.GetBytes(endpointId));
}

public static class WebhookServices
{
    public static IServiceCollection AddWebhooks(this IServiceCollection services)
    {
        services.AddSingleton<WebhookSecrets>();
        services.AddSingleton<WebhookUrlPolicy>();
        services.AddSingleton<WebhookDispatchSignal>();
        services.AddSingleton<IAuditCommitHook, WebhookOutbox>();
        services.AddSingleton<IOrgDataEraser, WebhookOrgData>();
        services.AddSingleton<IOrgStatsContributor, WebhookOrgData>();
        services.AddHostedService<WebhookDispatcher>();
        // The factory's own request logging writes the full URL, whose path and query often hold
        // the receiver's token: the dispatcher logs scheme and host instead.
        services.AddHttpClient(WebhookDispatcher.HttpClientName, client => client.Timeout = Timeout.InfiniteTimeSpan)
            .RemoveAllLoggers()
            .ConfigurePrimaryHttpMessageHandler(sp => CreateHandler(sp.GetRequiredService<WebhookUrlPolicy>()));
        return services;
    }

    /// <summary>
    /// No redirects (a 3xx could point inside the network), no proxy (it would dial for us), and a
    /// connect callback that resolves the host itself and refuses forbidden addresses at the moment
    /// of connecting, so a name that changes its answer after registration (DNS rebinding) gains nothing.
    /// </summary>
    private static SocketsHttpHandler CreateHandler(WebhookUrlPolicy policy) => new()
    {
        AllowAutoRedirect = false,
        UseProxy = false,
        UseCookies = false,
        AutomaticDecompression = DecompressionMethods.None,
        MaxResponseHeadersLength = 64,
        ConnectTimeout = TimeSpan.FromSeconds(10),
        PooledConnectionLifetime = TimeSpan.FromMinutes(2),
        ConnectCallback = async (context, cancellationToken) =>
        {
            var addresses = await policy.ResolveForDeliveryAsync(context.DnsEndPoint.Host, cancellationToken);
            SocketException? last = null;
            foreach (var address in addresses)
            {
                var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                try
                {
                    await socket.ConnectAsync(new IPEndPoint(address, context.DnsEndPoint.Port), cancellationToken);
                    return new NetworkStream(socket, ownsSocket: true);
                }
                catch (SocketException ex)
                {
                    socket.Dispose();
                    last = ex;
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            }

            throw last ?? new SocketException((int)SocketError.HostNotFound);
        },
    };
}
