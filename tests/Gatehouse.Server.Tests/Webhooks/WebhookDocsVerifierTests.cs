using System.Diagnostics;
using System.Text.Json;

namespace Gatehouse.Server.Tests.Webhooks;

/// <summary>The JavaScript verifier of docs/webhooks.md, run by node, accepts real deliveries and refuses forged ones.</summary>
public sealed class WebhookDocsVerifierTests(SharedServer shared)
{
    private readonly GatehouseServer _server = shared.Server;

    [Fact]
    public async Task The_documented_javascript_verifier_accepts_a_real_delivery()
    {
        var node = ExternalTools.FindOnPath("node");
        if (node is null)
        {
            Assert.Skip("node is not installed");
        }

        await using var receiver = await WebhookReceiver.StartAsync();
        var orgId = await _server.CreateOrgAsync();
        var (webhookId, secret) = await _server.CreateWebhookAsync(orgId, receiver.Url(), "webhook.test");
        await _server.Root.PostAsync($"/api/v1/orgs/{orgId}/webhooks/{webhookId}/test");
        var message = (await receiver.WaitForAsync(r => r.Type == "webhook.test"))[0];

        (await RunAsync(node, secret, message)).ShouldBe("true");
        (await RunAsync(node, secret, message with { Body = message.Body + " " })).ShouldBe("false");
        (await RunAsync(node, "whsec_" + Convert.ToBase64String(new byte[32]), message)).ShouldBe("false");
    }

    private static async Task<string> RunAsync(string node, string secret, ReceivedWebhook message)
    {
        var docs = await File.ReadAllTextAsync(Path.Combine(ExternalTools.RepositoryRoot(), "docs", "webhooks.md"));
        var start = docs.IndexOf("```javascript\n", StringComparison.Ordinal) + "```javascript\n".Length;
        var code = docs[start..docs.IndexOf("```", start, StringComparison.Ordinal)];
        var input = JsonSerializer.Serialize(new
        {
            secret,
            headers = new Dictionary<string, string> { ["webhook-id"] = message.Id, ["webhook-timestamp"] = message.Timestamp, ["webhook-signature"] = message.Signature },
            body = message.Body,
        });
        var script = code + "\nconst input = JSON.parse(require('node:fs').readFileSync(0, 'utf8'));\n"
            + "process.stdout.write(String(verifyGatehouseWebhook(input.secret, input.headers, input.body)));\n";
        var file = Path.Combine(Path.GetTempPath(), $"gatehouse-verify-{Guid.NewGuid():N}.js");
        await File.WriteAllTextAsync(file, script);
        try
        {
            var start2 = new ProcessStartInfo(node, [file]) { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true };
            using var process = Process.Start(start2)!;
            await process.StandardInput.WriteAsync(input);
            process.StandardInput.Close();
            var output = await process.StandardOutput.ReadToEndAsync();
            var errors = await process.StandardError.ReadToEndAsync();
            await process.WaitForExitAsync();
            process.ExitCode.ShouldBe(0, errors);
            return output.Trim();
        }
        finally
        {
            File.Delete(file);
        }
    }
}
