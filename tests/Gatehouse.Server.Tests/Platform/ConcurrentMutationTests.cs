using System.Text.Json;

namespace Gatehouse.Server.Tests.Platform;

/// <summary>
/// Two requests changing one resource at once: each answer is a success, 404 or 409 — never a
/// 5xx — and what is left agrees with the answers given (a deleted resource stays deleted, every
/// success and only successes are in the audit trail, whose chain still verifies).
/// </summary>
public sealed class ConcurrentMutationTests(SharedServer shared)
{
    private const int Rounds = 6;
    private static readonly int[] Allowed = [200, 201, 204, 404, 409];

    private readonly GatehouseServer _server = shared.Server;

    public enum Race
    {
        DeleteDelete,
        PatchDelete,
        PatchPatch,
    }

    public static TheoryData<string, Race> Matrix()
    {
        var data = new TheoryData<string, Race>();
        foreach (var kind in new[] { "role", "webhook", "credential", "api_key", "service_account", "oauth_client", "org" })
        {
            foreach (var race in Enum.GetValues<Race>())
            {
                data.Add(kind, race);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Matrix))]
    public async Task Concurrent_changes_of_one_resource_answer_success_404_or_409_and_leave_a_consistent_state(string kind, Race race)
    {
        var orgId = await _server.CreateOrgAsync();
        var answers = new List<string>();
        for (var round = 0; round < Rounds; round++)
        {
            var (path, auditOrg, updateAction, deleteAction) = await CreateAsync(kind, orgId);
            var (first, second) = race switch
            {
                Race.DeleteDelete => (Delete(path), Delete(path)),
                Race.PatchDelete => (Patch(kind, path, round), Delete(path)),
                _ => (Patch(kind, path, round), Patch(kind, path, round + 100)),
            };
            var results = await Task.WhenAll(first, second);
            answers.AddRange(results.Select(r => $"{r.Operation} {r.Response.StatusCode}"));
            foreach (var (operation, response) in results)
            {
                Allowed.ShouldContain(response.StatusCode, $"{kind} {race}: {operation} answered {response}");
                if (response.StatusCode >= 400)
                {
                    response.Text.ShouldNotContain("Exception");
                    response.Text.ShouldNotContain("   at ");
                }
            }

            var deletes = results.Count(r => r.Operation == "DELETE" && r.Response.StatusCode < 300);
            var patches = results.Count(r => r.Operation == "PATCH" && r.Response.StatusCode < 300);
            var told = string.Join(", ", results.Select(r => r.Response.ToString()));
            if (race == Race.DeleteDelete)
            {
                deletes.ShouldBe(1, $"{kind} {race}: exactly one DELETE removes it: {told}");
            }
            else if (race == Race.PatchDelete)
            {
                // Either order is fine; what is not is neither succeeding, or both when the PATCH read the row before the DELETE.
                (deletes + patches).ShouldBeGreaterThanOrEqualTo(1, $"{kind} {race}: one of them wins: {told}");
            }

            if (deletes == 1)
            {
                var after = await _server.Root.GetAsync(GetPath(kind, path));
                if (kind == "api_key")
                {
                    // A revoked key is still shown, as revoked.
                    after.StatusCode.ShouldBe(200, after.Text);
                    after.Data.GetProperty("revokedAt").ValueKind.ShouldBe(JsonValueKind.String, $"{kind} stays revoked: {after.Text}");
                }
                else
                {
                    after.StatusCode.ShouldBe(404, $"{kind} stays deleted: {after.Text}");
                }
            }
            else
            {
                var still = await _server.Root.GetAsync(GetPath(kind, path));
                still.StatusCode.ShouldBe(200, $"{kind} {race}: not deleted, so still there: {still.Text}");
                patches.ShouldBeGreaterThanOrEqualTo(1, $"{kind} {race}: one of two updates wins: {told}");
            }

            var targetId = path[(path.LastIndexOf('/') + 1)..];
            (await CountAuditAsync(auditOrg, deleteAction, targetId)).ShouldBe(deletes, $"{kind} {race}: one {deleteAction} event per successful DELETE");
            (await CountAuditAsync(auditOrg, updateAction, targetId)).ShouldBe(patches, $"{kind} {race}: one {updateAction} event per successful PATCH");
            var verified = await _server.Root.GetAsync($"/api/v1/admin/audit-logs/verify?orgId={auditOrg}");
            verified.StatusCode.ShouldBe(200, verified.Text);
            verified.Data.GetProperty("valid").GetBoolean().ShouldBeTrue(verified.Text);
        }

        TestContext.Current.SendDiagnosticMessage($"{kind} {race}: {string.Join(", ", answers.GroupBy(a => a).Select(g => $"{g.Key} ×{g.Count()}"))}");
    }

