using System.Diagnostics;

namespace Gatehouse.Server.Tests.Platform;

/// <summary>
/// A client generated from the served document compiles: openapi-typescript turns the document
/// into types, and tsc --strict checks tests/openapi-client/client.ts (paging, filters, a create
/// body, and calls the document must reject) against them.
/// </summary>
public sealed class OpenApiClientTests(SharedServer shared)
{
    [Fact]
    public async Task A_TypeScript_client_generated_from_the_document_type_checks()
    {
        var node = FindOnPath("node");
        var npm = FindOnPath("npm");
        if (node is null || npm is null)
        {
            Assert.Skip("node and npm are not installed (Debian: apt-get install nodejs npm)");
        }

        var project = Path.Combine(RepositoryRoot(), "tests", "openapi-client");
        if (!File.Exists(Path.Combine(project, "node_modules", "typescript", "bin", "tsc")))
        {
            await RunAsync(npm, project, "ci", "--no-audit", "--no-fund");
        }

        var document = await shared.Server.Anonymous.GetAsync("/api/v1/openapi.json");
        document.StatusCode.ShouldBe(200);
        await File.WriteAllTextAsync(Path.Combine(project, "openapi.json"), document.Text, TestContext.Current.CancellationToken);

        await RunAsync(node, project, Path.Combine("node_modules", "openapi-typescript", "bin", "cli.js"), "openapi.json", "--output", "gatehouse.d.ts");
        await RunAsync(node, project, Path.Combine("node_modules", "typescript", "bin", "tsc"), "--project", "tsconfig.json");
    }

    private static async Task RunAsync(string program, string directory, params string[] arguments)
    {
        var start = new ProcessStartInfo(program, arguments) { WorkingDirectory = directory, RedirectStandardOutput = true, RedirectStandardError = true };
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken);
        var errors = process.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
        await process.WaitForExitAsync(TestContext.Current.CancellationToken);
        process.ExitCode.ShouldBe(0, $"{Path.GetFileName(program)} {string.Join(' ', arguments)}\n{await output}\n{await errors}");
    }

    private static string? FindOnPath(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator)
            .Select(dir => Path.Combine(dir, name)).FirstOrDefault(File.Exists);

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Gatehouse.slnx")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("The repository root was not found.");
    }
}
