using System.Diagnostics;
using System.Text.RegularExpressions;

namespace Gatehouse.Server.Tests.Docs;

/// <summary>
/// The README's quick start, run as a reader runs it: its bash blocks, in order, against a fresh
/// server process. The block that starts the server is the one step replaced: the test starts the
/// built server itself with the same settings (a `dotnet run` here would build the project again).
/// </summary>
public sealed partial class ReadmeQuickStartTests
{
    [Fact]
    public async Task The_quick_start_runs_as_pasted_against_a_fresh_server()
    {
        var missing = new[] { "bash", "curl", "jq", "python3" }.Where(tool => ExternalTools.FindOnPath(tool) is null).ToList();
        missing.ShouldBeEmpty("the README quick start needs these programs (Debian packages of the same names)");
        var blocks = QuickStartBlocks();
        var start = blocks.Single(b => b.Contains("dotnet run", StringComparison.Ordinal));
        start.ShouldContain("GATEHOUSE_WEBHOOKS_ALLOW_INSECURE=true");
        start.ShouldContain("GATEHOUSE_ROOT_KEY=$ROOT");

        var rootKey = "gkr_quickstart_" + Guid.NewGuid().ToString("N");
        var dataDir = Directory.CreateTempSubdirectory("gatehouse-quickstart-");
        try
        {
            await using var server = ServerProcess.Start(new Dictionary<string, string?>
            {
                ["GATEHOUSE_ROOT_KEY"] = rootKey,
                ["GATEHOUSE_DATA_DIR"] = dataDir.FullName,
                ["GATEHOUSE_WEBHOOKS_ALLOW_INSECURE"] = "true",
            });
            (await server.WaitHealthyAsync(TimeSpan.FromSeconds(60))).ShouldBeTrue(server.StandardError);

            var script = "set -euo pipefail\n" + string.Join("\n", blocks.Where(b => b != start));
            var (exitCode, output, errors) = await RunBashAsync(script, dataDir.FullName, new Dictionary<string, string>
            {
                ["GH"] = server.BaseAddress.ToString().TrimEnd('/'),
                ["ROOT"] = rootKey,
            });

            var transcript = $"exit {exitCode}\n--- stdout\n{output}\n--- stderr\n{errors}\n--- server stderr\n{server.StandardError}";
            exitCode.ShouldBe(0, transcript);
            output.ShouldContain("webhook api_key.created: signature valid", customMessage: transcript);
            output.ShouldContain("""{"valid":true,"code":"VALID","remaining":999}""", customMessage: transcript);
            output.ShouldContain("""{"valid":false,"code":"INSUFFICIENT_PERMISSIONS"}""", customMessage: transcript);
            output.ShouldContain("""{"apiKey":"sk_test_quickstart"}""", customMessage: transcript);
            output.ShouldContain("credential.reveal", customMessage: transcript);
            // The ids and keys were captured with jq, as the reader would.
            OrgIdPattern().IsMatch(output).ShouldBeTrue(transcript);
        }
        finally
        {
            dataDir.Delete(recursive: true);
        }
    }

    /// <summary>Every ```bash block between "## Quick start" and the next second-level heading of README.md.</summary>
    private static List<string> QuickStartBlocks()
    {
        var readme = File.ReadAllText(Path.Combine(ExternalTools.RepositoryRoot(), "README.md"));
        var from = readme.IndexOf("\n## Quick start", StringComparison.Ordinal);
        from.ShouldBeGreaterThanOrEqualTo(0, "README.md has no '## Quick start' section");
        var to = readme.IndexOf("\n## ", from + 1, StringComparison.Ordinal);
        var section = to < 0 ? readme[from..] : readme[from..to];
        var blocks = BashBlockPattern().Matches(section).Select(m => m.Groups[1].Value).ToList();
        blocks.Count.ShouldBeGreaterThan(1);
        return blocks;
    }

    private static async Task<(int ExitCode, string Output, string Errors)> RunBashAsync(string script, string workingDirectory, Dictionary<string, string> environment)
    {
        var info = new ProcessStartInfo("bash")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = workingDirectory,
        };
        foreach (var (name, value) in environment)
        {
            info.Environment[name] = value;
        }

        using var process = Process.Start(info)!;
        await process.StandardInput.WriteAsync(script);
        process.StandardInput.Close();
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"The quick start did not finish in 3 minutes.\n{await output}\n{await errors}");
        }

        return (process.ExitCode, await output, await errors);
    }

    [GeneratedRegex(@"```bash\n(.*?)```", RegexOptions.Singleline)]
    private static partial Regex BashBlockPattern();

    [GeneratedRegex(@"org org_\w+, backend key gk_")]
    private static partial Regex OrgIdPattern();
}
