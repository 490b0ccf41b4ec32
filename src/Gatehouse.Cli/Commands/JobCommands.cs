using System.ComponentModel;
using Gatehouse.Cli.Infrastructure;
using Gatehouse.Client;
using Gatehouse.Contracts.Jobs;
using Spectre.Console;
using Spectre.Console.Cli;

namespace Gatehouse.Cli.Commands;

public sealed class ListJobsCommand : ApiCommand<GlobalSettings>
{
    protected override async Task<int> RunAsync(GatehouseClient client, GlobalSettings settings, CancellationToken cancellationToken)
    {
        var jobs = await client.Jobs.ListAsync(cancellationToken: cancellationToken);
        if (settings.Output == OutputFormat.Json)
        {
            Output.WriteJson(jobs);
        }
        else
        {
            Output.WriteTable(["JOB", "SCHEDULE", "PLACEMENT", "STATE", "LAST RUN", "OK", "NEXT RUN"], jobs.Select(j => (IReadOnlyList<string?>)[
                j.Name, j.Schedule, j.Placement, j.Running ? "running" : j.State, Output.Time(j.LastRun?.StartedAt),
                j.LastRun?.Ok switch { true => "yes", false => "no", null => "" }, Output.Time(j.NextRunAt)]));
        }

        return ExitCodes.Ok;
    }
}

public sealed class TriggerJobSettings : GlobalSettings
{
    [CommandArgument(0, "<JOB>")]
    [Description("The job's name, as `gatehouse jobs list` shows it.")]
    public string Job { get; init; } = "";

    [CommandOption("--org <ORG_ID>")]
    [Description("Limit the run to one organization (jobs that accept it: dek-reencrypt).")]
    public string? Org { get; init; }

    [CommandOption("--no-wait")]
    [Description("Print the run's id and return at once instead of following it to the end.")]
    public bool NoWait { get; init; }
}

/// <summary>Starts a job and follows its run to the end, with a progress bar when the job reports one.</summary>
public sealed class TriggerJobCommand : ApiCommand<TriggerJobSettings>
{
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(300);

    protected override async Task<int> RunAsync(GatehouseClient client, TriggerJobSettings settings, CancellationToken cancellationToken)
    {
        var runId = (await client.Jobs.TriggerAsync(settings.Job, settings.Org, cancellationToken: cancellationToken)).RunId;
        if (settings.NoWait)
        {
            if (settings.Output == OutputFormat.Json)
            {
                Output.WriteJson(new TriggerJobResponse(runId));
            }
            else
            {
                Console.Out.WriteLine(runId);
            }

            return ExitCodes.Ok;
        }

        var run = settings.Output == OutputFormat.Table && AnsiConsole.Profile.Capabilities.Interactive
            ? await FollowWithProgressAsync(client, settings.Job, runId, cancellationToken)
            : await FollowAsync(client, runId, _ => { }, cancellationToken);
        if (settings.Output == OutputFormat.Json)
        {
            Output.WriteJson(run);
        }
        else if (run.Ok == true)
        {
            Output.Success($"{run.Job} finished ({run.Id}){Progress(run)}.");
        }
        else
        {
            Console.Out.WriteLine($"{run.Job} failed ({run.Id}): {run.Error}");
        }

        return run.Ok == true ? ExitCodes.Ok : ExitCodes.Error;
    }

    private static string Progress(JobRunView run) => run.Progress is { } p ? $": {p.Done} of {p.Total}" : "";

    private static async Task<JobRunView> FollowWithProgressAsync(GatehouseClient client, string job, string runId, CancellationToken cancellationToken)
    {
        JobRunView? finished = null;
        await AnsiConsole.Progress()
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn(), new SpinnerColumn())
            .StartAsync(async context =>
            {
                var task = context.AddTask(Markup.Escape(job), maxValue: 1);
                finished = await FollowAsync(client, runId, run =>
                {
                    if (run.Progress is { Total: > 0 } progress)
                    {
                        task.MaxValue = progress.Total;
                        task.Value = progress.Done;
                    }
                }, cancellationToken);
                task.Value = task.MaxValue;
            });
        return finished!;
    }

    private static async Task<JobRunView> FollowAsync(GatehouseClient client, string runId, Action<JobRunView> onProgress, CancellationToken cancellationToken)
    {
        while (true)
        {
            var run = await client.Jobs.GetRunAsync(runId, cancellationToken: cancellationToken);
            onProgress(run);
            if (run.FinishedAt is not null)
            {
                return run;
            }

            await Task.Delay(PollInterval, cancellationToken);
        }
    }
}
