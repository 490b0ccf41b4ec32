using System.Text.Json;

namespace Gatehouse.Server.Tests.Conformance;

/// <summary>
/// One walk through a seed document's endpoints, in the document's order: each endpoint is either
/// built (called exactly as the document shows, and its answer checked) or pending, naming the
/// work that will build it. A failing check does not stop the walk; <see cref="Finish"/> reports
/// the coverage line (visible in <c>dotnet test</c> output as a test warning) and then fails with
/// every endpoint that did not answer as documented.
/// </summary>
public sealed class SeedWalk(string seed)
{
    private readonly List<string> _built = [];
    private readonly List<(string Endpoint, string Work)> _pending = [];
    private readonly List<string> _failedEndpoints = [];
    private readonly List<string> _failedChecks = [];

    /// <summary>Calls one built endpoint; an assertion failing inside is recorded against it.</summary>
    public async Task BuiltAsync(string endpoint, Func<Task> call)
    {
        if (await FailureOf(call) is { } failure)
        {
            _failedEndpoints.Add($"{endpoint}: {failure}");
        }
        else
        {
            _built.Add(endpoint);
        }
    }

    /// <summary>An endpoint of the document that <paramref name="work"/> will build.</summary>
    public void Pending(string endpoint, string work) => _pending.Add((endpoint, work));

    /// <summary>A check that is not one of the document's endpoints (cross-organization answers); a failure fails the walk.</summary>
    public async Task CheckAsync(string what, Func<Task> check)
    {
        if (await FailureOf(check) is { } failure)
        {
            _failedChecks.Add($"{what}: {failure}");
        }
    }

    /// <summary><c>seed 001: 29/29 endpoints</c>, with what is pending by the work that builds it.</summary>
    public string CoverageLine
    {
        get
        {
            var line = $"seed {seed}: {_built.Count}/{_built.Count + _pending.Count + _failedEndpoints.Count} endpoints";
            if (_pending.Count > 0)
            {
                line += " (pending: " + string.Join(", ", _pending.GroupBy(p => p.Work).Select(g => $"{g.Count()} {g.Key}")) + ")";
            }

            return _failedEndpoints.Count + _failedChecks.Count > 0 ? line + $"; {_failedEndpoints.Count + _failedChecks.Count} not as documented" : line;
        }
    }

    /// <summary>Prints the coverage line and fails with every endpoint or check that did not answer as documented.</summary>
    public void Finish(int documentedEndpoints)
    {
        TestContext.Current.AddWarning(CoverageLine);
        Console.WriteLine(CoverageLine);
        _failedEndpoints.Concat(_failedChecks).ShouldBeEmpty(CoverageLine);
        (_built.Count + _pending.Count).ShouldBe(documentedEndpoints, $"the walk must name every endpoint of seed {seed}'s document once");
    }

    private static async Task<string?> FailureOf(Func<Task> call)
    {
        try
        {
            await call();
            return null;
        }
        catch (Exception ex) when (ex is ShouldAssertException or InvalidOperationException or KeyNotFoundException or JsonException)
        {
            return ex.Message;
        }
    }
}

/// <summary>What the seed documents' clients send and expect, shared by the walks.</summary>
public static class SeedCalls
{
    /// <summary>Seed 001's required headers: JSON, the tenant as <c>x-tenantid</c>, and its (ignored) realm.</summary>
    public static Dictionary<string, string> Seed001Headers(string tenant) => new()
    {
        ["accept"] = "application/json",
        ["x-tenantid"] = tenant,
        ["realmname"] = "gatehouse",
    };

    /// <summary>The envelope of seed 000 and seed 001: <c>success</c>, <c>data</c>, and the request's id and time.</summary>
    public static void ShouldBeEnvelope(this ApiResponse response, int status)
    {
        response.StatusCode.ShouldBe(status, response.Text);
        response.Body.GetProperty("success").GetBoolean().ShouldBeTrue(response.Text);
        response.Body.TryGetProperty("data", out _).ShouldBeTrue(response.Text);
        response.Body.GetProperty("meta").GetProperty("timestamp").GetString().ShouldNotBeNullOrEmpty();
        response.Body.GetProperty("meta").GetProperty("requestId").GetString().ShouldNotBeNullOrEmpty();
    }

    /// <summary>The seeds' error shape: <c>success: false</c> and <c>error {code, message}</c>.</summary>
    public static void ShouldBeError(this ApiResponse response, int status, string code)
    {
        response.StatusCode.ShouldBe(status, response.Text);
        response.Body.GetProperty("success").GetBoolean().ShouldBeFalse(response.Text);
        response.ErrorCode.ShouldBe(code, response.Text);
        response.Body.GetProperty("error").GetProperty("message").GetString().ShouldNotBeNullOrEmpty();
    }
}
