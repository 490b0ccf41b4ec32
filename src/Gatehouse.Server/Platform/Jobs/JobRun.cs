using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Gatehouse.Server.Platform.Jobs;

/// <summary>
/// One recorded run of a background job (<c>jrn_…</c>): manual runs, failed runs and runs that did
/// work. <see cref="Error"/> is a one-line message, never a stack trace.
/// </summary>
public sealed class JobRun
{
    public const string Schedule = "schedule";
    public const string Manual = "manual";

    public required string Id { get; init; }
    public required string Job { get; init; }
    public string? OrgId { get; init; }
    public required string Trigger { get; init; }
    public DateTime StartedAt { get; set; }
    public DateTime? FinishedAt { get; set; }
    public bool? Ok { get; set; }
    public string? Error { get; set; }
    public required string Node { get; set; }
    public long? Done { get; set; }
    public long? Total { get; set; }
}

/// <summary>The lease of a job that runs on one node at a time.</summary>
public sealed class JobLease
{
    public required string Job { get; init; }
    public required string Holder { get; set; }
    public DateTime ExpiresAt { get; set; }
    public DateTime? LastFinishedAt { get; set; }
}

internal sealed class JobRunMapping : IEntityTypeConfiguration<JobRun>
{
    public void Configure(EntityTypeBuilder<JobRun> builder)
    {
        builder.ToTable("job_runs");
        builder.HasKey(r => r.Id);
    }
}

internal sealed class JobLeaseMapping : IEntityTypeConfiguration<JobLease>
{
    public void Configure(EntityTypeBuilder<JobLease> builder)
    {
        builder.ToTable("job_leases");
        builder.HasKey(l => l.Job);
    }
}
