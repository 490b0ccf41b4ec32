using Gatehouse.Server.Tests.ApiKeys;

namespace Gatehouse.Server.Tests.Users;

/// <summary>
/// Personal API keys: a signed-in user creates keys through the normal key routes; they belong to
/// the user, never exceed the user's own permissions, are listed under the user (the ownerId
/// filter), and stop with the user — on the next request after disabling, for good after deletion.
/// </summary>
public sealed class PersonalKeyTests(SharedServer shared)
{
    private readonly GatehouseServer _server = shared.Server;

    [Fact]
    public async Task A_users_keys_are_their_own_capped_by_their_permissions_and_stop_when_the_user_stops()
    {
        var orgId = await _server.CreateOrgAsync();
        var email = UserSteps.NewEmail("personal");
        var userId = await _server.CreateUserAsync(orgId, email, permissions: ["api_keys:read", "api_keys:write", "deploy:write"]);
        var session = _server.CookielessClient((await _server.LoginAsync(email)).Token);
        var keys = $"/api/v1/orgs/{orgId}/api-keys";

        var created = await session.PostAsync(keys, new { name = "laptop", permissions = new[] { "deploy:write" } });
        created.StatusCode.ShouldBe(201, created.Text);
        created.Str("ownerId").ShouldBe(userId, "a key made by a session belongs to its user");
        var key = created.Str("key");

        var beyond = await session.PostAsync(keys, new { name = "more", permissions = new[] { "orgs:write" } });
        beyond.StatusCode.ShouldBe(403, beyond.Text);
        var otherOwner = await session.PostAsync(keys, new { name = "someone else's", ownerId = "usr_someone_else" });
        otherOwner.StatusCode.ShouldBe(422, otherOwner.Text);

        var listed = await _server.Root.GetAsync($"{keys}?ownerId={userId}");
        listed.Data.EnumerateArray().Select(k => k.GetProperty("id").GetString()).ShouldBe([created.Str("id")]);

        var verifier = await _server.OrgClientAsync(orgId, "api_keys:verify");
        async Task<string> VerdictAsync() => (await verifier.PostAsync("/api/v1/keys/verify", new { key })).Data.GetProperty("code").GetString()!;
        (await VerdictAsync()).ShouldBe("VALID");

        (await _server.Root.PatchAsync($"/api/v1/orgs/{orgId}/users/{userId}", new { disabled = true })).StatusCode.ShouldBe(200);
        (await VerdictAsync()).ShouldBe("DISABLED", "disabling the user stops the key on the next request");
        (await _server.CreateClient(key).GetAsync(keys)).StatusCode.ShouldBe(401);

        (await _server.Root.PatchAsync($"/api/v1/orgs/{orgId}/users/{userId}", new { disabled = false })).StatusCode.ShouldBe(200);
        (await VerdictAsync()).ShouldBe("VALID", "enabling the user resumes the key as it was");

        (await _server.Root.DeleteAsync($"/api/v1/orgs/{orgId}/users/{userId}")).StatusCode.ShouldBe(200);
        (await VerdictAsync()).ShouldBe("REVOKED", "deleting the user revokes the key");
    }
}
