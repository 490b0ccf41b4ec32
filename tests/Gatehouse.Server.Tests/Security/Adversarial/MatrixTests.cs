using System.Text;
using System.Text.Json;
using Gatehouse.Server.Tests.ApiKeys;

namespace Gatehouse.Server.Tests.Security.Adversarial;

/// <summary>
/// Generated from the server's route table: every organization route × verb is tried with
/// another organization's ids, deleted ids and random ids (→ 404, nothing changed), and every
/// route guarded by the escalation rule is tried by a caller holding exactly the route's
/// permission but less than its target (→ 403, nothing changed).
/// </summary>
public sealed class MatrixTests(WorldServer fixture) : IClassFixture<WorldServer>
{
    private readonly GatehouseServer _server = fixture.Server;
    private readonly World _world = fixture.World;

    [Fact]
    public async Task Every_org_route_answers_404_for_another_orgs_deleted_and_random_ids_and_changes_nothing()
    {
        var server = _server;
        var world = _world;
        var operations = Operation.Of(server).Where(o => o.Parameters.Contains("orgId")).ToList();
        operations.Count.ShouldBeGreaterThan(20);
        var callerA = server.CreateClient(world.AdminKeyA);
        var before = await SnapshotAsync(server, world.B.OrgId);
        var wrong = new List<string>();
        var tried = 0;

        foreach (var operation in operations)
        {
            var others = operation.Parameters.Where(p => p != "orgId").ToList();
            var variants = new List<(string Label, Func<string, string> Value)>
            {
                ("other org", p => world.B[p]),
                ("deleted org", p => world.Deleted[p]),
                ("random org", p => p == "orgId" ? "org_" + Guid.NewGuid().ToString("N") : world.B[p]),
            };
            if (others.Count > 0)
            {
                variants.Add(("own org, other org's ids", p => p == "orgId" ? world.A.OrgId : world.B[p]));
                variants.Add(("own org, deleted ids", p => p == "orgId" ? world.A.OrgId : world.Deleted[p]));
                variants.Add(("own org, random ids", p => p == "orgId" ? world.A.OrgId : p + "_" + Guid.NewGuid().ToString("N")));
            }

            foreach (var (label, value) in variants)
            {
                // A deleted org's resources were deleted with it; the org id alone names them in the "deleted org" row.
                var response = await SendAsync(callerA, operation, operation.Path(value), Operation.SampleBody(operation, world));
                tried++;
                if (response.StatusCode != 404 || response.ErrorCode != "NOT_FOUND")
                {
                    wrong.Add($"{operation} [{label}] → {response.StatusCode} {Excerpt(response.Text)}");
                }
            }
        }

        wrong.ShouldBeEmpty($"{tried} requests");
        (await SnapshotAsync(server, world.B.OrgId)).ShouldBe(before);
        (await server.Root.GetAsync($"/api/v1/orgs/{world.Deleted.OrgId}")).StatusCode.ShouldBe(404);

        // Verify answers 200 by contract; another org's key is NOT_FOUND and carries no key data.
        var verdict = await callerA.VerifyAsync(new { key = await SecretOfBAsync(server, world) });
        verdict.Code().ShouldBe("NOT_FOUND");
        verdict.Data.TryGetProperty("keyId", out var keyId).ShouldBeFalse(verdict.Text);
        _ = keyId;
    }

