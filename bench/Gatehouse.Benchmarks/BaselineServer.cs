using System.Collections.Frozen;
using System.Text.Json;
using System.Text.Json.Serialization;
using Gatehouse.Crypto;

namespace Gatehouse.Benchmarks;

/// <summary>
/// The load-test baseline (a): the least a verify endpoint can do — parse the same JSON body,
/// hash the key and look it up in a dictionary — on the same Kestrel, so the ratio to Gatehouse's
/// real verify measures what Gatehouse adds.
/// </summary>
public static class BaselineServer
{
    public static void Run(string[] args)
    {
        var builder = WebApplication.CreateSlimBuilder(args);
        builder.Logging.ClearProviders();
        var keysFile = builder.Configuration["keys"] ?? throw new InvalidOperationException("--keys <file with one key per line> is required");
        var hasher = new SecretHasher(new byte[32]);
        var known = File.ReadLines(keysFile).Where(l => l.Length > 0).ToFrozenDictionary(k => hasher.Hash(k), k => k[..8], StringComparer.Ordinal);
        var app = builder.Build();
        app.MapPost("/api/v1/keys/verify", async (HttpContext context) =>
        {
            var request = await JsonSerializer.DeserializeAsync(context.Request.Body, BaselineJson.Default.VerifyBody);
            var valid = request?.Key is { } key && known.ContainsKey(hasher.Hash(key));
            context.Response.ContentType = "application/json";
            await JsonSerializer.SerializeAsync(context.Response.Body, new VerifyAnswer(valid, valid ? "VALID" : "NOT_FOUND"), BaselineJson.Default.VerifyAnswer);
        });
        Console.WriteLine($"baseline listening with {known.Count} keys");
        app.Run();
    }
}

public sealed record VerifyBody(string? Key, string? Permissions);

public sealed record VerifyAnswer(bool Valid, string Code);

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(VerifyBody))]
[JsonSerializable(typeof(VerifyAnswer))]
internal sealed partial class BaselineJson : JsonSerializerContext;
