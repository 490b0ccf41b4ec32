namespace Gatehouse.Server.Tests.Platform;

/// <summary>
/// A .NET client generated from the served document with Kiota compiles and works: the test
/// installs the Kiota tool, generates the client, builds tests/kiota-client/Program.cs with it and
/// runs that program against this server (create, list with paging and a filter, verify, and two
/// errors read as typed exceptions). It needs NuGet, like the build itself.
/// </summary>
public sealed class OpenApiKiotaClientTests(SharedServer shared)
{
    private const string KiotaVersion = "1.38.0";

    /// <summary>Kiota asks GitHub for a newer release on every run; these machines have no route there.</summary>
    private static readonly Dictionary<string, string> Offline = new() { ["KIOTA_OFFLINE_ENABLED"] = "true" };

    [Fact]
    public async Task A_Kiota_client_generated_from_the_document_builds_and_calls_the_server()
    {
        var dotnet = Environment.ProcessPath is { } host && Path.GetFileNameWithoutExtension(host) == "dotnet" ? host : "dotnet";
        // The tool is kept between runs (one install per machine); the client is generated afresh every run.
        var tools = Path.Combine(Path.GetTempPath(), $"gatehouse-kiota-{KiotaVersion}");
        var kiota = Path.Combine(tools, "kiota");
        if (!File.Exists(kiota))
        {
            await ExternalTools.RunAsync(dotnet, Path.GetTempPath(), Offline, "tool", "install", "--tool-path", tools, "Microsoft.OpenApi.Kiota", "--version", KiotaVersion);
        }

        var work = Directory.CreateTempSubdirectory("gatehouse-kiota-client-").FullName;
        try
        {
            var document = await shared.Server.Anonymous.GetAsync("/api/v1/openapi.json");
            document.StatusCode.ShouldBe(200);
            await File.WriteAllTextAsync(Path.Combine(work, "openapi.json"), document.Text, TestContext.Current.CancellationToken);
            var source = Path.Combine(ExternalTools.RepositoryRoot(), "tests", "kiota-client");
            foreach (var file in new[] { "Program.cs", "KiotaClient.csproj" })
            {
                File.Copy(Path.Combine(source, file), Path.Combine(work, file));
            }

            await ExternalTools.RunAsync(kiota, work, Offline, "generate", "--language", "CSharp", "--openapi", "openapi.json", "--class-name", "GatehouseClient",
                "--namespace-name", "Gatehouse.Generated", "--output", "Client", "--log-level", "Warning");
            await ExternalTools.RunAsync(dotnet, work, null, "build", "--output", "out", "-nologo", "-clp:ErrorsOnly");
            var output = await ExternalTools.RunAsync(dotnet, work, new Dictionary<string, string>
            {
                ["GATEHOUSE_URL"] = shared.Server.BaseAddress.ToString().TrimEnd('/'),
                ["GATEHOUSE_ROOT_KEY"] = GatehouseServer.RootKey,
            }, Path.Combine("out", "KiotaClient.dll"));
            output.ShouldContain("all checks passed");
            TestContext.Current.SendDiagnosticMessage(output);
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }
}
