using Gatehouse.Server.Features.ApiKeys;
using Gatehouse.Server.Features.Audit;
using Gatehouse.Server.Features.Devices;
using Gatehouse.Server.Features.Gateways;
using Gatehouse.Server.Features.Health;
using Gatehouse.Server.Features.Jobs;
using Gatehouse.Server.Features.OAuth;
using Gatehouse.Server.Features.Orgs;
using Gatehouse.Server.Features.Permissions;
using Gatehouse.Server.Features.Pki;
using Gatehouse.Server.Features.RateLimits;
using Gatehouse.Server.Features.Roles;
using Gatehouse.Server.Features.RootKeys;
using Gatehouse.Server.Features.ServiceAccounts;
using Gatehouse.Server.Features.Users;
using Gatehouse.Server.Features.Vault;
using Gatehouse.Server.Features.Webhooks;
using Gatehouse.Server.Platform.Auth;
using Gatehouse.Server.Platform.Cluster;
using Gatehouse.Server.Platform.Composition;
using Gatehouse.Server.Platform.Hosting;
using Gatehouse.Server.Platform.Http;
using Gatehouse.Server.Platform.Jobs;
using Gatehouse.Server.Platform.Observability;
using Gatehouse.Server.Platform.RateLimiting;
using Gatehouse.Server.Platform.Storage;
using Gatehouse.Server.Platform.Tenancy;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.EntityFrameworkCore;

namespace Gatehouse.Server;

public static class Program
{
    /// <summary>The features of this server, one line each (see docs/adding-a-feature.md).</summary>
    public static readonly IReadOnlyList<Feature> Features =
    [
        new HealthFeature(),
        new OrgsFeature(),
        new RolesFeature(),
        new PermissionsFeature(),
        new ApiKeysFeature(),
        new UsersFeature(),
        new ServiceAccountsFeature(),
        new OAuthFeature(),
        new DevicesFeature(),
        new RateLimitsFeature(),
        new AuditFeature(),
        new WebhooksFeature(),
        new VaultFeature(),
        new PkiFeature(),
        new GatewaysFeature(),
        new RootKeysFeature(),
        new JobsFeature(),
        new Gatehouse.Server.Features.Content.ContentFeature(),
        new Gatehouse.Server.Features.WebConsole.WebConsoleFeature(),
    ];

    /// <summary>
    /// Permission checks are pure functions on the hot path; the catalog they consult is installed
    /// from the feature list when the assembly loads, before any code can check a permission.
    /// </summary>
    [System.Runtime.CompilerServices.ModuleInitializer]
    internal static void InstallPermissionCatalog() => PermissionCatalog.Install(Features);

    public static int Main(string[] args)
    {
        try
        {
            // Background (concurrent) full collections only, unless memory runs short: a blocking
            // full collection of a heap holding the key cache paused verifies for tens of milliseconds.
            System.Runtime.GCSettings.LatencyMode = System.Runtime.GCLatencyMode.SustainedLowLatency;
            if (HealthProbeCommand.Matches(args))
            {
                return HealthProbeCommand.RunAsync(args).GetAwaiter().GetResult();
            }

            if (RootKeyCommand.Matches(args))
            {
                return RunRootKeyCommand(args[1..]);
            }

            var app = Build(args);
            app.Run();
            return 0;
        }
        catch (StartupException ex)
        {
            Console.Error.WriteLine($"gatehouse: cannot start: {ex.Message}");
            return 1;
        }
        catch (IOException ex) when (ex.InnerException is System.Net.Sockets.SocketException || ex.Message.Contains("address", StringComparison.OrdinalIgnoreCase))
        {
            Console.Error.WriteLine($"gatehouse: cannot listen: {ex.Message}");
            return 1;
        }
    }

    /// <summary>
    /// Composes the server: settings, key material, storage (migrated), services, middleware and
    /// routes. Everything that can be wrong with the configuration fails here, before listening.
    /// <paramref name="customize"/> runs before the settings are read; <paramref name="overrideServices"/>
    /// after every service is registered.
    /// </summary>
    public static WebApplication Build(string[] args, Action<WebApplicationBuilder>? customize = null, Action<IServiceCollection>? overrideServices = null) =>
        Build(args, customize, overrideServices, bootstrapRootKey: true);

