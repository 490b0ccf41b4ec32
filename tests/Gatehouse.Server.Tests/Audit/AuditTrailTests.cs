using System.Text.Json;

namespace Gatehouse.Server.Tests.Audit;

/// <summary>
/// Every mutating route, as a table: the accepted request writes exactly one audit event with the
/// right action, actor, target and request id; a rejected one writes none. Add a row per new route.
/// </summary>
public sealed class AuditTrailTests(SharedServer shared)
{
    private readonly GatehouseServer _server = shared.Server;

    /// <summary>What a row's setup made: the org and any ids its request needs.</summary>
    public sealed record Made(string OrgId, Dictionary<string, string> Ids);

    /// <summary>One route: set up, the request that succeeds, the request that is rejected, and what must be audited.</summary>
    public sealed record MutatingRoute(
        string Name,
        Func<GatehouseServer, Task<Made>> Setup,
        Func<Made, (HttpMethod Method, string Path, object? Body)> Accepted,
        Func<Made, (HttpMethod Method, string Path, object? Body)> Rejected,
        string Action,
        string TargetType,
        Func<Made, ApiResponse, string> TargetId,
        Func<Made, ApiResponse, string> ChainOrgId);

    private static async Task<Made> Org(GatehouseServer server) => new(await server.CreateOrgAsync(), []);

    private static async Task<Made> OrgWithRole(GatehouseServer server)
    {
        var made = await Org(server);
        var role = await server.Root.PostAsync($"/api/v1/orgs/{made.OrgId}/roles", new { name = "r" + Guid.NewGuid().ToString("N")[..6], permissions = new[] { "x:y" } });
        made.Ids["role"] = role.Str("id");
        return made;
    }

    private static async Task<Made> OrgWithWebhook(GatehouseServer server)
    {
        var made = await Org(server);
        var hook = await server.Root.PostAsync($"/api/v1/orgs/{made.OrgId}/webhooks", new { url = "http://127.0.0.1:9/hook", events = new[] { "role.*" } });
        made.Ids["webhook"] = hook.Str("id");
        return made;
    }

    private static async Task<Made> OrgWithDelivery(GatehouseServer server)
    {
        var made = await OrgWithWebhook(server);
        var test = await server.Root.PostAsync($"/api/v1/orgs/{made.OrgId}/webhooks/{made.Ids["webhook"]}/test");
        made.Ids["delivery"] = test.Str("id");
        return made;
    }

    private static async Task<Made> OrgWithKey(GatehouseServer server)
    {
        var made = await Org(server);
        var key = await server.Root.PostAsync($"/api/v1/orgs/{made.OrgId}/api-keys", new { name = "audited key", permissions = new[] { "x:y" } });
        made.Ids["key"] = key.Str("id");
        return made;
    }

    private static async Task<Made> OrgWithOverride(GatehouseServer server)
    {
        var made = await Org(server);
        await server.Root.PutAsync($"/api/v1/orgs/{made.OrgId}/ratelimit-overrides", new { @namespace = "n", identifier = "i", limit = 5, durationMs = 60_000 });
        return made;
    }

    private static async Task<Made> OrgWithCredential(GatehouseServer server)
    {
        var made = await Org(server);
        var credential = await server.Root.PostAsync($"/api/v1/orgs/{made.OrgId}/credentials", new { integrationId = "stripe", authType = "api_key", name = "live", data = new { apiKey = "sk_audit_secret" } });
        made.Ids["credential"] = credential.Str("id");
        return made;
    }

    private const string UnknownKey = "key_01KAAAAAAAAAAAAAAAAAAAAAAA";
    private const string UnknownRole = "role_01KAAAAAAAAAAAAAAAAAAAAAAA";
    private const string UnknownWebhook = "whk_01KAAAAAAAAAAAAAAAAAAAAAAA";

    public static TheoryData<string> Routes
    {
        get
        {
            var names = new TheoryData<string>();
            foreach (var row in Table)
            {
                names.Add(row.Name);
            }

            return names;
        }
    }

