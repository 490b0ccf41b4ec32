using Gatehouse.Server.Platform.Auth;
using Microsoft.AspNetCore.Http;

namespace Gatehouse.Server.Tests.Audit;

/// <summary>
/// Organization credentials for tests, before the API-key feature is merged: <c>testkey.{orgId}.{perm,perm}</c>
/// resolves to an <c>api_key</c> principal of that organization with those permissions. Registered
/// only by servers that ask for it.
/// </summary>
public sealed class TestKeyResolver : ICredentialResolver
{
    public ValueTask<CredentialOutcome?> ResolveAsync(string credential, HttpContext httpContext, CancellationToken cancellationToken)
    {
        var parts = credential.Split('.', 3);
        if (parts.Length != 3 || parts[0] != "testkey")
        {
            return ValueTask.FromResult<CredentialOutcome?>(null);
        }

        var id = "key_test_" + Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(credential)))[..12];
        return ValueTask.FromResult<CredentialOutcome?>(CredentialOutcome.Success(new Principal(Principal.ApiKeyType, id, parts[1], parts[2].Split(',', StringSplitOptions.RemoveEmptyEntries))));
    }

    public static string Key(string orgId, params string[] permissions) => $"testkey.{orgId}.{string.Join(',', permissions)}";
}

/// <summary>A server (one per test class) that also accepts <see cref="TestKeyResolver"/> keys.</summary>
public sealed class KeyedServer : IAsyncLifetime
{
    private GatehouseServer? _server;

    public GatehouseServer Server => _server!;

    public async ValueTask InitializeAsync() =>
        _server = await GatehouseServer.StartAsync(new ServerOptions { Services = s => s.AddSingleton<ICredentialResolver, TestKeyResolver>() });

    public async ValueTask DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }

    public ApiClient Client(string orgId, params string[] permissions) => Server.CreateClient(TestKeyResolver.Key(orgId, permissions));
}
