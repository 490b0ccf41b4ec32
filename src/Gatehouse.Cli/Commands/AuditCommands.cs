using System.ComponentModel;
using Gatehouse.Cli.Infrastructure;
using Gatehouse.Client;
using Gatehouse.Contracts.Audit;
using Spectre.Console.Cli;

namespace Gatehouse.Cli.Commands;

public sealed class TailAuditSettings : OrgSettings
{
    [CommandOption("-n|--lines <N>")]
    [Description("How many of the latest events to show first (0–200).")]
    [DefaultValue(10)]
    public int Lines { get; init; } = 10;

    [CommandOption("--action <ACTION>")]
    [Description("Only this action (api_key.create) or family (api_key.*).")]
    public string? Action { get; init; }

    [CommandOption("--no-follow")]
    [Description("Print the latest events and stop, instead of following new ones.")]
    public bool NoFollow { get; init; }

    [CommandOption("--interval <SECONDS>")]
    [Description("How often to ask for new events while following.")]
    [DefaultValue(1.0)]
    public double IntervalSeconds { get; init; } = 1.0;

    public override Spectre.Console.ValidationResult Validate() =>
        Lines is < 0 or > 200 ? Spectre.Console.ValidationResult.Error("--lines must be 0–200.")
        : IntervalSeconds is < 0.1 or > 3600 ? Spectre.Console.ValidationResult.Error("--interval must be 0.1–3600 seconds.")
        : Spectre.Console.ValidationResult.Success();
}

/// <summary>
/// Shows the latest events, then asks for newer ones every interval until interrupted (Ctrl+C).
/// Events are told apart by their sequence number in the organization's chain, so an event
/// written in the same instant as the last one shown is neither lost nor printed twice.
/// </summary>
public sealed class TailAuditCommand : ApiCommand<TailAuditSettings>
{
    protected override async Task<int> RunAsync(GatehouseClient client, TailAuditSettings settings, CancellationToken cancellationToken)
    {
        var org = settings.ResolveOrg();
        var lastSeq = 0L;
        DateTime? since = null;
        if (settings.Lines > 0)
        {
            var latest = await client.Audit.ListAsync(org, new AuditLogQuery { Limit = settings.Lines, Sort = "-createdAt", Action = settings.Action }, cancellationToken: cancellationToken);
            foreach (var item in latest.Items.Reverse())
            {
                Print(settings, item);
                (lastSeq, since) = (Math.Max(lastSeq, item.Seq), item.OccurredAt);
            }
        }
        else
        {
            var newest = await client.Audit.ListAsync(org, new AuditLogQuery { Limit = 1, Sort = "-createdAt" }, cancellationToken: cancellationToken);
            (lastSeq, since) = newest.Items.Count > 0 ? (newest.Items[0].Seq, newest.Items[0].OccurredAt) : (0L, (DateTime?)null);
        }

        if (settings.NoFollow)
        {
            return ExitCodes.Ok;
        }

        try
        {
            using var timer = new PeriodicTimer(TimeSpan.FromSeconds(settings.IntervalSeconds));
            while (await timer.WaitForNextTickAsync(cancellationToken))
            {
                var query = new AuditLogQuery { Sort = "createdAt", Limit = 200, Action = settings.Action, Start = since };
                await foreach (var item in client.Audit.ListAllAsync(org, query, cancellationToken: cancellationToken))
                {
                    if (item.Seq > lastSeq)
                    {
                        Print(settings, item);
                        (lastSeq, since) = (item.Seq, item.OccurredAt);
                    }
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Ctrl+C: following ends here, which is how it is meant to end.
        }

        return ExitCodes.Ok;
    }

    private static void Print(GlobalSettings settings, AuditEventView item)
    {
        if (settings.Output == OutputFormat.Json)
        {
            Output.WriteJsonLine(item);
            return;
        }

        var target = item.Target is { Id: not null } t ? $"{t.Type}:{t.Id}" : "-";
        Console.Out.WriteLine($"{Output.Time(item.OccurredAt)}  #{item.Seq,-5} {item.Action,-28} {target,-40} by {item.Actor.Type}:{item.Actor.Id}  {item.RequestId}");
    }
}

/// <summary>Recomputes the organization's hash chain; exits 1 when it is broken.</summary>
public sealed class VerifyAuditCommand : ApiCommand<OrgSettings>
{
    protected override async Task<int> RunAsync(GatehouseClient client, OrgSettings settings, CancellationToken cancellationToken)
    {
        var result = await client.Audit.VerifyChainAsync(settings.ResolveOrg(), cancellationToken: cancellationToken);
        if (settings.Output == OutputFormat.Json)
        {
            Output.WriteJson(result);
        }
        else if (result.Valid)
        {
            Output.Success($"The audit chain is intact: {result.Checked} events checked.");
        }
        else
        {
            Console.Out.WriteLine($"The audit chain is BROKEN ({result.Reason}) at {result.FirstBrokenId}, after {result.Checked} events.");
        }

        return result.Valid ? ExitCodes.Ok : ExitCodes.Error;
    }
}
