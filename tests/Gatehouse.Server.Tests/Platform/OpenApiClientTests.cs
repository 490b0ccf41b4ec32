namespace Gatehouse.Server.Tests.Platform;

/// <summary>
/// A client generated from the served document compiles: openapi-typescript turns the document
/// into types, and tsc --strict checks tests/openapi-client/client.ts (paging, filters, a create
/// body, and calls the document must reject) against them.
/// </summary>
public sealed class OpenApiClientTests(SharedServer shared)
{
    [Fact]
    public async Task A_TypeScript_client_generated_from_the_document_type_checks()
    {
        var node = ExternalTools.FindOnPath("node");
        var npm = ExternalTools.FindOnPath("npm");
        if (node is null || npm is null)
        {
            Assert.Skip("node and npm are not installed (Debian: apt-get install nodejs npm)");
        }

        var project = Path.Combine(ExternalTools.RepositoryRoot(), "tests", "openapi-client");
        if (!File.Exists(Path.Combine(project, "node_modules", "typescript", "bin", "tsc")))
        {
            await ExternalTools.RunAsync(npm, project, null, "ci", "--no-audit", "--no-fund");
        }

        var document = await shared.Server.Anonymous.GetAsync("/api/v1/openapi.json");
        document.StatusCode.ShouldBe(200);
        await File.WriteAllTextAsync(Path.Combine(project, "openapi.json"), document.Text, TestContext.Current.CancellationToken);

        await ExternalTools.RunAsync(node, project, null, Path.Combine("node_modules", "openapi-typescript", "bin", "cli.js"), "openapi.json", "--output", "gatehouse.d.ts");
        await ExternalTools.RunAsync(node, project, null, Path.Combine("node_modules", "typescript", "bin", "tsc"), "--project", "tsconfig.json");
    }
}
