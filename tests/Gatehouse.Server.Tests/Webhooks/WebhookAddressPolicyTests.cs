using System.Net;
using Gatehouse.Server.Features.Webhooks;

namespace Gatehouse.Server.Tests.Webhooks;

/// <summary>
/// Only public IPv4 and global-unicast IPv6 targets are dialled; IPv6 forms that carry an IPv4
/// address are judged by the IPv4 address inside.
/// </summary>
public sealed class WebhookAddressPolicyTests
{
    [Theory]
    // IPv4 special ranges.
    [InlineData("0.1.2.3", true)]
    [InlineData("10.0.0.1", true)]
    [InlineData("100.64.0.1", true)]
    [InlineData("100.127.255.255", true)]
    [InlineData("127.0.0.1", true)]
    [InlineData("169.254.169.254", true)]
    [InlineData("172.16.0.1", true)]
    [InlineData("192.0.0.8", true)]
    [InlineData("192.0.2.1", true)]
    [InlineData("192.168.1.1", true)]
    [InlineData("198.18.0.1", true)]
    [InlineData("198.19.255.1", true)]
    [InlineData("198.51.100.7", true)]
    [InlineData("203.0.113.7", true)]
    [InlineData("224.0.0.251", true)]
    [InlineData("240.0.0.1", true)]
    [InlineData("255.255.255.255", true)]
    [InlineData("93.184.216.34", false)]
    [InlineData("100.128.0.1", false)]
    [InlineData("172.32.0.1", false)]
    [InlineData("198.20.0.1", false)]
    [InlineData("8.8.8.8", false)]
    // IPv4 inside IPv6: mapped, compatible, SIIT, NAT64, 6to4, Teredo.
    [InlineData("::ffff:127.0.0.1", true)]
    [InlineData("::ffff:10.0.0.1", true)]
    [InlineData("::ffff:93.184.216.34", false)]
    [InlineData("::10.0.0.1", true)]
    [InlineData("::127.0.0.1", true)]
    [InlineData("::93.184.216.34", false)]
    [InlineData("::ffff:0:10.0.0.1", true)]
    [InlineData("::ffff:0:169.254.169.254", true)]
    [InlineData("::ffff:0:93.184.216.34", false)]
    [InlineData("64:ff9b::a00:1", true)]
    [InlineData("64:ff9b::127.0.0.1", true)]
    [InlineData("64:ff9b::93.184.216.34", false)]
    [InlineData("64:ff9b:1::93.184.216.34", true)]
    [InlineData("64:ff9b:1:2::a00:1", true)]
    [InlineData("2002:a00:1::1", true)]
    [InlineData("2002:7f00:1::1", true)]
    [InlineData("2002:5db8:d822::1", false)]
    [InlineData("2001:0:a00:1::1", true)]               // Teredo, private server
    [InlineData("2001:0:5db8:d822:0:0:f5ff:fffe", true)] // Teredo, public server, client 10.0.0.1 (inverted)
    [InlineData("2001:0:5db8:d822:0:0:a247:29dd", false)] // Teredo, public server and client 93.184.214.34 … inverted
    // IPv6 outside global unicast, and special ranges inside it.
    [InlineData("::", true)]
    [InlineData("::1", true)]
    [InlineData("100::1", true)]
    [InlineData("fc00::1", true)]
    [InlineData("fd00:ec2::254", true)]
    [InlineData("fe80::1", true)]
    [InlineData("fec0::1", true)]
    [InlineData("ff02::1", true)]
    [InlineData("4000::1", true)]
    [InlineData("2001:db8::1", true)]
    [InlineData("2001:2::1", true)]
    [InlineData("2001:10::1", true)]
    [InlineData("3fff::1", true)]
    [InlineData("2606:4700:4700::1111", false)]
    [InlineData("2a00:1450:4001:80b::200e", false)]
    [InlineData("2001:4860:4860::8888", false)]
    public void Addresses_are_classified(string address, bool forbidden) =>
        WebhookUrlPolicy.IsForbidden(IPAddress.Parse(address)).ShouldBe(forbidden, address);

