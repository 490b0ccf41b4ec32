using System.Net;
using System.Text.Json;
using Gatehouse.Contracts.Gateways;
using Gatehouse.Server.Features.Gateways;
using Gatehouse.Server.Tests.Pki;
using Gatehouse.Server.Tests.Users;

namespace Gatehouse.Server.Tests.Gateways;

/// <summary>
/// The access-rule truth table (docs/gateways.md): one organization, seven rules that overlap on
/// purpose, four users. For every case the rules the gateway receives for the user's certificate
/// (client-rules, over HTTP) decide the packet by first match; verify agrees with client-rules.
/// </summary>
public sealed class AccessRuleTruthTableTests(SharedServer shared)
{
    private readonly GatehouseServer _server = shared.Server;

    public static TheoryData<string, string, int, string, string> Cases => new()
    {
        // user, destination, port, protocol, expected
        { "alice", "10.1.1.1", 80, "tcp", "allow" },     // group rule on network A
        { "alice", "10.1.1.1", 22, "tcp", "deny" },      // a lower priority number (10) wins over the allow at 100
        { "alice", "10.1.1.1", 22, "udp", "allow" },     // the deny is tcp only
        { "alice", "10.1.5.5", 443, "tcp", "allow" },    // wildcard allow at 50
        { "alice", "10.1.5.5", 80, "tcp", "allow" },     // bob's deny does not name alice; the group allow applies
        { "alice", "10.1.5.5", 22, "tcp", "deny" },      // the tcp/22 deny covers the whole of network A
        { "alice", "10.2.0.1", 53, "udp", "allow" },     // user rule on network B
        { "alice", "10.2.0.1", 53, "tcp", "deny" },      // nothing matches: default deny
        { "alice", "10.2.0.1", 8050, "tcp", "deny" },    // wildcard deny on B
        { "alice", "10.3.0.1", 80, "tcp", "deny" },      // outside every network
        { "bob", "10.1.5.5", 443, "tcp", "deny" },       // deny and allow both at 50: deny wins the tie
        { "bob", "10.1.1.1", 80, "tcp", "deny" },        // no rule of bob's reaches there
        { "bob", "10.2.0.1", 8000, "tcp", "allow" },     // range, low end
        { "bob", "10.2.0.1", 8100, "tcp", "allow" },     // range, high end
        { "bob", "10.2.0.1", 8101, "tcp", "deny" },      // just past the range
        { "bob", "10.2.0.1", 8050, "tcp", "deny" },      // allow range and wildcard deny at 200: deny wins
        { "bob", "10.2.0.1", 8050, "udp", "deny" },      // the range is tcp only
        { "carol", "10.1.1.1", 80, "tcp", "deny" },      // disabled: the group rule no longer applies
        { "carol", "10.1.5.5", 443, "tcp", "deny" },     // disabled: not even the wildcard
        { "dave", "10.1.5.5", 443, "tcp", "allow" },     // no roles: the wildcard still applies
        { "dave", "10.1.5.5", 80, "tcp", "deny" },       // the wildcard is tcp/443 only
        { "dave", "10.2.0.1", 8050, "tcp", "deny" },     // wildcard deny
    };

    private static readonly SemaphoreSlim SetupLock = new(1, 1);
    private static World? _world;

    private sealed record World(SimulatedGateway Gateway, IReadOnlyDictionary<string, string> SerialOf);

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task The_first_matching_rule_decides_and_nothing_matching_is_denied(string user, string destination, int port, string protocol, string expected)
    {
        var world = await WorldAsync();

        var answer = await world.Gateway.ClientRulesAsync(world.SerialOf[user]);

        answer.StatusCode.ShouldBe(200, answer.Text);
        var rules = answer.Data.GetProperty("rules").EnumerateArray().Select(r => new EnforcedRule(
            r.GetProperty("cidr").GetString()!, [.. r.GetProperty("ports").EnumerateArray().Select(p => p.GetString()!)],
            r.GetProperty("protocol").GetString()!, r.GetProperty("action").GetString()!)).ToList();
        AccessPolicy.Decide(rules, IPAddress.Parse(destination), port, protocol).ShouldBe(expected);

        // verify says "may connect" exactly when client-rules gives the user something to reach.
        var verify = await world.Gateway.VerifyAsync(world.SerialOf[user]);
        verify.Data.GetProperty("allowed").GetBoolean().ShouldBe(rules.Any(r => r.Action == "allow"), verify.Text);
        if (user == "carol")
        {
            verify.Str("reason").ShouldBe("user_disabled");
            rules.ShouldBeEmpty();
        }
    }