    public static readonly IReadOnlyList<MutatingRoute> Table =
    [
        new("create org", _ => Task.FromResult(new Made("", [])),
            _ => (HttpMethod.Post, "/api/v1/orgs", new { name = "Audited" }),
            _ => (HttpMethod.Post, "/api/v1/orgs", new { name = "" }),
            "org.create", "org", (_, r) => r.Str("id"), (_, r) => r.Str("id")),
        new("update org", Org,
            m => (HttpMethod.Patch, $"/api/v1/orgs/{m.OrgId}", new { name = "Renamed" }),
            m => (HttpMethod.Patch, $"/api/v1/orgs/{m.OrgId}", new { slug = "Not A Slug" }),
            "org.update", "org", (m, _) => m.OrgId, (m, _) => m.OrgId),
        new("delete org", Org,
            m => (HttpMethod.Delete, $"/api/v1/orgs/{m.OrgId}", null),
            _ => (HttpMethod.Delete, "/api/v1/orgs/org_01KAAAAAAAAAAAAAAAAAAAAAAA", null),
            "org.delete", "org", (m, _) => m.OrgId, (m, _) => m.OrgId),
        new("create role", Org,
            m => (HttpMethod.Post, $"/api/v1/orgs/{m.OrgId}/roles", new { name = "auditor", permissions = new[] { "audit:read" } }),
            m => (HttpMethod.Post, $"/api/v1/orgs/{m.OrgId}/roles", new { name = "bad name!", permissions = new[] { "audit:read" } }),
            "role.create", "role", (_, r) => r.Str("id"), (m, _) => m.OrgId),
        new("update role", OrgWithRole,
            m => (HttpMethod.Patch, $"/api/v1/orgs/{m.OrgId}/roles/{m.Ids["role"]}", new { description = "changed" }),
            m => (HttpMethod.Patch, $"/api/v1/orgs/{m.OrgId}/roles/{UnknownRole}", new { description = "changed" }),
            "role.update", "role", (m, _) => m.Ids["role"], (m, _) => m.OrgId),
        new("delete role", OrgWithRole,
            m => (HttpMethod.Delete, $"/api/v1/orgs/{m.OrgId}/roles/{m.Ids["role"]}", null),
            m => (HttpMethod.Delete, $"/api/v1/orgs/{m.OrgId}/roles/{UnknownRole}", null),
            "role.delete", "role", (m, _) => m.Ids["role"], (m, _) => m.OrgId),
        new("create webhook", Org,
            m => (HttpMethod.Post, $"/api/v1/orgs/{m.OrgId}/webhooks", new { url = "http://127.0.0.1:9/in", events = new[] { "*" } }),
            m => (HttpMethod.Post, $"/api/v1/orgs/{m.OrgId}/webhooks", new { url = "http://127.0.0.1:9/in", events = new[] { "no.such_event" } }),
            "webhook.create", "webhook", (_, r) => r.Str("id"), (m, _) => m.OrgId),
        new("update webhook", OrgWithWebhook,
            m => (HttpMethod.Patch, $"/api/v1/orgs/{m.OrgId}/webhooks/{m.Ids["webhook"]}", new { description = "changed" }),
            m => (HttpMethod.Patch, $"/api/v1/orgs/{m.OrgId}/webhooks/{m.Ids["webhook"]}", new { events = Array.Empty<string>() }),
            "webhook.update", "webhook", (m, _) => m.Ids["webhook"], (m, _) => m.OrgId),
        new("delete webhook", OrgWithWebhook,
            m => (HttpMethod.Delete, $"/api/v1/orgs/{m.OrgId}/webhooks/{m.Ids["webhook"]}", null),
            m => (HttpMethod.Delete, $"/api/v1/orgs/{m.OrgId}/webhooks/{UnknownWebhook}", null),
            "webhook.delete", "webhook", (m, _) => m.Ids["webhook"], (m, _) => m.OrgId),
        new("rotate webhook secret", OrgWithWebhook,
            m => (HttpMethod.Post, $"/api/v1/orgs/{m.OrgId}/webhooks/{m.Ids["webhook"]}/rotate-secret", new { gracePeriodSeconds = 60 }),
            m => (HttpMethod.Post, $"/api/v1/orgs/{m.OrgId}/webhooks/{m.Ids["webhook"]}/rotate-secret", new { gracePeriodSeconds = -1 }),
            "webhook.rotate_secret", "webhook", (m, _) => m.Ids["webhook"], (m, _) => m.OrgId),
        new("test webhook", OrgWithWebhook,
            m => (HttpMethod.Post, $"/api/v1/orgs/{m.OrgId}/webhooks/{m.Ids["webhook"]}/test", new { }),
            m => (HttpMethod.Post, $"/api/v1/orgs/{m.OrgId}/webhooks/{UnknownWebhook}/test", new { }),
            "webhook.test", "webhook", (m, _) => m.Ids["webhook"], (m, _) => m.OrgId),
        new("redeliver webhook", OrgWithDelivery,
            m => (HttpMethod.Post, $"/api/v1/orgs/{m.OrgId}/webhooks/{m.Ids["webhook"]}/deliveries/{m.Ids["delivery"]}/redeliver", new { }),
            m => (HttpMethod.Post, $"/api/v1/orgs/{m.OrgId}/webhooks/{m.Ids["webhook"]}/deliveries/wdl_01KAAAAAAAAAAAAAAAAAAAAAAA/redeliver", new { }),
            "webhook.redeliver", "webhook_delivery", (_, r) => r.Str("id"), (m, _) => m.OrgId),
        new("create api key", Org,
            m => (HttpMethod.Post, $"/api/v1/orgs/{m.OrgId}/api-keys", new { name = "ci", permissions = new[] { "deploy:write" } }),
            m => (HttpMethod.Post, $"/api/v1/orgs/{m.OrgId}/api-keys", new { name = "", permissions = new[] { "deploy:write" } }),
            "api_key.create", "api_key", (_, r) => r.Str("id"), (m, _) => m.OrgId),
        new("update api key", OrgWithKey,
            m => (HttpMethod.Patch, $"/api/v1/orgs/{m.OrgId}/api-keys/{m.Ids["key"]}", new { name = "renamed" }),
            m => (HttpMethod.Patch, $"/api/v1/orgs/{m.OrgId}/api-keys/{m.Ids["key"]}", new { remaining = -5 }),
            "api_key.update", "api_key", (m, _) => m.Ids["key"], (m, _) => m.OrgId),
        new("revoke api key", OrgWithKey,
            m => (HttpMethod.Delete, $"/api/v1/orgs/{m.OrgId}/api-keys/{m.Ids["key"]}", null),
            m => (HttpMethod.Delete, $"/api/v1/orgs/{m.OrgId}/api-keys/{UnknownKey}", null),
            "api_key.revoke", "api_key", (m, _) => m.Ids["key"], (m, _) => m.OrgId),
        new("rotate api key", OrgWithKey,
            m => (HttpMethod.Post, $"/api/v1/orgs/{m.OrgId}/api-keys/{m.Ids["key"]}/rotate", new { gracePeriodSeconds = 60 }),
            m => (HttpMethod.Post, $"/api/v1/orgs/{m.OrgId}/api-keys/{m.Ids["key"]}/rotate", new { gracePeriodSeconds = -1 }),
            "api_key.rotate", "api_key", (m, _) => m.Ids["key"], (m, _) => m.OrgId),
        new("create credential", Org,
            m => (HttpMethod.Post, $"/api/v1/orgs/{m.OrgId}/credentials", new { integrationId = "stripe", authType = "api_key", name = "live", data = new { apiKey = "sk_audit_secret" } }),
            m => (HttpMethod.Post, $"/api/v1/orgs/{m.OrgId}/credentials", new { integrationId = "stripe", authType = "api_key", name = "live", data = new { other = "x" } }),
            "credential.create", "credential", (_, r) => r.Str("id"), (m, _) => m.OrgId),
        new("update credential", OrgWithCredential,
            m => (HttpMethod.Patch, $"/api/v1/orgs/{m.OrgId}/credentials/stripe/{m.Ids["credential"]}", new { data = new { apiKey = "sk_audit_secret_2" } }),
            m => (HttpMethod.Patch, $"/api/v1/orgs/{m.OrgId}/credentials/stripe/{m.Ids["credential"]}", new { data = new { wrong = "x" } }),
            "credential.update", "credential", (m, _) => m.Ids["credential"], (m, _) => m.OrgId),
        new("delete credential", OrgWithCredential,
            m => (HttpMethod.Delete, $"/api/v1/orgs/{m.OrgId}/credentials/stripe/{m.Ids["credential"]}", null),
            m => (HttpMethod.Delete, $"/api/v1/orgs/{m.OrgId}/credentials/stripe/cred_01KAAAAAAAAAAAAAAAAAAAAAAA", null),
            "credential.delete", "credential", (m, _) => m.Ids["credential"], (m, _) => m.OrgId),
        new("set rate-limit override", Org,
            m => (HttpMethod.Put, $"/api/v1/orgs/{m.OrgId}/ratelimit-overrides", new { @namespace = "n", identifier = "i", limit = 5, durationMs = 60_000 }),
            m => (HttpMethod.Put, $"/api/v1/orgs/{m.OrgId}/ratelimit-overrides", new { @namespace = "n", identifier = "i", limit = 0, durationMs = 60_000 }),
            "ratelimit_override.set", "ratelimit_override", (_, r) => r.Str("id"), (m, _) => m.OrgId),
        new("delete rate-limit override", OrgWithOverride,
            m => (HttpMethod.Delete, $"/api/v1/orgs/{m.OrgId}/ratelimit-overrides?namespace=n&identifier=i", null),
            m => (HttpMethod.Delete, $"/api/v1/orgs/{m.OrgId}/ratelimit-overrides?namespace=n&identifier=nobody", null),
            "ratelimit_override.delete", "ratelimit_override", (_, r) => r.Str("id"), (m, _) => m.OrgId),
    ];

