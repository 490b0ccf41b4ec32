using Gatehouse.Contracts.ApiKeys;

namespace Gatehouse.Client;

/// <summary>
/// The Gatehouse API: one sub-client per route family. Thread-safe; keep one per credential for the
/// life of the process (or register it with <c>services.AddGatehouseClient</c>). Success returns the
/// response's <c>data</c>; an error response throws <see cref="GatehouseApiException"/> (or a subtype),
/// an unreachable server <see cref="GatehouseUnavailableException"/>.
/// </summary>
public sealed class GatehouseClient : IDisposable
{
    private readonly HttpClient? _ownedHttp;

    /// <summary>A client with its own <see cref="HttpClient"/> (disposed with it).</summary>
    public GatehouseClient(GatehouseClientOptions options)
        : this(new HttpClient { Timeout = Timeout.InfiniteTimeSpan }, options) =>
        _ownedHttp = Transport.HttpClient;

    /// <summary>A client over an <see cref="HttpClient"/> you own (from <c>IHttpClientFactory</c>, or with your handlers).</summary>
    public GatehouseClient(HttpClient httpClient, GatehouseClientOptions options)
    {
        ArgumentNullException.ThrowIfNull(httpClient);
        ArgumentNullException.ThrowIfNull(options);
        Transport = new GatehouseTransport(httpClient, options);
        var cache = options.VerifyCacheTtl > TimeSpan.Zero ? new VerdictCache(options.VerifyCacheTtl, options.VerifyCacheCapacity, options.TimeProvider) : null;
        Organizations = new OrganizationsClient(Transport);
        ApiKeys = new ApiKeysClient(Transport, cache);
        Roles = new RolesClient(Transport);
        Permissions = new PermissionsClient(Transport);
        Credentials = new CredentialsClient(Transport);
        Webhooks = new WebhooksClient(Transport);
        Audit = new AuditClient(Transport);
        Jobs = new JobsClient(Transport);
        Users = new UsersClient(Transport);
        Auth = new AuthClient(Transport);
        Sso = new SsoClient(Transport);
        ServiceAccounts = new ServiceAccountsClient(Transport);
        OAuthClients = new OAuthClientsClient(Transport);
        Tenants = new TenantsClient(Transport);
        Admin = new AdminClient(Transport);
        Health = new HealthClient(Transport);
        RateLimits = new RateLimitsClient(Transport);
        Devices = new DevicesClient(Transport);
        Pki = new PkiClient(Transport);
        Gateways = new GatewaysClient(Transport);
        VpnConfigs = new VpnConfigsClient(Transport);
        MeshHubs = new MeshHubsClient(Transport);
        GeoFence = new GeoFenceClient(Transport);
    }

    internal GatehouseTransport Transport { get; }

    public OrganizationsClient Organizations { get; }
    public ApiKeysClient ApiKeys { get; }
    public RolesClient Roles { get; }
    public PermissionsClient Permissions { get; }

    /// <summary>The credentials vault.</summary>
    public CredentialsClient Credentials { get; }
    public WebhooksClient Webhooks { get; }
    public AuditClient Audit { get; }
    public JobsClient Jobs { get; }
    public UsersClient Users { get; }
    public AuthClient Auth { get; }
    public SsoClient Sso { get; }
    public ServiceAccountsClient ServiceAccounts { get; }
    public OAuthClientsClient OAuthClients { get; }
    public TenantsClient Tenants { get; }
    public AdminClient Admin { get; }
    public HealthClient Health { get; }
    public RateLimitsClient RateLimits { get; }

    /// <summary>Device verification: auth URLs, tokens, devices and device-bound sessions.</summary>
    public DevicesClient Devices { get; }

    /// <summary>Each organization's certificate authority: CA certificate, CRL, status check, revocation.</summary>
    public PkiClient Pki { get; }

    /// <summary>Network gateways, networks and access rules; a gateway's own agent uses <see cref="GatewayAgentClient"/>.</summary>
    public GatewaysClient Gateways { get; }

    /// <summary>OpenVPN and WireGuard configs: generate, download once, list, revoke, the organization's policy.</summary>
    public VpnConfigsClient VpnConfigs { get; }

    /// <summary>Mesh hubs and their spokes.</summary>
    public MeshHubsClient MeshHubs { get; }

    /// <summary>The organization's geo-fence.</summary>
    public GeoFenceClient GeoFence { get; }

    /// <summary>Shorthand of <see cref="ApiKeysClient.VerifyAsync(string, string?, RequestOptions?, CancellationToken)"/>.</summary>
    public Task<KeyVerdict> VerifyAsync(string key, string? permissions = null, RequestOptions? options = null, CancellationToken cancellationToken = default) =>
        ApiKeys.VerifyAsync(key, permissions, options, cancellationToken);

    public void Dispose() => _ownedHttp?.Dispose();
}