    /// <summary>
    /// <c>root-key …</c>: the server composed from the same settings but not listening; the database
    /// is migrated as at start, and no root key is made for an empty one (the command says what it does).
    /// </summary>
    private static int RunRootKeyCommand(string[] commandArgs)
    {
        var app = Build([], builder => builder.Logging.SetMinimumLevel(LogLevel.Warning), null, bootstrapRootKey: false);
        try
        {
            return RootKeyCommand.RunAsync(app.Services, commandArgs, Console.Out, Console.Error).GetAwaiter().GetResult();
        }
        finally
        {
            ((IDisposable)app).Dispose();
        }
    }

    private static WebApplication Build(string[] args, Action<WebApplicationBuilder>? customize, Action<IServiceCollection>? overrideServices, bool bootstrapRootKey)
    {
        // The content root is the build output, so appsettings.json is found whatever the working directory.
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });

        // 1. Settings: appsettings.json, then the file GATEHOUSE_CONFIG names, then the GATEHOUSE_*
        // environment variables on top.
        ConfigurationFiles.AddExternal(builder.Configuration);
        builder.Configuration.AddInMemoryCollection(GatehouseOptions.EnvironmentVariables
            .Select(v => (v.Value, Environment.GetEnvironmentVariable(v.Key)))
            .Where(v => v.Item2 is not null)
            .Select(v => new KeyValuePair<string, string?>(v.Value, v.Item2)));
        builder.Logging.ClearProviders();
        builder.Logging.AddJsonConsole(o => o.IncludeScopes = true);
        builder.Services.AddSingleton<IExternalScopeProvider, RequestLogScopeProvider>();
        customize?.Invoke(builder);
        var options = builder.Configuration.GetSection("Gatehouse").Get<GatehouseOptions>() ?? new GatehouseOptions();

        // 2. Features: their services and options, bound and validated before anything is touched on disk.
        // The root key is matched first, in constant time, before any feature's credential shape.
        builder.Services.AddSingleton<ICredentialResolver, RootKeyResolver>();
        builder.Services.AddSingleton(new FeatureCatalog(Features));
        var optionSections = new OptionSections();
        var featureServices = new FeatureServices(builder.Services, builder.Configuration, optionSections);
        // First of the change-set participants: it may wait for an organization's delete, and must
        // do so before any other participant takes a lock the delete needs (the audit chain's).
        featureServices.ChangeSetParticipant<LiveOrganizationGuard>();
        foreach (var feature in Features)
        {
            feature.AddServices(featureServices);
        }

        // Platform settings outside any feature: the database connection and the node table.
        var databaseOptions = featureServices.Options<DatabaseOptions>("Database");
        var clusterOptions = featureServices.Options<ClusterOptions>("Cluster");
        KnownSettings.Check(builder.Configuration, optionSections);

        // 3. Key material and storage: data dir, master key, database (migrated), pepper, root key.
        var dataDir = ServerKeys.PrepareDataDir(ConfigurationFiles.ResolveDataDir(builder.Configuration, options.DataDir));
        var masterKey = ServerKeys.LoadMasterKey(options.MasterKey, dataDir);
        var database = DescribeDatabase(options, databaseOptions, dataDir);
        var secretHasher = PrepareDatabase(database, masterKey, options.RootKey, options.MasterKeyPrevious, bootstrapRootKey);

        // 4. Platform services.
        var services = builder.Services;
        services.AddSingleton(options);
        services.AddSingleton(database);
        services.AddSingleton(masterKey);
        services.AddSingleton(secretHasher);
        services.AddSingleton<ServerKeys>();
        services.AddSingleton(TimeProvider.System);
        // Pooled: a context costs a reset instead of a fresh set-up (measured at about half a
        // millisecond of CPU per cache miss of verify before pooling; docs/performance.md).
        services.AddDbContextPool<GatehouseDb>(database.Configure, poolSize: 256);
        services.AddMemoryCache();
        // No AddHttpContextAccessor: it stops the server reusing HttpContexts (CurrentRequest stands in).
        services.ConfigureHttpJsonOptions(o => JsonDefaults.Configure(o.SerializerOptions));
        services.Configure<RouteHandlerOptions>(o => o.ThrowOnBadRequest = true);
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.AddServerHeader = false;
            k.Limits.MaxRequestBodySize = options.MaxRequestBodyBytes;
            k.Limits.MaxRequestHeadersTotalSize = options.MaxRequestHeadersTotalBytes;
            k.Limits.MaxRequestHeaderCount = 100;
            k.Limits.RequestHeadersTimeout = TimeSpan.FromSeconds(options.RequestHeadersTimeoutSeconds);
            k.Limits.KeepAliveTimeout = TimeSpan.FromSeconds(Math.Max(options.RequestHeadersTimeoutSeconds, 30));
            k.Limits.MinRequestBodyDataRate = new Microsoft.AspNetCore.Server.Kestrel.Core.MinDataRate(options.MinRequestBodyBytesPerSecond, TimeSpan.FromSeconds(5));
        });
        services.AddGatehouseOpenApi();
        services.AddRequestTimeouts(t => t.DefaultPolicy = new Microsoft.AspNetCore.Http.Timeouts.RequestTimeoutPolicy
        {
            Timeout = TimeSpan.FromSeconds(options.RequestTimeoutSeconds),
            TimeoutStatusCode = StatusCodes.Status503ServiceUnavailable,
        });
        services.AddGatehouseTelemetry(builder.Configuration, HealthFeature.Version);
        services.AddSingleton<JobRegistry>();
        services.AddSingleton<IdempotencyFilter>();
        featureServices.Job<IdempotencyPurge>();
        services.AddSingleton(sp => new ClusterNodes(sp.GetRequiredService<IServiceScopeFactory>(), sp.GetRequiredService<TimeProvider>(), clusterOptions, HealthFeature.Version));
        featureServices.Job<ClusterHeartbeat>();
        featureServices.ChangeSetParticipant<IdempotencyCommitMark>();

        if (database.Provider == DatabaseProvider.Postgres)
        {
            // Nodes may share a PostgreSQL database: their windows are counted in it (decision 0015).
            services.AddSingleton(sp => new PostgresCounterStore(
                database.ConnectionString, sp.GetRequiredService<RateLimitOptions>().SharedCounters(), sp.GetRequiredService<ILogger<PostgresCounterStore>>()));
            services.AddSingleton<IRateLimitCounterStore>(sp => sp.GetRequiredService<PostgresCounterStore>());
            services.AddHostedService(sp => sp.GetRequiredService<PostgresCounterStore>());
        }
        else
        {
            // SQLite is one node's file: counting in memory is exact and costs no I/O.
            services.AddSingleton<IRateLimitCounterStore, InMemoryCounterStore>();
        }

        services.AddSingleton<RateLimiter>();
        services.AddSingleton<RootKeyStore>();
        services.AddSingleton<AuthenticationServices>();
        services.AddSingleton<OrgDirectory>();
        services.AddScoped<ChangeSet>();
        // Several nodes on one PostgreSQL database: changes are refused in deleted organizations
        // inside their transaction, and every commit tells the other nodes what to evict.
        featureServices.ChangeSetParticipant<ChangeFeedWriter>()
            .ClusterChanges<OrgDirectoryClusterChanges>().Metrics<ChangeFeedListener>().Job<ChangeFeedPrune>();
        services.AddHostedService(sp => sp.GetRequiredService<ChangeFeedListener>());
        // Tests replace the clock or inject failures here, after every default is registered.
        overrideServices?.Invoke(services);
        var app = builder.Build();
        LoadRootKeys(app);
        app.Services.GetRequiredService<AuditChain>();
        app.Services.GetRequiredService<GatehouseMetrics>();

        // 5. Middleware, outermost first. The client address is settled before anything reads it.
        app.UseTrustedProxies();
        app.UseMiddleware<SecurityHeaders>();
        app.UseMiddleware<ApiPipeline>();
        app.UseMiddleware<IdempotencyBodyBuffering>();
        app.UseMiddleware<ExactRouteShortcut>();
        app.UseRouting();
        // A flat organization route (/api/v1/api-keys) is rewritten to its canonical path and routed
        // again, before any filter of the route runs (decision 0019).
        app.UseMiddleware<FlatOrgRoutes>();
        app.UseRouting();
        app.UseRequestTimeouts();
        app.UseMiddleware<OpenApiDocumentCache>();
        // Validates the antiforgery token of the console's form posts (endpoints that ask for it; the API asks for none).
        app.UseAntiforgery();
        // Only /docs requests pass through the reference page's middleware (it matches paths by regex).
        app.UseWhen(context => context.Request.Path.StartsWithSegments("/docs", StringComparison.OrdinalIgnoreCase), docs => docs.UseSwaggerUI(ui =>
        {
            ui.RoutePrefix = "docs";
            ui.DocumentTitle = "Gatehouse API reference";
            ui.SwaggerEndpoint(OpenApiSetup.DocumentPath, "Gatehouse v1");
        }));

        // 6. Routes.
        app.MapOpenApi(OpenApiSetup.DocumentPath).RejectUnknownQueryParameters();
        var api = app.MapGroup("/api/v1");
        api.RejectUnknownQueryParameters();
        api.LabelRoutesAsInOpenApi();
        var routes = new FeatureRoutes(app, api);
        foreach (var feature in Features)
        {
            feature.MapRoutes(routes);
        }

        app.Lifetime.ApplicationStarted.Register(() =>
        {
            var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses ?? [];
            // The data dir is named: two ways of starting must never silently use two different ones.
            Console.WriteLine($"Gatehouse listening on {string.Join(", ", addresses)} ({database.Provider.ToString().ToLowerInvariant()}, data dir {dataDir})");
        });
        return app;
    }

    private static DatabaseTarget DescribeDatabase(GatehouseOptions options, DatabaseOptions databaseOptions, string dataDir)
    {
        if (string.IsNullOrWhiteSpace(options.DatabaseUrl))
        {
            return DatabaseTarget.Sqlite(dataDir);
        }

        try
        {
            return DatabaseTarget.Postgres(options.DatabaseUrl, databaseOptions);
        }
        catch (Exception ex) when (ex is ArgumentException or UriFormatException or FormatException or KeyNotFoundException)
        {
            throw new StartupException("GATEHOUSE_DATABASE_URL is not a valid PostgreSQL connection string or postgres:// URL", ex);
        }
    }

    private static Crypto.SecretHasher PrepareDatabase(DatabaseTarget database, Crypto.MasterKey masterKey, string? rootKey, string? previousMasterKey, bool bootstrapRootKey)
    {
        try
        {
            using var loggerFactory = LoggerFactory.Create(l => l.AddJsonConsole());
            new SchemaMigrator(database, loggerFactory.CreateLogger<SchemaMigrator>()).Migrate();
            if (previousMasterKey is not null)
            {
                if (!Crypto.MasterKey.TryParse(previousMasterKey, out var previous, out var keyError))
                {
                    throw new StartupException($"GATEHOUSE_MASTER_KEY_PREVIOUS is malformed: {keyError}");
                }

                try
                {
                    var count = MasterKeyRotation.Rewrap(database, masterKey, previous!);
                    loggerFactory.CreateLogger("Gatehouse.MasterKeyRotation").LogInformation("Re-wrapped {Count} keys under the new master key", count);
                }
                catch (System.Security.Cryptography.CryptographicException ex)
                {
                    throw new StartupException("a stored key opens with neither GATEHOUSE_MASTER_KEY nor GATEHOUSE_MASTER_KEY_PREVIOUS", ex);
                }
            }

            var hasher = ServerKeys.LoadSecretHasher(database, masterKey);
            if (!bootstrapRootKey)
            {
                return hasher;
            }

            var (generated, error) = RootKeyStore.Bootstrap(database, hasher, rootKey);
            if (error is not null)
            {
                throw new StartupException(error);
            }

            if (generated is not null)
            {
                // Printed once, to standard output only: it is never logged and cannot be shown again.
                Console.WriteLine($"Root key: {generated}");
            }

            return hasher;
        }
        catch (Exception ex) when (ex is System.Data.Common.DbException or System.Net.Sockets.SocketException or TimeoutException or InvalidOperationException && ex is not StartupException)
        {
            var where = database.Provider == DatabaseProvider.Postgres ? "the PostgreSQL database" : "the SQLite database";
            throw new StartupException($"cannot open {where}: {FirstLine(ex.Message)}", ex);
        }
    }

    private static void LoadRootKeys(WebApplication app)
    {
        using var scope = app.Services.CreateScope();
        var db = scope.ServiceProvider.GetRequiredService<GatehouseDb>();
        app.Services.GetRequiredService<RootKeyStore>().Load(db.Set<RootKey>().AsNoTracking().ToList());
    }

    private static string FirstLine(string message) => message.Split('\n', 2)[0].Trim();
}
