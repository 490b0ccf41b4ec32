using Gatehouse.Server.Platform.Auth;
using Gatehouse.Server.Platform.Composition;
using Gatehouse.Server.Platform.Jobs;

namespace Gatehouse.Server.Features.Jobs;

/// <summary>
/// The background jobs as operators see them: the runner that gives every job's pass its lease and
/// its run record, the pruning of old run records, and the root routes that list, trigger and
/// report jobs. The jobs themselves are declared by the features that own them.
/// </summary>
public sealed class JobsFeature : Feature
{
    public override string Name => "Jobs";

    public override IReadOnlyList<(string Tag, string Description)> Tags => [("Jobs", "Background jobs: their schedule, runs and progress; run one now.")];

    public override void AddServices(FeatureServices services)
    {
        services.Options<JobsOptions>(Name);
        services.Services.AddSingleton<JobLeases>();
        services.Services.AddSingleton<JobRunner>();
        services.Job<JobRunPrune>();
    }

    public override void MapRoutes(FeatureRoutes routes)
    {
        var jobs = routes.Api.MapGroup("/admin/jobs").WithTags("Jobs");
        jobs.MapGet("", JobOperations.List).RequireRoot().WithName("ListJobs").WithSummary("Every background job with its schedule, state, last run and next run");
        jobs.MapPost("/trigger", JobOperations.Trigger).RequireRoot().WithName("TriggerJob").WithSummary("Run a job now (202 with the run's id; 409 while it runs)");
        jobs.MapGet("/runs/{runId}", JobOperations.GetRun).RequireRoot().WithName("GetJobRun").WithSummary("One run of a job, with its progress");
        jobs.MapGet("/{jobName}/stats", JobOperations.Stats).RequireRoot().WithName("GetJobStats").WithSummary("Recorded runs and failures, last run, queue depth and next run of a job");
    }
}
