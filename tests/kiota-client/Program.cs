// A program written against the C# client that Kiota generates from the served OpenAPI document.
// The test in tests/Gatehouse.Server.Tests/Platform/OpenApiKiotaClientTests.cs generates the
// client, builds this program with it and runs it against a real server: if the document and the
// server disagree, the build or a check below fails.
using Gatehouse.Generated;
using Gatehouse.Generated.Models;
using Microsoft.Kiota.Abstractions.Authentication;
using Microsoft.Kiota.Http.HttpClientLibrary;

var baseUrl = Environment.GetEnvironmentVariable("GATEHOUSE_URL") ?? throw new InvalidOperationException("GATEHOUSE_URL is not set");
var rootKey = Environment.GetEnvironmentVariable("GATEHOUSE_ROOT_KEY") ?? throw new InvalidOperationException("GATEHOUSE_ROOT_KEY is not set");

// Kiota's API-key provider insists on https; the test server is plain http on loopback, so the
// key goes on the HttpClient as a default header instead.
GatehouseClient ClientWith(string key)
{
    var http = new HttpClient();
    http.DefaultRequestHeaders.Add("X-API-Key", key);
    return new(new HttpClientRequestAdapter(new AnonymousAuthenticationProvider(), httpClient: http) { BaseUrl = baseUrl });
}

void Check(bool condition, string what)
{
    if (!condition)
    {
        throw new InvalidOperationException("check failed: " + what);
    }

    Console.WriteLine("ok " + what);
}

var root = ClientWith(rootKey);
var org = await root.Api.V1.Orgs.PostAsync(new CreateOrgRequest { Name = "Kiota " + Guid.NewGuid().ToString("N")[..8] });
var orgId = org!.Data!.Id!;
Check(orgId.StartsWith("org_", StringComparison.Ordinal), "create an organization");

var keys = root.Api.V1.Orgs[orgId].ApiKeys;
var backend = await keys.PostAsync(new CreateApiKeyRequest { Name = "backend", Permissions = ["api_keys:verify"] });
Check(backend!.Data!.Key!.Length > 20 && backend.Data.Permissions!.SequenceEqual(["api_keys:verify"]), "create a verify-only key");
for (var i = 0; i < 3; i++)
{
    await keys.PostAsync(new CreateApiKeyRequest { Name = $"customer-{i}", OwnerId = "customer", Remaining = 10 });
}

var page = await keys.GetAsync(request =>
{
    request.QueryParameters.Limit = 2;
    request.QueryParameters.Offset = 1;
    request.QueryParameters.OwnerId = "customer";
});
Check(page!.Data!.Count == 2 && page.Meta!.Pagination!.Total == 3 && page.Meta.Pagination.HasMore == false, "list with paging and a filter");

var customerKey = (await keys.PostAsync(new CreateApiKeyRequest { Name = "verified", Remaining = 5 }))!.Data!.Key!;
var verdict = await ClientWith(backend.Data.Key).Api.V1.Keys.Verify.PostAsync(new VerifyApiKeyRequest { Key = customerKey });
Check(verdict!.Data!.Valid == true && verdict.Data.Code == "VALID" && verdict.Data.Remaining == 4, "verify with the backend key");

try
{
    await keys["key_0000000000000000000000000"].GetAsync();
    Check(false, "an unknown key is an error");
}
catch (ErrorEnvelope error)
{
    Check(error.ResponseStatusCode == 404 && error.Error!.Code == "NOT_FOUND" && error.Meta!.RequestId!.StartsWith("req_", StringComparison.Ordinal), "an error answer is a typed exception");
}

try
{
    await keys.PostAsync(new CreateApiKeyRequest { Name = "" });
    Check(false, "an empty name is refused");
}
catch (ErrorEnvelope error)
{
    Check(error.ResponseStatusCode == 422 && error.Error!.Code == "VALIDATION_FAILED", "a broken rule is a typed 422");
}

Console.WriteLine("all checks passed");
