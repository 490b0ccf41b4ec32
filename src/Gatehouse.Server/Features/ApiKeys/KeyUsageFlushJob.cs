using Gatehouse.Server.Platform.Jobs;

namespace Gatehouse.Server.Features.ApiKeys;

/// <summary>
/// The usage flush as the job routes see it. Its schedule is <see cref="KeyUsageFlushService"/>'s
/// own low-priority thread (kept off the verify path's CPU), which reports to the job registry
/// itself; this declares the job and runs a pass when an administrator triggers one.
/// </summary>
public sealed class KeyUsageFlushJob(KeyUsageRecorder recorder, ApiKeysOptions options, Platform.Storage.DatabaseTarget database) : IBackgroundJob
{
    public string Name => KeyUsageRecorder.JobName;

    public string Description => "Writes the verification counts and last-use times buffered in this node's memory to the database.";

    public TimeSpan Interval => options.UsageFlushInterval(database.Provider);

    /// <summary>Every node flushes what it buffered itself.</summary>
    public JobPlacement Placement => JobPlacement.EveryNode;

    public async Task<JobPass> RunPassAsync(JobPassContext pass, CancellationToken cancellationToken)
    {
        await recorder.FlushAsync(cancellationToken);
        return new JobPass(Succeeded: true, recorder.PendingKeys);
    }
}
