using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;

namespace Gatehouse.Server.Tests.Webhooks;

/// <summary>One request the receiver got.</summary>
public sealed record ReceivedWebhook(string Path, string Id, string Timestamp, string Signature, string Body)
{
    public System.Text.Json.JsonElement Json => System.Text.Json.JsonDocument.Parse(Body).RootElement;

    public string Type => Json.GetProperty("type").GetString()!;
}

/// <summary>
/// A local HTTP receiver on a loopback port (allowed by the test server's insecure setting). It
/// answers with <see cref="Respond"/> and records everything it gets.
/// </summary>
public sealed class WebhookReceiver : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentQueue<ReceivedWebhook> _received = new();

    private WebhookReceiver(WebApplication app) => _app = app;

    /// <summary>Status and body for the next request; default 200 "ok".</summary>
    public Func<HttpContext, (int Status, string Body)> Respond { get; set; } = _ => (200, "ok");

    /// <summary>How long to wait before answering (slow receivers); default none.</summary>
    public Func<HttpContext, TimeSpan> Delay { get; set; } = _ => TimeSpan.Zero;

    public Uri BaseAddress { get; private set; } = null!;

    public string Url(string path = "/hook") => new Uri(BaseAddress, path).ToString();

    public IReadOnlyList<ReceivedWebhook> Received => [.. _received];

    public static async Task<WebhookReceiver> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var receiver = new WebhookReceiver(app);
        app.Run(async context =>
        {
            using var reader = new StreamReader(context.Request.Body, Encoding.UTF8);
            var body = await reader.ReadToEndAsync();
            receiver._received.Enqueue(new ReceivedWebhook(
                context.Request.Path, context.Request.Headers["webhook-id"].ToString(), context.Request.Headers["webhook-timestamp"].ToString(),
                context.Request.Headers["webhook-signature"].ToString(), body));
            try
            {
                // A slow receiver is what some tests are about: the sender must see real time pass.
                await Task.Delay(receiver.Delay(context), context.RequestAborted);
            }
            catch (OperationCanceledException)
            {
                return; // The sender gave up.
            }

            var (status, text) = receiver.Respond(context);
            context.Response.StatusCode = status;
            await context.Response.WriteAsync(text);
        });
        await app.StartAsync();
        receiver.BaseAddress = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
        return receiver;
    }

    /// <summary>Waits (real time, bounded) until <paramref name="count"/> requests matched.</summary>
    public async Task<IReadOnlyList<ReceivedWebhook>> WaitForAsync(Func<ReceivedWebhook, bool> match, int count = 1) =>
        await Eventually.ValueAsync(() => Task.FromResult(Received.Where(match).ToList()), matched => matched.Count >= count,
            $"the receiver to get {count} matching request(s)", describe: matched => $"{matched.Count} matched; all received: {string.Join(", ", Received.Select(r => r.Type))}");

    public ValueTask DisposeAsync() => _app.DisposeAsync();
}

/// <summary>
/// A Standard Webhooks verifier written from the specification alone (it shares no code with the
/// server): decode the base64 after <c>whsec_</c>, HMAC-SHA256 over <c>id.timestamp.body</c>, compare
/// against each space-separated <c>v1,</c> signature, and reject timestamps off by more than 5 minutes.
/// </summary>
public static class StandardWebhooksVerifier
{
    public static bool Verify(string secret, ReceivedWebhook message, DateTimeOffset now)
    {
        if (!long.TryParse(message.Timestamp, out var timestamp) || Math.Abs(now.ToUnixTimeSeconds() - timestamp) > 300)
        {
            return false;
        }

        var key = Convert.FromBase64String(secret["whsec_".Length..]);
        var expected = HMACSHA256.HashData(key, Encoding.UTF8.GetBytes($"{message.Id}.{message.Timestamp}.{message.Body}"));
        foreach (var part in message.Signature.Split(' '))
        {
            var comma = part.IndexOf(',');
            if (comma > 0 && part[..comma] == "v1" && CryptographicOperations.FixedTimeEquals(Convert.FromBase64String(part[(comma + 1)..]), expected))
            {
                return true;
            }
        }

        return false;
    }
}
