using System.ComponentModel.DataAnnotations;
using Gatehouse.Server.Platform.Auth;
using Gatehouse.Server.Platform.Hosting;
using Gatehouse.Server.Platform.Observability;
using Gatehouse.Server.Platform.Storage;
using Gatehouse.Server.Platform.Tenancy;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Gatehouse.Server.Platform.Composition;

/// <summary>
/// What a feature registers, by kind: the kinds the platform collects (organization data, jobs,
/// health checks, metrics, change-set participants, credential resolvers) each have one call, so
/// a feature's file reads as the list of what it contributes.
/// </summary>
public sealed class FeatureServices(IServiceCollection services, IConfiguration configuration, OptionSections optionSections)
{
    public IServiceCollection Services => services;

    public IConfiguration Configuration => configuration;

    /// <summary>
    /// Binds <c>Gatehouse:&lt;section&gt;</c> to <typeparamref name="TOptions"/> and validates it now
    /// (data annotations), so a wrong value stops the server before it listens. The instance is
    /// registered as a singleton and as <c>IOptions&lt;TOptions&gt;</c>; its keys become known settings.
    /// </summary>
    public TOptions Options<TOptions>(string section)
        where TOptions : class, new()
    {
        var options = configuration.GetSection($"Gatehouse:{section}").Get<TOptions>() ?? new TOptions();
        var results = new List<ValidationResult>();
        if (!Validator.TryValidateObject(options, new ValidationContext(options), results, validateAllProperties: true))
        {
            var first = results[0];
            throw new StartupException($"Gatehouse:{section}:{first.MemberNames.FirstOrDefault()} {first.ErrorMessage}");
        }

        optionSections.Add(section, typeof(TOptions));
        services.AddSingleton(options);
        services.AddSingleton<Microsoft.Extensions.Options.IOptions<TOptions>>(Microsoft.Extensions.Options.Options.Create(options));
        return options;
    }

    /// <summary>
    /// The feature's organization data: erased with the organization (<see cref="IOrgDataEraser"/>)
    /// and counted in its stats (<see cref="IOrgStatsContributor"/>), whichever <typeparamref name="T"/> implements.
    /// </summary>
    public FeatureServices OrgData<T>()
        where T : class
    {
        services.TryAddSingleton<T>();
        if (typeof(IOrgDataEraser).IsAssignableFrom(typeof(T)))
        {
            services.AddSingleton(sp => (IOrgDataEraser)sp.GetRequiredService<T>());
        }

        if (typeof(IOrgStatsContributor).IsAssignableFrom(typeof(T)))
        {
            services.AddSingleton(sp => (IOrgStatsContributor)sp.GetRequiredService<T>());
        }

        return this;
    }

    /// <summary>
    /// A background job, registered once: a singleton that runs as a hosted service when it is one
    /// (its schedule), and is listed, triggered and recorded by the job routes when it is an
    /// <see cref="Jobs.IBackgroundJob"/> (its name, description, interval and placement).
    /// </summary>
    public FeatureServices Job<T>()
        where T : class
    {
        services.TryAddSingleton<T>();
        if (typeof(IHostedService).IsAssignableFrom(typeof(T)))
        {
            services.AddSingleton(sp => (IHostedService)sp.GetRequiredService<T>());
        }

        if (typeof(Jobs.IBackgroundJob).IsAssignableFrom(typeof(T)))
        {
            services.AddSingleton(sp => (Jobs.IBackgroundJob)sp.GetRequiredService<T>());
        }

        return this;
    }

    /// <summary>A component of the admin health report.</summary>
    public FeatureServices HealthCheck<T>()
        where T : class, IHealthComponent
    {
        services.AddSingleton<IHealthComponent, T>();
        return this;
    }

    /// <summary>A singleton whose figures are published on the meter and at /metrics.</summary>
    public FeatureServices Metrics<T>()
        where T : class, IMetricsSource
    {
        services.TryAddSingleton<T>();
        services.AddSingleton<IMetricsSource>(sp => sp.GetRequiredService<T>());
        return this;
    }

    /// <summary>Runs inside every change set's transaction, before COMMIT.</summary>
    public FeatureServices ChangeSetParticipant<T>()
        where T : class, IChangeSetParticipant
    {
        services.TryAddSingleton<T>();
        services.AddSingleton<IChangeSetParticipant>(sp => sp.GetRequiredService<T>());
        return this;
    }

    /// <summary>Runs after every change set's COMMIT.</summary>
    public FeatureServices AfterCommit<T>()
        where T : class, IAfterCommitReaction
    {
        services.TryAddSingleton<T>();
        services.AddSingleton<IAfterCommitReaction>(sp => sp.GetRequiredService<T>());
        return this;
    }

    /// <summary>Applies other nodes' committed changes to this node's caches (<see cref="Cluster.IClusterChangeHandler"/>).</summary>
    public FeatureServices ClusterChanges<T>()
        where T : class, Cluster.IClusterChangeHandler
    {
        services.AddSingleton<Cluster.IClusterChangeHandler, T>();
        return this;
    }

    /// <summary>Turns one shape of credential into a principal (<see cref="ICredentialResolver"/>).</summary>
    public FeatureServices CredentialResolver<T>()
        where T : class, ICredentialResolver
    {
        services.AddSingleton<ICredentialResolver, T>();
        return this;
    }
}

/// <summary>The option sections features bound, for the check of unknown settings.</summary>
public sealed class OptionSections
{
    private readonly List<(string Section, Type Type)> _sections = [];

    public IReadOnlyList<(string Section, Type Type)> All => _sections;

    public void Add(string section, Type type) => _sections.Add((section, type));
}