    [Fact]
    public async Task Every_guarded_route_refuses_a_caller_holding_less_than_its_target_and_changes_nothing()
    {
        var server = _server;
        // Root-only routes (the tenant view of organizations) have no caller below root to escalate
        // from; their handlers are the organization routes' own, covered here through those.
        var guarded = Operation.Of(server).Where(o => o.GuardsEscalation && o.Requirement?.RootOnly != true).ToList();
        guarded.Count.ShouldBeGreaterThanOrEqualTo(11);
        var wrong = new List<string>();

        foreach (var operation in guarded)
        {
            // A fresh organization per route: its strongest key is the target the caller must not reach.
            var orgId = await server.CreateOrgAsync("Escalation " + operation.Name);
            var (adminId, _) = await server.CreateKeyAsync(orgId, new { name = "owner", permissions = new[] { "*" } });
            var role = await server.Root.PostAsync($"/api/v1/orgs/{orgId}/roles", new { name = "powers", permissions = new[] { "orgs:write" } });
            await server.CreateKeyAsync(orgId, new { name = "role holder", permissions = new[] { "deploy:write" }, roles = new[] { "powers" } });
            // A root-only route is tried by the organization's strongest kind of key: it holds everything but the platform.
            var permission = operation.Requirement switch
            {
                { Permission: { } named } => named,
                { RootOnly: true } => "*",
                _ => throw new InvalidOperationException($"{operation} is guarded but names no permission"),
            };
            var caller = await server.OrgClientAsync(orgId, permission);
            var webhook = await server.Root.PostAsync($"/api/v1/orgs/{orgId}/webhooks", new { url = "http://127.0.0.1:9/target", events = new[] { "role.created" } });
            // A user holding everything: changing, deleting or ending a session of them is beyond the caller.
            var user = await server.Root.PostAsync($"/api/v1/orgs/{orgId}/users", new { email = $"owner-{Guid.NewGuid():N}@example.org", name = "Owner", permissions = new[] { "*" } });
            // The account owns the organization's strongest key: touching the account touches that key.
            var account = await server.Root.PostAsync($"/api/v1/orgs/{orgId}/service-accounts", new { name = "powers", permissions = new[] { "*" } });
            // A client that can obtain tokens holding everything: changing, rotating or deleting it is beyond the caller.
            var client = await server.Root.PostAsync($"/api/v1/orgs/{orgId}/oauth-clients", new { name = "powers", scopes = new[] { "*" } });
            // Single sign-on that makes everyone who logs in hold the role: removing or changing it is beyond the caller.
            await server.Root.PutAsync($"/api/v1/orgs/{orgId}/sso", new { issuer = "https://127.0.0.1:9", clientId = "powers", clientSecret = "powers-client-secret-0123456789", defaultRoles = new[] { "powers" } });
            var ids = new Dictionary<string, string>
            {
                ["orgId"] = orgId,
                ["clientId"] = client.Str("id"),
                ["keyId"] = adminId,
                ["roleId"] = role.Str("id"),
                ["webhookId"] = webhook.Str("id"),
                ["userId"] = user.Str("id"),
                ["sessionId"] = "ses_" + Guid.NewGuid().ToString("N"),
                ["serviceAccountId"] = account.Data.GetProperty("serviceAccount").GetProperty("id").GetString()!,
            };
            var attempt = EscalatingBody(operation);
            var before = await SnapshotAsync(server, orgId);

            var response = await SendAsync(caller, operation, operation.Path(p => ids[p]), attempt);
            if (response.StatusCode is not (403 or 404))
            {
                wrong.Add($"{operation} as a key holding only {permission} → {response.StatusCode} {Excerpt(response.Text)}");
            }

            var after = await SnapshotAsync(server, orgId);
            if (after != before)
            {
                wrong.Add($"{operation}: the organization changed although the request was refused");
            }
        }

        wrong.ShouldBeEmpty();
    }

    [Fact]
    public async Task Every_flat_org_route_naming_another_deleted_or_random_org_answers_404_and_changes_nothing()
    {
        var server = _server;
        var world = _world;
        const string prefix = "/api/v1/orgs/{orgId}/";
        var operations = Operation.Of(server).Where(o => o.Pattern.StartsWith(prefix, StringComparison.Ordinal)).ToList();
        operations.Count.ShouldBeGreaterThan(20);
        var callerA = server.CreateClient(world.AdminKeyA);
        var before = await SnapshotAsync(server, world.B.OrgId);
        var wrong = new List<string>();

        foreach (var operation in operations)
        {
            var flat = operation with { Pattern = "/api/v1/" + operation.Pattern[prefix.Length..] };
            var others = operation.Parameters.Where(p => p != "orgId").ToList();
            var variants = new List<(string Label, string Tenant, Func<string, string> Value)>
            {
                ("other org", world.B.OrgId, p => world.B[p]),
                ("deleted org", world.Deleted.OrgId, p => world.Deleted[p]),
                ("random org", "org_" + Guid.NewGuid().ToString("N"), p => world.B[p]),
            };
            if (others.Count > 0)
            {
                variants.Add(("own org, other org's ids", world.A.OrgId, p => world.B[p]));
            }

            foreach (var (label, tenant, value) in variants)
            {
                var response = await SendAsync(callerA, flat, flat.Path(value), Operation.SampleBody(operation, world), new Dictionary<string, string> { ["X-Tenant-Id"] = tenant });
                if (response.StatusCode != 404 || response.ErrorCode != "NOT_FOUND")
                {
                    wrong.Add($"{flat} [{label}] → {response.StatusCode} {Excerpt(response.Text)}");
                }
            }
        }

        wrong.ShouldBeEmpty();
        (await SnapshotAsync(server, world.B.OrgId)).ShouldBe(before);
    }

