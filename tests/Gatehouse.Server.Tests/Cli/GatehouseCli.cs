using System.Diagnostics;

namespace Gatehouse.Server.Tests.Cli;

/// <summary>What one run of the command line left: its exit code and everything it wrote.</summary>
public sealed record CliRun(int ExitCode, string Out, string Err)
{
    public override string ToString() => $"exit {ExitCode}\n--- stdout\n{Out}\n--- stderr\n{Err}";
}

/// <summary>
/// Runs the built <c>gatehouse</c> tool as a process, the way a person or a script does, against a
/// real server. Each instance has its own profile file (<c>GATEHOUSE_CONFIG</c>) in a temp folder,
/// and passes the server's URL and a key through the environment unless a test says otherwise.
/// </summary>
public sealed class GatehouseCli : IDisposable
{
    private readonly DirectoryInfo _home = Directory.CreateTempSubdirectory("gatehouse-cli-");

    public GatehouseCli(Uri serverUrl, string? key)
    {
        Environment = new Dictionary<string, string?>
        {
            ["GATEHOUSE_CONFIG"] = ConfigPath,
            ["GATEHOUSE_URL"] = serverUrl.ToString().TrimEnd('/'),
            ["GATEHOUSE_KEY"] = key,
            ["GATEHOUSE_ORG"] = null,
            ["NO_COLOR"] = "1",
        };
    }

    public string ConfigPath => Path.Combine(_home.FullName, "config.json");

    public string Home => _home.FullName;

    /// <summary>Variables every run gets (null removes one inherited from the test process).</summary>
    public Dictionary<string, string?> Environment { get; }

    /// <summary>The built tool beside the server's own binaries: <c>src/Gatehouse.Cli/bin/&lt;configuration&gt;/net10.0/gatehouse.dll</c>.</summary>
    public static string Assembly => Path.Combine(ExternalTools.RepositoryRoot(), "src", "Gatehouse.Cli", "bin",
        AppContext.BaseDirectory.Contains("/Release/", StringComparison.Ordinal) ? "Release" : "Debug", "net10.0", "gatehouse.dll");

    public Task<CliRun> RunAsync(params string[] arguments) => RunWithInputAsync(null, null, arguments);

    /// <summary>Runs with <paramref name="input"/> on standard input and <paramref name="environment"/> on top of <see cref="Environment"/>.</summary>
    public async Task<CliRun> RunWithInputAsync(string? input, IReadOnlyDictionary<string, string?>? environment, params string[] arguments)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true, WorkingDirectory = Home };
        start.ArgumentList.Add(Assembly);
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        foreach (var (name, value) in Environment.Concat(environment ?? new Dictionary<string, string?>()))
        {
            start.Environment[name] = value;
        }

        using var process = Process.Start(start)!;
        var cancellation = TestContext.Current.CancellationToken;
        var output = process.StandardOutput.ReadToEndAsync(cancellation);
        var errors = process.StandardError.ReadToEndAsync(cancellation);
        if (input is not null)
        {
            await process.StandardInput.WriteLineAsync(input.AsMemory(), cancellation);
        }

        process.StandardInput.Close();
        await process.WaitForExitAsync(cancellation);
        return new CliRun(process.ExitCode, await output, await errors);
    }

    public void Dispose() => _home.Delete(recursive: true);
}
