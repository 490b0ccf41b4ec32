using System.Reflection;
using Gatehouse.Contracts.Permissions;
using Gatehouse.Server.Platform.Auth;
using Gatehouse.Server.Platform.Composition;
using Gatehouse.Server.Platform.Events;
using Gatehouse.Server.Platform.Storage;
using Microsoft.AspNetCore.Routing;

namespace Gatehouse.Server.Tests.Architecture;

/// <summary>
/// The catalogs are the union of what features declare: no name twice, every action a feature
/// records is declared, every permission a route checks is in the catalog, and nothing is
/// advertised for a feature that is not built.
/// </summary>
public sealed class CatalogTests(SharedServer shared)
{
    private static readonly FeatureCatalog Catalog = new(Program.Features);

    [Fact]
    public void No_permission_action_event_or_tag_is_declared_twice()
    {
        Catalog.Permissions.Select(p => p.Name).ShouldBeUnique();
        Catalog.AuditActions.Select(a => a.Name).ShouldBeUnique();
        Catalog.WebhookEvents.Select(e => e.Type).ShouldBeUnique();
        Catalog.Tags.Select(t => t.Tag).ShouldBeUnique();
    }

    [Fact]
    public void Two_features_declaring_the_same_permission_stop_the_server_from_composing()
    {
        var ex = Should.Throw<InvalidOperationException>(() => new FeatureCatalog([new Declaring("a:read"), new Declaring("a:read")]));

        ex.Message.ShouldContain("a:read");
    }

    [Fact]
    public void Every_audit_action_defined_in_the_code_is_declared_by_a_feature()
    {
        var defined = typeof(Program).Assembly.GetTypes()
            .SelectMany(t => t.GetFields(BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static))
            .Where(f => f.FieldType == typeof(AuditAction))
            .Select(f => (Field: $"{f.DeclaringType!.Name}.{f.Name}", Action: (AuditAction)f.GetValue(null)!))
            .ToList();

        defined.ShouldNotBeEmpty();
        defined.Where(d => !Catalog.Declares(d.Action)).Select(d => d.Field).ShouldBeEmpty();
    }

    [Fact]
    public void Recording_an_undeclared_action_is_refused_before_anything_is_written()
    {
        using var scope = shared.Server.Services.CreateScope();
        var changes = scope.ServiceProvider.GetRequiredService<ChangeSet>();

        var ex = Should.Throw<InvalidOperationException>(() => changes.Record(new AuditAction("thing.invent", "thing"), null, null));

        ex.Message.ShouldContain("thing.invent");
        changes.Pending.ShouldBeEmpty();
    }

    [Fact]
    public void Every_permission_a_route_checks_is_in_the_catalog()
    {
        var declared = PermissionCatalog.All.Select(p => p.Name).ToHashSet(StringComparer.Ordinal);
        var checkedByRoutes = shared.Server.Services.GetRequiredService<EndpointDataSource>().Endpoints
            .Select(e => e.Metadata.GetMetadata<AccessRequirement>()?.Permission)
            .OfType<string>().Distinct().ToList();

        checkedByRoutes.ShouldNotBeEmpty();
        checkedByRoutes.Where(p => !declared.Contains(p)).ShouldBeEmpty();
    }

    [Fact]
    public async Task Nothing_of_a_feature_that_is_not_built_is_advertised()
    {
        var permissions = await shared.Server.Root.GetAsync("/api/v1/permissions");
        var events = await shared.Server.Root.GetAsync("/api/v1/webhook-events");
        var orgId = await shared.Server.CreateOrgAsync();
        var stats = await shared.Server.Root.GetAsync($"/api/v1/orgs/{orgId}/stats");
        var document = await shared.Server.Anonymous.GetAsync("/api/v1/openapi.json");

        // Devices are built: their permissions, events, stats and routes show.
        permissions.Text.ShouldContain("devices:write");
        events.Text.ShouldContain("device.registered");
        stats.Text.ShouldContain("devices");
        document.Text.ShouldContain("/devices");
        // What the built features declare is there.
        permissions.Text.ShouldContain("credentials:reveal");
        permissions.Text.ShouldContain("oauth_clients:write");
        events.Text.ShouldContain("api_key.rotated");
        events.Text.ShouldContain("oauth_client.secret_rotated");
        stats.Data.GetProperty("apiKeys").GetInt64().ShouldBe(0);
        stats.Data.GetProperty("oauthClients").GetInt64().ShouldBe(0);
    }

    private sealed class Declaring(string permission) : Feature
    {
        public override string Name => "Declaring";

        public override IReadOnlyList<PermissionInfo> Permissions => [new(permission, "test")];
    }
}