    /// <summary>What each guarded route is asked to do beyond its caller: a new route must say here how it could escalate.</summary>
    private static object? EscalatingBody(Operation operation) => operation.Name switch
    {
        "CreateApiKey" or "LockteraCreateApiKey" => new { name = "escalated", permissions = new[] { "*" } },
        "UpdateApiKey" => new { name = "taken over" },
        "RotateApiKey" => new { gracePeriodSeconds = 3600 },
        "RevokeApiKey" or "LockteraDeleteApiKey" or "DeleteRole" or "DeleteOrg" => null,
        "CreateRole" => new { name = "escalated", permissions = new[] { "*" } },
        "UpdateRole" => new { permissions = new[] { "orgs:write", "api_keys:write" } },
        "UpdateOrg" or "LockteraUpdateOrg" => new { settings = new { rateLimits = new { perMinute = 1_000_000 } } },
        "CreateWebhook" => new { url = "http://127.0.0.1:9/escalated", events = new[] { "credential.*" } },
        "UpdateWebhook" => new { events = new[] { "*" } },
        "CreateUser" => new { email = $"escalated-{Guid.NewGuid():N}@example.org", name = "Escalated", permissions = new[] { "*" } },
        "UpdateUser" => new { name = "taken over" },
        "DeleteUser" or "EndUserSession" => null,
        "CreateServiceAccount" => new { name = "escalated", permissions = new[] { "*" } },
        "AdminCreateServiceAccount" or "AdminCreateServiceAccountAlias" => new { orgId = "org_unused", name = "escalated", permissions = new[] { "*" } },
        "UpdateServiceAccount" => new { disabled = true },
        "DeleteServiceAccount" => null,
        "CreateServiceAccountKey" => new { name = "escalated", permissions = new[] { "orgs:write" } },
        "CreateOAuthClient" => new { name = "escalated", scopes = new[] { "*" } },
        "UpdateOAuthClient" => new { name = "taken over" },
        "RotateOAuthClientSecret" => new { gracePeriodSeconds = 3600 },
        "DeleteOAuthClient" => null,
        // A device session carries no platform permission; a session for a device the caller cannot name is the most it could try.
        "CreateDeviceSession" => new { userId = "resident", deviceId = "dev_" + Guid.NewGuid().ToString("N") },
        "EndDeviceSession" => null,
        "PutSsoSettings" => new { issuer = "https://127.0.0.1:9", clientId = "escalated", roleMappings = new[] { new { value = "anyone", role = "powers" } } },
        "DeleteSsoSettings" => null,
        _ => throw new InvalidOperationException($"{operation} ({operation.Name}) is guarded but has no escalating request in MatrixTests.EscalatingBody."),
    };

    private static async Task<ApiResponse> SendAsync(ApiClient client, Operation operation, string path, object? body, IDictionary<string, string>? headers = null)
    {
        if (!operation.HasBody)
        {
            return await client.SendAsync(new HttpMethod(operation.Method), path, null, headers);
        }

        return await client.SendRawAsync(new HttpMethod(operation.Method), path, JsonSerializer.Serialize(body ?? new { }), headers: headers);
    }

    /// <summary>What an organization holds, read by root, without per-response metadata.</summary>
    private static async Task<string> SnapshotAsync(GatehouseServer server, string orgId)
    {
        var parts = new StringBuilder();
        foreach (var path in new[] { "", "/api-keys?includeRevoked=true&limit=200", "/roles?limit=200", "/webhooks?limit=200", "/users?limit=200", "/credentials?limit=200", "/service-accounts?limit=200", "/oauth-clients?limit=200", "/sso", "/audit-logs?limit=1" })
        {
            var response = await server.Root.GetAsync($"/api/v1/orgs/{orgId}{path}");
            parts.Append(path).Append(' ').Append(response.StatusCode).Append(' ');
            if (response.StatusCode == 200)
            {
                // Using a key is not changing it: lastUsedAt moves with every request of the caller.
                var data = System.Text.RegularExpressions.Regex.Replace(response.Data.GetRawText(), "\"lastUsedAt\":(\"[^\"]*\"|null)", "");
                parts.Append(path.StartsWith("/audit-logs", StringComparison.Ordinal)
                    ? response.Body.GetProperty("meta").GetProperty("pagination").GetProperty("total").GetRawText()
                    : data);
            }

            parts.Append('\n');
        }

        return parts.ToString();
    }

    private static async Task<string> SecretOfBAsync(GatehouseServer server, World world) =>
        (await server.CreateKeyAsync(world.B.OrgId, new { name = "b secret", permissions = new[] { "deploy:read" } })).Key;

    private static string Excerpt(string text) => text.Length <= 240 ? text : text[..240] + "…";
}
