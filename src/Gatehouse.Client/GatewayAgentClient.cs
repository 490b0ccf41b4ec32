using Gatehouse.Contracts.Gateways;

namespace Gatehouse.Client;

/// <summary>
/// What a gateway agent calls with its own token (sent as <c>X-Gateway-Token</c>; API.md §10, snake_case
/// on the wire): heartbeat, client verification, connection reports, its server certificate and the
/// rules it enforces. The organization and the gateway are the token's. Thread-safe; keep one per gateway.
/// </summary>
public sealed class GatewayAgentClient : IDisposable
{
    /// <summary>The header the token is sent in.</summary>
    public const string TokenHeader = "X-Gateway-Token";

    private readonly HttpClient? _ownedHttp;
    private readonly GatehouseTransport _transport;

    /// <summary>A client with its own <see cref="HttpClient"/> (disposed with it); <see cref="GatehouseClientOptions.ApiKey"/> is not used.</summary>
    public GatewayAgentClient(GatehouseClientOptions options, string gatewayToken)
        : this(new HttpClient { Timeout = Timeout.InfiniteTimeSpan }, options, gatewayToken) =>
        _ownedHttp = _transport.HttpClient;

    /// <summary>A client over an <see cref="HttpClient"/> you own.</summary>
    public GatewayAgentClient(HttpClient httpClient, GatehouseClientOptions options, string gatewayToken)
    {
        ArgumentNullException.ThrowIfNull(httpClient);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentException.ThrowIfNullOrEmpty(gatewayToken);
        _transport = new GatehouseTransport(httpClient, options, gatewayToken, TokenHeader);
    }

    /// <summary>Reports liveness (and version, load, connected clients); the answer says when to send the next one.</summary>
    public Task<HeartbeatView> HeartbeatAsync(HeartbeatRequest? request = null, RequestOptions? options = null, CancellationToken cancellationToken = default) =>
        Send<HeartbeatView>("heartbeat", request ?? new HeartbeatRequest(), options, cancellationToken, idempotent: false);

    /// <summary>May this client (certificate serial or WireGuard public key) connect? A refusal is an answer (<c>allowed: false</c> and a reason), not an error.</summary>
    public Task<VerifyClientView> VerifyAsync(VerifyClientRequest request, RequestOptions? options = null, CancellationToken cancellationToken = default) =>
        Send<VerifyClientView>("verify", request, options, cancellationToken, idempotent: false);

    /// <summary>Reports a client connection.</summary>
    public Task<ConnectionView> ConnectAsync(ConnectionRequest request, RequestOptions? options = null, CancellationToken cancellationToken = default) =>
        Send<ConnectionView>("connect", request, options, cancellationToken);

    /// <summary>Reports a client disconnection with its byte counts; 404 when the client has no open connection here.</summary>
    public Task<ConnectionView> DisconnectAsync(ConnectionRequest request, RequestOptions? options = null, CancellationToken cancellationToken = default) =>
        Send<ConnectionView>("disconnect", request, options, cancellationToken);

    /// <summary>A server certificate for the gateway's hostname from a CSR (PEM).</summary>
    public Task<ProvisionView> ProvisionAsync(ProvisionRequest request, RequestOptions? options = null, CancellationToken cancellationToken = default) =>
        Send<ProvisionView>("provision", request, options, cancellationToken);

    /// <summary>The rules one client is subject to at this gateway, in order (empty for a refused client).</summary>
    public Task<ClientRulesView> ClientRulesAsync(ClientRulesRequest request, RequestOptions? options = null, CancellationToken cancellationToken = default) =>
        Send<ClientRulesView>("client-rules", request, options, cancellationToken, idempotent: false);

    /// <summary>Every rule this gateway enforces, with a version: poll it and refresh only when the version changes.</summary>
    public Task<AllRulesView> AllRulesAsync(RequestOptions? options = null, CancellationToken cancellationToken = default) =>
        Send<AllRulesView>("all-rules", new AllRulesRequest(), options, cancellationToken, idempotent: false);

    public void Dispose() => _ownedHttp?.Dispose();

    private Task<T> Send<T>(string route, object body, RequestOptions? options, CancellationToken cancellationToken, bool idempotent = true) =>
        _transport.SendAsync<T>(HttpMethod.Post, "gateway/" + route, body, options, cancellationToken, idempotent, GatehouseTransport.SnakeCaseJson);
}
