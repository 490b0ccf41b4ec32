namespace Gatehouse.Server.Tests.Platform;

/// <summary>The start contract: bad configuration stops the server with one clear line; a good one starts and prints the root key once.</summary>
public sealed class StartupTests : IAsyncLifetime
{
    private readonly string _dataDir = Path.Combine(Path.GetTempPath(), "gatehouse-tests", "startup-" + Guid.NewGuid().ToString("N"));
    private TestDatabase? _database;

    public async ValueTask InitializeAsync() => _database = await TestDatabase.CreateAsync();

    public async ValueTask DisposeAsync()
    {
        await _database!.DisposeAsync();
        TryDelete(_dataDir);
    }

    [Fact]
    public async Task First_start_prints_the_root_key_once_and_the_second_start_does_not()
    {
        await using (var first = ServerProcess.Start(Environment()))
        {
            (await first.WaitHealthyAsync(TimeSpan.FromSeconds(60))).ShouldBeTrue(first.StandardError);
            first.StandardOutput.ShouldContain("Root key: gkr_");
            first.StandardOutput.ShouldContain("listening on http://127.0.0.1:");
            var rootKey = first.StandardOutput.Split('\n').Single(l => l.StartsWith("Root key: ", StringComparison.Ordinal))["Root key: ".Length..].Trim();
            using var http = new HttpClient { BaseAddress = first.BaseAddress };
            http.DefaultRequestHeaders.Authorization = new("Bearer", rootKey);
            (await http.GetAsync("/api/v1/orgs")).StatusCode.ShouldBe(System.Net.HttpStatusCode.OK);
        }

        await using var second = ServerProcess.Start(Environment());
        (await second.WaitHealthyAsync(TimeSpan.FromSeconds(60))).ShouldBeTrue(second.StandardError);
        second.StandardOutput.ShouldNotContain("Root key:");
        if (!_database!.IsPostgres && !OperatingSystem.IsWindows())
        {
            var masterKeyFile = Path.Combine(_dataDir, "master.key");
            File.Exists(masterKeyFile).ShouldBeTrue();
            File.GetUnixFileMode(masterKeyFile).ShouldBe(UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }
    }

    [Theory]
    [InlineData("GATEHOUSE_MASTER_KEY", "not-base64!!", "GATEHOUSE_MASTER_KEY is malformed")]
    [InlineData("GATEHOUSE_MASTER_KEY", "c2hvcnQ=", "must decode to 32 bytes")]
    [InlineData("GATEHOUSE_ROOT_KEY", "too-short", "GATEHOUSE_ROOT_KEY must be at least 32")]
    [InlineData("GATEHOUSE_DATABASE_URL", "Host=127.0.0.1;Port=1;Database=x;Username=x;Timeout=3", "cannot open the PostgreSQL database")]
    [InlineData("GATEHOUSE_DATABASE_URL", "postgres://[broken", "GATEHOUSE_DATABASE_URL is not a valid")]
    public async Task Bad_configuration_stops_with_one_clear_line(string variable, string value, string expected)
    {
        var environment = Environment();
        environment[variable] = value;

        await using var server = ServerProcess.Start(environment);
        var exitCode = await server.WaitForExitAsync(TimeSpan.FromSeconds(60));

        exitCode.ShouldBe(1);
        var lines = server.StandardError.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        lines.Length.ShouldBe(1, server.StandardError);
        lines[0].ShouldContain(expected);
        server.StandardError.ShouldNotContain("   at ");
    }

    [Fact]
    public async Task An_unwritable_data_dir_stops_with_one_clear_line()
    {
        Directory.CreateDirectory(Path.GetDirectoryName(_dataDir)!);
        await File.WriteAllTextAsync(_dataDir, "a file where the data dir should be");
        var environment = Environment();

        await using var server = ServerProcess.Start(environment);
        var exitCode = await server.WaitForExitAsync(TimeSpan.FromSeconds(60));

        exitCode.ShouldBe(1);
        server.StandardError.Trim().ShouldContain("is not writable");
        server.StandardError.Trim().Split('\n').Length.ShouldBe(1);
        File.Delete(_dataDir);
    }

    private Dictionary<string, string?> Environment() => new()
    {
        ["GATEHOUSE_DATA_DIR"] = _dataDir,
        ["GATEHOUSE_DATABASE_URL"] = _database!.Url,
    };

    private static void TryDelete(string path)
    {
        try
        {
            if (Directory.Exists(path))
            {
                Directory.Delete(path, recursive: true);
            }
        }
        catch (IOException)
        {
        }
    }
}
