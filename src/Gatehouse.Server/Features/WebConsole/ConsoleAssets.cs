namespace Gatehouse.Server.Features.WebConsole;

/// <summary>The console's stylesheet and its one script, embedded in the server: nothing is fetched from elsewhere.</summary>
internal static class ConsoleAssets
{
    public static readonly IResult Css = Results.Text(Read("console.css"), "text/css; charset=utf-8");
    public static readonly IResult Script = Results.Text(Read("console.js"), "text/javascript; charset=utf-8");

    private static string Read(string name)
    {
        using var stream = typeof(ConsoleAssets).Assembly.GetManifestResourceStream("console/" + name)
            ?? throw new InvalidOperationException($"The console asset {name} is not embedded.");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