    /// <summary>Concurrent creates of one unique name (a role's name, an organization's slug): one 201, the other 409, never 500.</summary>
    [Fact]
    public async Task Concurrent_creates_of_one_name_answer_201_once_and_409_otherwise()
    {
        var orgId = await _server.CreateOrgAsync();
        for (var round = 0; round < Rounds; round++)
        {
            var name = $"racer-{round}";
            var slug = $"race-{Guid.NewGuid():N}"[..20];
            var responses = await Task.WhenAll(
                _server.Root.PostAsync($"/api/v1/orgs/{orgId}/roles", new { name, permissions = new[] { "docs:read" } }),
                _server.Root.PostAsync($"/api/v1/orgs/{orgId}/roles", new { name, permissions = new[] { "docs:read" } }),
                _server.Root.PostAsync("/api/v1/orgs", new { name = "Race", slug }),
                _server.Root.PostAsync("/api/v1/orgs", new { name = "Race", slug }));

            for (var pair = 0; pair < responses.Length; pair += 2)
            {
                var statuses = new[] { responses[pair].StatusCode, responses[pair + 1].StatusCode }.Order().ToArray();
                statuses.ShouldBe([201, 409], $"{responses[pair]} / {responses[pair + 1]}");
            }
        }
    }

    private async Task<(string Path, string AuditOrg, string UpdateAction, string DeleteAction)> CreateAsync(string kind, string orgId)
    {
        var suffix = Guid.NewGuid().ToString("N")[..10];
        ApiResponse created;
        switch (kind)
        {
            case "role":
                created = await _server.Root.PostAsync($"/api/v1/orgs/{orgId}/roles", new { name = $"r-{suffix}", permissions = new[] { "docs:read" } });
                return ($"/api/v1/orgs/{orgId}/roles/{Id(created)}", orgId, "role.update", "role.delete");
            case "webhook":
                created = await _server.Root.PostAsync($"/api/v1/orgs/{orgId}/webhooks", new { url = "https://example.test/hook", events = new[] { "role.*" } });
                return ($"/api/v1/orgs/{orgId}/webhooks/{Id(created)}", orgId, "webhook.update", "webhook.delete");
            case "credential":
                created = await _server.Root.PostAsync($"/api/v1/orgs/{orgId}/credentials", new { integrationId = $"race-{suffix}", authType = "api_key", name = "c", data = new { apiKey = "secret" } });
                return ($"/api/v1/orgs/{orgId}/credentials/race-{suffix}/{Id(created)}", orgId, "credential.update", "credential.delete");
            case "api_key":
                created = await _server.Root.PostAsync($"/api/v1/orgs/{orgId}/api-keys", new { name = $"k-{suffix}", permissions = Array.Empty<string>() });
                return ($"/api/v1/orgs/{orgId}/api-keys/{Id(created)}", orgId, "api_key.update", "api_key.revoke");
            case "service_account":
                // Created with its first key, so that deleting it also revokes a key in the same transaction.
                created = await _server.Root.PostAsync($"/api/v1/orgs/{orgId}/service-accounts", new { name = $"sa-{suffix}", permissions = new[] { "docs:read" } });
                created.StatusCode.ShouldBe(201, created.Text);
                var accountId = created.Data.GetProperty("serviceAccount").GetProperty("id").GetString();
                return ($"/api/v1/orgs/{orgId}/service-accounts/{accountId}", orgId, "service_account.update", "service_account.delete");
            case "oauth_client":
                created = await _server.Root.PostAsync($"/api/v1/orgs/{orgId}/oauth-clients", new { name = $"c-{suffix}", scopes = new[] { "docs:read" } });
                return ($"/api/v1/orgs/{orgId}/oauth-clients/{Id(created)}", orgId, "oauth_client.update", "oauth_client.delete");
            default:
                var org = await _server.CreateOrgAsync();
                return ($"/api/v1/orgs/{org}", org, "org.update", "org.delete");
        }
    }

    private static string Id(ApiResponse created)
    {
        created.StatusCode.ShouldBe(201, created.Text);
        return created.Str("id");
    }

    /// <summary>A GET that answers 404 once the resource is gone (a credential is read through its integration's details).</summary>
    private static string GetPath(string kind, string path) =>
        kind == "credential" ? path[..path.LastIndexOf('/')] + "/details" : path;

    private async Task<(string Operation, ApiResponse Response)> Delete(string path)
    {
        await Task.Yield();
        return ("DELETE", await _server.Root.DeleteAsync(path));
    }

    private async Task<(string Operation, ApiResponse Response)> Patch(string kind, string path, int round)
    {
        await Task.Yield();
        object body = kind switch
        {
            "role" => new { description = $"round {round} {Guid.NewGuid()}" },
            "webhook" => new { description = $"round {round} {Guid.NewGuid()}" },
            "credential" => new { name = $"n-{round}-{Guid.NewGuid():N}" },
            "api_key" or "service_account" or "oauth_client" => new { name = $"n-{round}-{Guid.NewGuid():N}" },
            _ => new { name = $"Org {round} {Guid.NewGuid():N}" },
        };
        return ("PATCH", await _server.Root.PatchAsync(path, body));
    }

    private async Task<int> CountAuditAsync(string orgId, string action, string targetId)
    {
        var response = await _server.Root.GetAsync($"/api/v1/admin/audit-logs?orgId={orgId}&action={action}&targetId={targetId}&limit=200");
        response.StatusCode.ShouldBe(200, response.Text);
        return response.Data.GetArrayLength();
    }
}
