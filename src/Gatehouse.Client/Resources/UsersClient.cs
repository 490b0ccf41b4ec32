using Gatehouse.Contracts;
using Gatehouse.Contracts.Users;

namespace Gatehouse.Client;

/// <summary><c>/api/v1/orgs/{orgId}/users</c> and root's <c>/api/v1/admin/users</c>.</summary>
public sealed class UsersClient
{
    private readonly GatehouseTransport _transport;

    internal UsersClient(GatehouseTransport transport) => _transport = transport;

    private static string Path(string orgId) => Segment.Org(orgId) + "/users";

    private static string Path(string orgId, string userId) => Path(orgId) + "/" + Segment.Of(userId);

    public Task<UserView> CreateAsync(string orgId, CreateUserRequest request, RequestOptions? options = null, CancellationToken cancellationToken = default) =>
        _transport.SendAsync<UserView>(HttpMethod.Post, Path(orgId), request, options, cancellationToken);

    public Task<Page<UserView>> ListAsync(string orgId, UserListQuery? query = null, RequestOptions? options = null, CancellationToken cancellationToken = default) =>
        _transport.SendPageAsync<UserView>(Path(orgId), query is null ? null : query with { OrgId = null }, options, cancellationToken);

    public IAsyncEnumerable<UserView> ListAllAsync(string orgId, UserListQuery? query = null, RequestOptions? options = null, CancellationToken cancellationToken = default) =>
        Paging.ReadAllAsync<UserView, UserListQuery>((q, ct) => ListAsync(orgId, q, options, ct), query ?? new UserListQuery(), cancellationToken);

    public Task<UserView> GetAsync(string orgId, string userId, RequestOptions? options = null, CancellationToken cancellationToken = default) =>
        _transport.SendAsync<UserView>(HttpMethod.Get, Path(orgId, userId), null, options, cancellationToken);

    public Task<UserView> UpdateAsync(string orgId, string userId, UpdateUserRequest request, RequestOptions? options = null, CancellationToken cancellationToken = default) =>
        _transport.SendAsync<UserView>(HttpMethod.Patch, Path(orgId, userId), request, options, cancellationToken);

    /// <summary>Deletes the user, ends their sessions and revokes the credentials they own.</summary>
    public Task<Deleted> DeleteAsync(string orgId, string userId, RequestOptions? options = null, CancellationToken cancellationToken = default) =>
        _transport.SendAsync<Deleted>(HttpMethod.Delete, Path(orgId, userId), null, options, cancellationToken);

    public Task<Page<SessionView>> ListSessionsAsync(string orgId, string userId, ListQuery? query = null, RequestOptions? options = null, CancellationToken cancellationToken = default) =>
        _transport.SendPageAsync<SessionView>(Path(orgId, userId) + "/sessions", query, options, cancellationToken);

    public Task<SessionView> EndSessionAsync(string orgId, string userId, string sessionId, RequestOptions? options = null, CancellationToken cancellationToken = default) =>
        _transport.SendAsync<SessionView>(HttpMethod.Delete, Path(orgId, userId) + "/sessions/" + Segment.Of(sessionId), null, options, cancellationToken);

    /// <summary>Root: users of every organization (<see cref="UserListQuery.OrgId"/> narrows to one).</summary>
    public Task<Page<UserView>> ListPlatformAsync(UserListQuery? query = null, RequestOptions? options = null, CancellationToken cancellationToken = default) =>
        _transport.SendPageAsync<UserView>("admin/users", query, options, cancellationToken);

    /// <summary>Root: a user of any organization, or a platform administrator (<c>orgId</c> null).</summary>
    public Task<UserView> CreatePlatformAsync(CreateAdminUserRequest request, RequestOptions? options = null, CancellationToken cancellationToken = default) =>
        _transport.SendAsync<UserView>(HttpMethod.Post, "admin/users", request, options, cancellationToken);
}

/// <summary><c>/api/v1/auth</c>: password login and the session it starts.</summary>
public sealed class AuthClient
{
    private readonly GatehouseTransport _transport;

    internal AuthClient(GatehouseTransport transport) => _transport = transport;

    /// <summary>Logs in; use <see cref="LoginResponse.Token"/> as the credential of a new client.</summary>
    public Task<LoginResponse> LoginAsync(LoginRequest request, RequestOptions? options = null, CancellationToken cancellationToken = default) =>
        _transport.SendAsync<LoginResponse>(HttpMethod.Post, "auth/local/login", request, options, cancellationToken);

    public Task<LogoutResponse> LogoutAsync(bool allSessions = false, RequestOptions? options = null, CancellationToken cancellationToken = default) =>
        _transport.SendAsync<LogoutResponse>(HttpMethod.Post, "auth/logout", new LogoutRequest { All = allSessions ? true : null }, options, cancellationToken);

    public Task<CurrentSessionResponse> GetSessionAsync(RequestOptions? options = null, CancellationToken cancellationToken = default) =>
        _transport.SendAsync<CurrentSessionResponse>(HttpMethod.Get, "auth/session", null, options, cancellationToken);

    public Task<PasswordChangedResponse> ChangePasswordAsync(ChangePasswordRequest request, RequestOptions? options = null, CancellationToken cancellationToken = default) =>
        _transport.SendAsync<PasswordChangedResponse>(HttpMethod.Post, "auth/password", request, options, cancellationToken);
}
