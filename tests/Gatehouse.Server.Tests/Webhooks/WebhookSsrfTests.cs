using System.Net;
using System.Net.Sockets;
using Gatehouse.Server.Features.Webhooks;
using Gatehouse.Server.Platform.Storage;

namespace Gatehouse.Server.Tests.Webhooks;

/// <summary>With insecure webhooks off (the production default), private targets are refused at registration and at delivery.</summary>
public sealed class WebhookSsrfTests
{
    private static Task<GatehouseServer> StartSecureAsync() =>
        GatehouseServer.StartAsync(new ServerOptions { Settings = new Dictionary<string, string?> { ["Gatehouse:Webhooks:AllowInsecure"] = "false" } });

    [Fact]
    public async Task Private_loopback_link_local_and_metadata_targets_are_refused_without_connecting()
    {
        await using var server = await StartSecureAsync();
        var orgId = await server.CreateOrgAsync();
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        var urls = new[]
        {
            "http://127.0.0.1/hook",
            $"https://127.0.0.1:{port}/hook",
            "https://169.254.169.254/latest/meta-data",
            "https://10.0.0.1/hook",
            "https://192.168.1.10/hook",
            "https://172.16.0.1/hook",
            "https://[::1]/hook",
            $"https://[::ffff:127.0.0.1]:{port}/hook",
            "https://[fd00:ec2::254]/hook",
            $"https://localhost:{port}/hook",
            "https://0.0.0.0/hook",
            "http://example.com/hook",
        };

        foreach (var url in urls)
        {
            var response = await server.Root.PostAsync($"/api/v1/orgs/{orgId}/webhooks", new { url, events = new[] { "*" } });
            response.StatusCode.ShouldBe(422, $"{url}: {response.Text}");
            response.Body.GetProperty("error").GetProperty("details").GetProperty("fields")[0].GetProperty("field").GetString().ShouldBe("url");
            // The refusal names the setting that lifts it, so a local trial needs no code reading.
            response.Body.GetProperty("error").GetProperty("details").GetProperty("fields")[0].GetProperty("reason").GetString()!
                .ShouldContain("GATEHOUSE_WEBHOOKS_ALLOW_INSECURE=true", customMessage: url);
        }

        listener.Pending().ShouldBeFalse();
        (await server.Root.GetAsync($"/api/v1/orgs/{orgId}/webhooks")).Data.GetArrayLength().ShouldBe(0);
    }

    [Fact]
    public async Task Plain_http_is_refused_with_its_own_reason_and_an_update_to_a_private_target_is_refused()
    {
        await using var server = await StartSecureAsync();
        var orgId = await server.CreateOrgAsync();

        var http = await server.Root.PostAsync($"/api/v1/orgs/{orgId}/webhooks", new { url = "http://93.184.216.34/hook", events = new[] { "*" } });
        http.StatusCode.ShouldBe(422);
        http.Text.ShouldContain("https");
        var created = await server.Root.PostAsync($"/api/v1/orgs/{orgId}/webhooks", new { url = "https://93.184.216.34/hook", events = new[] { "*" }, enabled = false });
        created.StatusCode.ShouldBe(201, created.Text);

        var update = await server.Root.PatchAsync($"/api/v1/orgs/{orgId}/webhooks/{created.Str("id")}", new { url = "https://169.254.169.254/" });

        update.StatusCode.ShouldBe(422);
        (await server.Root.GetAsync($"/api/v1/orgs/{orgId}/webhooks/{created.Str("id")}")).Str("url").ShouldBe("https://93.184.216.34/hook");
    }

    [Fact]
    public async Task Delivery_checks_the_address_again_and_never_connects_to_a_forbidden_one()
    {
        await using var server = await StartSecureAsync();
        await using var receiver = await WebhookReceiver.StartAsync();
        var orgId = await server.CreateOrgAsync();
        var webhookId = "whk_01KAAAAAAAAAAAAAAAAAAAAAAA";
        using (var scope = server.Services.CreateScope())
        {
            // As if the name had resolved to a public address at registration and to loopback later (DNS rebinding).
            var db = scope.ServiceProvider.GetRequiredService<GatehouseDb>();
            var secrets = scope.ServiceProvider.GetRequiredService<WebhookSecrets>();
            db.Add(new WebhookEndpoint
            {
                Id = webhookId,
                OrgId = orgId,
                Url = receiver.Url().Replace("127.0.0.1", "localhost", StringComparison.Ordinal),
                Events = ["*"],
                SealedSecret = secrets.Seal(webhookId, new byte[32]),
                CreatedAt = DateTime.UtcNow,
                UpdatedAt = DateTime.UtcNow,
            });
            await db.SaveChangesAsync(TestContext.Current.CancellationToken);
        }

        await server.Root.PostAsync($"/api/v1/orgs/{orgId}/roles", new { name = "trigger", permissions = new[] { "a:b" } });

        var deliveries = await server.WaitForDeliveriesAsync(orgId, webhookId, d => d.Count == 1 && d[0].AttemptCount() == 1);
        var attempt = deliveries[0].GetProperty("attempts")[0];
        attempt.GetProperty("succeeded").GetBoolean().ShouldBeFalse();
        attempt.GetProperty("statusCode").ValueKind.ShouldBe(System.Text.Json.JsonValueKind.Null);
        attempt.GetProperty("error").GetString()!.ShouldContain("forbidden");
        receiver.Received.ShouldBeEmpty();
    }

    [Theory]
    [InlineData("127.0.0.1", true)]
    [InlineData("10.1.2.3", true)]
    [InlineData("100.64.0.1", true)]
    [InlineData("169.254.169.254", true)]
    [InlineData("172.31.255.255", true)]
    [InlineData("192.168.0.1", true)]
    [InlineData("224.0.0.1", true)]
    [InlineData("::1", true)]
    [InlineData("fe80::1", true)]
    [InlineData("fd00:ec2::254", true)]
    [InlineData("::ffff:10.0.0.1", true)]
    [InlineData("93.184.216.34", false)]
    [InlineData("172.32.0.1", false)]
    [InlineData("2606:4700:4700::1111", false)]
    public void Address_ranges_are_classified(string address, bool forbidden) =>
        WebhookUrlPolicy.IsForbidden(IPAddress.Parse(address)).ShouldBe(forbidden);
}