    [Theory]
    [MemberData(nameof(Routes))]
    public async Task An_accepted_mutation_writes_exactly_one_audit_event(string route)
    {
        var row = Table.Single(r => r.Name == route);
        var made = await row.Setup(_server);
        var requestId = "req-audit-" + Guid.NewGuid().ToString("N");
        var (method, path, body) = row.Accepted(made);

        var response = await _server.Root.SendAsync(method, path, body, new Dictionary<string, string> { ["X-Request-Id"] = requestId });

        response.StatusCode.ShouldBeInRange(200, 299, response.Text);
        var events = await EventsOfRequestAsync(requestId);
        events.Count.ShouldBe(1, string.Join('\n', events));
        var e = events[0];
        e.GetProperty("action").GetString().ShouldBe(row.Action);
        e.GetProperty("orgId").GetString().ShouldBe(row.ChainOrgId(made, response));
        e.GetProperty("actor").GetProperty("type").GetString().ShouldBe("root_key");
        e.GetProperty("actor").GetProperty("id").GetString()!.ShouldStartWith("rk_");
        e.GetProperty("target").GetProperty("type").GetString().ShouldBe(row.TargetType);
        e.GetProperty("target").GetProperty("id").GetString().ShouldBe(row.TargetId(made, response));
        e.GetProperty("requestId").GetString().ShouldBe(requestId);
        e.GetProperty("ip").GetString().ShouldNotBeNullOrEmpty();
        e.GetProperty("hash").GetString()!.Length.ShouldBe(64);
        e.ToString().ShouldNotContain("whsec_");
        e.ToString().ShouldNotContain("sk_audit_secret");
        if (response.Body.TryGetProperty("data", out var data) && data.ValueKind == JsonValueKind.Object && data.TryGetProperty("key", out var secret))
        {
            e.ToString().ShouldNotContain(secret.GetString()!);
        }
    }

    [Theory]
    [MemberData(nameof(Routes))]
    public async Task A_rejected_mutation_writes_no_audit_event(string route)
    {
        var row = Table.Single(r => r.Name == route);
        var made = await row.Setup(_server);
        var requestId = "req-rejected-" + Guid.NewGuid().ToString("N");
        var (method, path, body) = row.Rejected(made);

        var response = await _server.Root.SendAsync(method, path, body, new Dictionary<string, string> { ["X-Request-Id"] = requestId });

        response.StatusCode.ShouldBeInRange(400, 499, response.Text);
        (await EventsOfRequestAsync(requestId)).ShouldBeEmpty();
    }

    private async Task<List<JsonElement>> EventsOfRequestAsync(string requestId)
    {
        var response = await _server.Root.GetAsync($"/api/v1/admin/audit-logs?requestId={requestId}");
        response.StatusCode.ShouldBe(200, response.Text);
        return [.. response.Data.EnumerateArray().Select(e => e.Clone())];
    }
}
