using System.Diagnostics;

namespace Gatehouse.Server.Tests.Infrastructure;

/// <summary>Where the repository is, and how tests find and run the programs they drive (node, npm, Kiota, dotnet).</summary>
public static class ExternalTools
{
    /// <summary>The folder holding Gatehouse.slnx, above the test binaries.</summary>
    public static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Gatehouse.slnx")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("Gatehouse.slnx was not found above the test binaries.");
    }

    /// <summary>The full path of a program on PATH, or null when it is not installed.</summary>
    public static string? FindOnPath(string program) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator)
            .Select(dir => Path.Combine(dir, program)).FirstOrDefault(File.Exists);

    /// <summary>Runs a program to its end and fails the test, with everything it wrote, unless it exits 0; returns its standard output.</summary>
    public static async Task<string> RunAsync(string program, string directory, IReadOnlyDictionary<string, string>? environment, params string[] arguments)
    {
        var start = new ProcessStartInfo(program, arguments) { WorkingDirectory = directory, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[name] = value;
        }

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken);
        var errors = process.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
        await process.WaitForExitAsync(TestContext.Current.CancellationToken);
        process.ExitCode.ShouldBe(0, $"{Path.GetFileName(program)} {string.Join(' ', arguments)}\n{await output}\n{await errors}");
        return await output;
    }
}