    [Theory]
    [InlineData("https://[::ffff:127.0.0.1]/x")]
    [InlineData("https://[64:ff9b::a00:1]/x")]
    [InlineData("https://[::a00:1]/x")]
    [InlineData("https://[::ffff:0:a00:1]/x")]
    [InlineData("https://[2002:a00:1::1]/x")]
    [InlineData("https://[2001:0:a00:1::1]/x")]
    [InlineData("https://[64:ff9b:1::5db8:d822]/x")]
    [InlineData("https://[100::1]/x")]
    [InlineData("https://[3fff::1]/x")]
    public async Task IPv4_carrying_and_non_global_IPv6_targets_are_refused_at_registration(string url)
    {
        await using var server = await GatehouseServer.StartAsync(new ServerOptions { Settings = new Dictionary<string, string?> { ["Gatehouse:Webhooks:AllowInsecure"] = "false" } });
        var orgId = await server.CreateOrgAsync();

        var response = await server.Root.PostAsync($"/api/v1/orgs/{orgId}/webhooks", new { url, events = new[] { "*" } });

        response.StatusCode.ShouldBe(422, response.Text);
        response.ErrorCode.ShouldBe("VALIDATION_FAILED");
        response.Body.GetProperty("error").GetProperty("details").GetProperty("fields")[0].GetProperty("field").GetString().ShouldBe("url");
    }

    [Fact]
    public async Task IPv6_forms_of_a_public_IPv4_address_are_accepted()
    {
        await using var server = await GatehouseServer.StartAsync(new ServerOptions { Settings = new Dictionary<string, string?> { ["Gatehouse:Webhooks:AllowInsecure"] = "false" } });
        var orgId = await server.CreateOrgAsync();

        foreach (var url in new[] { "https://[::ffff:93.184.216.34]/x", "https://[64:ff9b::5db8:d822]/x", "https://[2002:5db8:d822::1]/x" })
        {
            var response = await server.Root.PostAsync($"/api/v1/orgs/{orgId}/webhooks", new { url, events = new[] { "*" }, enabled = false });
            response.StatusCode.ShouldBe(201, $"{url}: {response.Text}");
        }
    }

    [Theory]
    [InlineData("https://hooks.example/T0123/B4567/XXXXsecretXXXX?token=abc", "https://hooks.example/***/***/***?***")]
    [InlineData("https://hooks.slack.com/services/T0/B0/abcdefSECRET", "https://hooks.slack.com/services/***/***/***")]
    [InlineData("https://example.com:8443/api/v1/webhooks/", "https://example.com:8443/api/v1/webhooks/")]
    [InlineData("https://example.com/hooks/catch/123456/abcdef1/", "https://example.com/hooks/catch/***/***/")]
    [InlineData("https://example.com/hook?x=1", "https://example.com/hook?***")]
    [InlineData("https://webhook.site/0f6c1c0e-3d4b-4b7e-9b6e-2a1d1e0c9f00", "https://webhook.site/***")]
    [InlineData("https://example.com/averyveryverylongsegment", "https://example.com/***")]
    [InlineData("https://example.com", "https://example.com/")]
    [InlineData("not a url", "")]
    public void The_audit_form_of_a_URL_keeps_the_origin_and_plain_words(string url, string expected) =>
        WebhookUrlPolicy.Redact(url).ShouldBe(expected);

    [Theory]
    [InlineData("https://hooks.example/T0123/B4567/XXXXsecretXXXX?token=abc", "https://hooks.example")]
    [InlineData("http://127.0.0.1:8080/x/y?z", "http://127.0.0.1:8080")]
    public void The_log_form_of_a_URL_is_its_scheme_and_host(string url, string expected) =>
        WebhookUrlPolicy.ForLog(url).ShouldBe(expected);
}
