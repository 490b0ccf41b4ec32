using Gatehouse.Server.Platform.Http;
using Microsoft.AspNetCore.Http;

namespace Gatehouse.Server.Tests.Platform;

/// <summary>
/// Log lines name their request through RequestLogScopeProvider, which reads CurrentRequest when a
/// line is written (no scope is pushed per request): the id comes first while the request runs,
/// before any scope pushed inside it, and is gone once the request has ended.
/// </summary>
public sealed class RequestLogScopeTests
{
    [Fact]
    public void A_line_written_during_a_request_names_the_request_first_and_none_after_it()
    {
        var provider = new RequestLogScopeProvider();
        var httpContext = new DefaultHttpContext { TraceIdentifier = "req-log-scope-1" };

        List<string> during;
        using (CurrentRequest.Enter(httpContext))
        using (provider.Push("inner scope"))
        {
            during = Scopes(provider);
        }

        during.ShouldBe(["RequestId:req-log-scope-1", "inner scope"]);
        Scopes(provider).ShouldBeEmpty();
    }

    [Fact]
    public async Task Work_started_by_a_request_does_not_see_it_after_it_ended()
    {
        var httpContext = new DefaultHttpContext { TraceIdentifier = "req-log-scope-2" };
        Task<HttpContext?> later;
        var release = new TaskCompletionSource();
        using (CurrentRequest.Enter(httpContext))
        {
            // Flows the execution context, as a fire-and-forget task started by a handler would.
            later = Task.Run(async () =>
            {
                await release.Task;
                return CurrentRequest.HttpContext;
            });
        }

        release.SetResult();
        (await later).ShouldBeNull();
    }

    private static List<string> Scopes(RequestLogScopeProvider provider)
    {
        var scopes = new List<string>();
        provider.ForEachScope((scope, list) => list.Add(scope?.ToString() ?? ""), scopes);
        return scopes;
    }
}