    private async Task<World> WorldAsync()
    {
        await SetupLock.WaitAsync(TestContext.Current.CancellationToken);
        try
        {
            return _world ??= await BuildAsync();
        }
        finally
        {
            SetupLock.Release();
        }
    }

    private async Task<World> BuildAsync()
    {
        var orgId = await _server.CreateOrgAsync("Truth table");
        (await _server.Root.PostAsync($"/api/v1/orgs/{orgId}/roles", new { name = "eng", permissions = new[] { "gateways:read" } })).StatusCode.ShouldBe(201);
        var users = new Dictionary<string, string>
        {
            ["alice"] = await _server.CreateUserAsync(orgId, UserSteps.NewEmail("alice"), roles: ["eng"]),
            ["bob"] = await _server.CreateUserAsync(orgId, UserSteps.NewEmail("bob")),
            ["carol"] = await _server.CreateUserAsync(orgId, UserSteps.NewEmail("carol"), roles: ["eng"]),
            ["dave"] = await _server.CreateUserAsync(orgId, UserSteps.NewEmail("dave")),
        };
        (await _server.Root.PatchAsync($"/api/v1/orgs/{orgId}/users/{users["carol"]}", new { disabled = true })).StatusCode.ShouldBe(200);

        var (gatewayId, gateway) = await _server.CreateGatewayAsync(orgId, "gw-truth");
        var networkA = await _server.CreateNetworkAsync(orgId, "A", "10.1.0.0/16", gatewayId);
        var networkB = await _server.CreateNetworkAsync(orgId, "B", "10.2.0.0/16", gatewayId);
        await _server.CreateRuleAsync(orgId, new { name = "r1", subjects = new[] { "group:eng" }, network_id = networkA, action = "allow", priority = 100 });
        await _server.CreateRuleAsync(orgId, new { name = "r2", subjects = new[] { "user:" + users["bob"] }, cidr = "10.1.5.0/24", action = "deny", priority = 50 });
        await _server.CreateRuleAsync(orgId, new { name = "r3", subjects = new[] { "*" }, cidr = "10.1.5.0/24", ports = new[] { "443" }, protocol = "tcp", action = "allow", priority = 50 });
        await _server.CreateRuleAsync(orgId, new { name = "r4", subjects = new[] { "group:eng" }, network_id = networkA, ports = new[] { "22" }, protocol = "tcp", action = "deny", priority = 10 });
        await _server.CreateRuleAsync(orgId, new { name = "r5", subjects = new[] { "user:" + users["bob"] }, network_id = networkB, ports = new[] { "8000-8100" }, protocol = "tcp", action = "allow", priority = 200 });
        await _server.CreateRuleAsync(orgId, new { name = "r6", subjects = new[] { "user:" + users["alice"] }, network_id = networkB, ports = new[] { "53" }, protocol = "udp", action = "allow", priority = 200 });
        await _server.CreateRuleAsync(orgId, new { name = "r7", subjects = new[] { "*" }, network_id = networkB, ports = new[] { "8050" }, protocol = "tcp", action = "deny", priority = 200 });

        var serials = new Dictionary<string, string>();
        foreach (var (name, userId) in users)
        {
            serials[name] = (await PkiTests.IssueClientAsync(_server, orgId, name, userId)).Serial;
        }

        return new World(gateway, serials);
    }

    [Fact]
    public void The_enforcement_order_is_priority_then_deny_then_id()
    {
        AccessRule Rule(string id, int priority, string action) =>
            new() { Id = id, OrgId = "org", Name = id, Protocol = "any", Action = action, Priority = priority, Subjects = ["*"], Cidr = "10.0.0.0/8", Ports = ["*"] };

        var ordered = AccessPolicy.Ordered([Rule("c", 5, "allow"), Rule("b", 5, "deny"), Rule("a", 1, "allow"), Rule("d", 5, "allow")]).Select(r => r.Id);

        ordered.ShouldBe(["a", "b", "c", "d"]);
        JsonSerializer.Serialize(AccessPolicy.CanonicalCidr("10.1.2.3/16")).ShouldBe("\"10.1.0.0/16\"");
        AccessPolicy.Overlap("10.0.0.0/8", "10.1.0.0/16").ShouldBeTrue();
        AccessPolicy.Overlap("10.1.0.0/16", "10.2.0.0/16").ShouldBeFalse();
        AccessPolicy.Overlap("10.0.0.0/8", "fd00::/8").ShouldBeFalse();
    }
}
