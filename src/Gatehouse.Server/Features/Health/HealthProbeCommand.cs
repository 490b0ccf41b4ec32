namespace Gatehouse.Server.Features.Health;

/// <summary>
/// <c>Gatehouse.Server healthcheck [url]</c>: asks a running server's readiness and exits 0 when it
/// answers 200, 1 otherwise. For container health checks in an image that carries no curl or wget.
/// </summary>
public static class HealthProbeCommand
{
    public const string Verb = "healthcheck";
    public const string DefaultUrl = "http://127.0.0.1:8080/health/ready";

    public static bool Matches(string[] args) => args.Length > 0 && args[0] == Verb;

    public static async Task<int> RunAsync(string[] args)
    {
        var url = args.Length > 1 ? args[1] : DefaultUrl;
        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        try
        {
            using var response = await client.GetAsync(new Uri(url));
            return response.IsSuccessStatusCode ? 0 : 1;
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or UriFormatException)
        {
            await Console.Error.WriteLineAsync($"gatehouse: {url}: {ex.Message}");
            return 1;
        }
    }
}
