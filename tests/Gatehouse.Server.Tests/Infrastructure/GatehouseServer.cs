using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Gatehouse.Server.Tests.Infrastructure;

/// <summary>Settings of one test server.</summary>
public sealed record ServerOptions
{
    /// <summary>Replace the clock (windows, expiries, schedules).</summary>
    public TimeProvider? Clock { get; init; }

    /// <summary>Extra configuration, e.g. <c>Gatehouse:MaxRequestBodyBytes</c>.</summary>
    public IReadOnlyDictionary<string, string?> Settings { get; init; } = new Dictionary<string, string?>();

    /// <summary>Last-moment service replacements (failure injection).</summary>
    public Action<IServiceCollection>? Services { get; init; }

    /// <summary>Reuse an existing data dir and database (restart tests).</summary>
    public string? DataDir { get; init; }
}

/// <summary>
/// The real server (Program.Build) on Kestrel at a loopback port, with its own data dir and a
/// real database. Tests talk to it over HTTP only.
/// </summary>
public sealed class GatehouseServer : IAsyncDisposable
{
    public const string RootKey = "gkr_test_root_key_0123456789abcdefghijkl";

    private readonly bool _ownsDataDir;
    private readonly bool _ownsDatabase;

    private GatehouseServer(WebApplication app, TestDatabase database, string dataDir, CapturedLogs logs, bool ownsDataDir, bool ownsDatabase)
    {
        App = app;
        Database = database;
        DataDir = dataDir;
        Logs = logs;
        _ownsDataDir = ownsDataDir;
        _ownsDatabase = ownsDatabase;
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        BaseAddress = new Uri(address);
        Root = CreateClient(RootKey);
        Anonymous = CreateClient(null);
    }

    public WebApplication App { get; }
    public TestDatabase Database { get; }
    public string DataDir { get; }
    public CapturedLogs Logs { get; }

    /// <summary>The platform policies the suite lifts: it sends far more than the production defaults allow from one credential and IP.</summary>
    public static readonly IReadOnlyList<string> LiftedRateLimits =
        ["PerMinute", "PerFiveMinutes", "PerDay", "AdminPerMinute", "UnauthenticatedPerMinute", "PublicPerMinute", "VerifyPerMinute"];
    public Uri BaseAddress { get; }
    public IServiceProvider Services => App.Services;

    /// <summary>A client holding the root key.</summary>
    public ApiClient Root { get; }

    /// <summary>A client with no credential.</summary>
    public ApiClient Anonymous { get; }

    public ApiClient CreateClient(string? apiKey) => new(new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(60) }, apiKey);

    public static async Task<GatehouseServer> StartAsync(ServerOptions? options = null, TestDatabase? database = null)
    {
        options ??= new ServerOptions();
        var ownsDatabase = database is null;
        database ??= await TestDatabase.CreateAsync();
        var ownsDataDir = options.DataDir is null;
        var dataDir = options.DataDir ?? Path.Combine(Path.GetTempPath(), "gatehouse-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dataDir);
        var logs = new CapturedLogs();
        var settings = new Dictionary<string, string?>
        {
            ["Gatehouse:DataDir"] = dataDir,
            ["Gatehouse:RootKey"] = RootKey,
            ["Gatehouse:DatabaseUrl"] = database.Url,
            ["Gatehouse:Webhooks:AllowInsecure"] = "true",
        };

        // The suite sends far more than the production defaults allow from one credential and IP;
        // the policies still run (headers on every response). RateLimitPolicyTests use the real defaults.
        foreach (var limit in LiftedRateLimits)
        {
            settings["Gatehouse:RateLimits:" + limit] = "1000000000";
        }

        foreach (var (key, value) in options.Settings)
        {
            settings[key] = value;
        }

        var app = Program.Build(["--urls", "http://127.0.0.1:0", "--environment", "Testing"], builder =>
        {
            builder.Configuration.AddInMemoryCollection(settings);
            builder.Logging.ClearProviders();
            builder.Logging.AddProvider(logs);
            builder.Logging.SetMinimumLevel(LogLevel.Debug);
        }, services =>
        {
            if (options.Clock is { } clock)
            {
                services.Replace(ServiceDescriptor.Singleton(clock));
            }

            options.Services?.Invoke(services);
        });

        await app.StartAsync();
        return new GatehouseServer(app, database, dataDir, logs, ownsDataDir, ownsDatabase);
    }

    public async ValueTask DisposeAsync()
    {
        await App.StopAsync();
        await App.DisposeAsync();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        if (_ownsDatabase)
        {
            await Database.DisposeAsync();
        }

        if (_ownsDataDir)
        {
            try
            {
                Directory.Delete(DataDir, recursive: true);
            }
            catch (IOException)
            {
                // A file still open by the OS; the temp dir is cleaned by the machine.
            }
        }
    }
}
