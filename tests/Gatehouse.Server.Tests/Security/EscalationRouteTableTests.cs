using Gatehouse.Server.Platform.Auth;
using Microsoft.AspNetCore.Routing;

namespace Gatehouse.Server.Tests.Security;

/// <summary>
/// Read from the running server's route table, so a route mapped tomorrow is held to the rule the
/// day it appears: every route that changes a credential, a role or an organization's platform
/// settings goes through the one escalation check.
/// </summary>
public sealed class EscalationRouteTableTests(SharedServer shared)
{
    // Path segments of resources that are, or grant, credentials and powers. Later modules
    // (users, service accounts, OAuth clients, sessions, devices, gateways) are listed already.
    // Gateway tokens are credentials of their own actor kind that hold no platform permission, so
    // issuing one grants nothing beyond the gateways:write the caller already holds (decision 0021).
    // Single sign-on settings decide which roles strangers get at their first login (decision 0024).
    private static readonly string[] CredentialResources =
        ["api-keys", "roles", "users", "service-accounts", "oauth-clients", "sessions", "tenants", "sso"];

    [Fact]
    public void Every_route_that_changes_a_credential_or_role_is_guarded()
    {
        // The console's pages hold no power of their own: each of their form posts is an API request made
        // with the signed-in user's session, which meets the API route's guard (WebConsole/ConsoleBrowserTests
        // shows a user refused through the console what the API refuses them).
        var mutating = RouteTable()
            .Where(r => r.Methods.Any(m => m is "POST" or "PATCH" or "PUT" or "DELETE"))
            .Where(r => !r.Pattern.StartsWith("/console", StringComparison.Ordinal))
            .ToList();
        mutating.ShouldNotBeEmpty();
        var unguarded = mutating
            .Where(r => ChangesCredentials(r.Pattern, r.Methods))
            .Where(r => r.Endpoint.Metadata.GetMetadata<EscalationGuardMetadata>() is null)
            .Select(r => $"{string.Join(",", r.Methods)} {r.Pattern}")
            .ToList();

        unguarded.ShouldBeEmpty();
        // The rule is live: the key routes, the role routes and the org's own PATCH/DELETE are among the guarded.
        mutating.Count(r => r.Endpoint.Metadata.GetMetadata<EscalationGuardMetadata>() is not null).ShouldBeGreaterThanOrEqualTo(9);
    }

    [Fact]
    public void Every_mutating_route_requires_a_credential_or_is_documented_as_open()
    {
        var open = RouteTable()
            .Where(r => r.Pattern.StartsWith("/api/v1", StringComparison.Ordinal))
            .Where(r => r.Methods.Any(m => m is "POST" or "PATCH" or "PUT" or "DELETE"))
            .Where(r => r.Endpoint.Metadata.GetMetadata<AccessRequirement>() is null)
            // Open on purpose, and marked so (a login takes no credential: it makes one).
            .Where(r => r.Endpoint.Metadata.GetMetadata<Microsoft.AspNetCore.Authorization.IAllowAnonymous>() is null)
            .Select(r => $"{string.Join(",", r.Methods)} {r.Pattern}")
            .ToList();

        open.ShouldBeEmpty();
    }

    private static bool ChangesCredentials(string pattern, IReadOnlyList<string> methods)
    {
        var segments = pattern.Split('/', StringSplitOptions.RemoveEmptyEntries);
        // Validating a secret reads a key; it changes nothing.
        if (segments[^1] == "validate")
        {
            return false;
        }

        if (segments.Any(s => CredentialResources.Contains(s, StringComparer.Ordinal)))
        {
            return true;
        }

        // The organization itself: its settings bind the platform, and deleting it revokes every key.
        return pattern == "/api/v1/orgs/{orgId}" && methods.Any(m => m is "PATCH" or "DELETE");
    }

    private IReadOnlyList<(string Pattern, IReadOnlyList<string> Methods, RouteEndpoint Endpoint)> RouteTable() =>
        [.. shared.Server.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .Select(e => (
                Pattern: "/" + (e.RoutePattern.RawText ?? "").TrimStart('/'),
                Methods: (IReadOnlyList<string>)(e.Metadata.GetMetadata<Microsoft.AspNetCore.Routing.HttpMethodMetadata>()?.HttpMethods ?? []),
                Endpoint: e))];
}
