using Gatehouse.Server.Tests.ApiKeys;

namespace Gatehouse.Server.Tests.Users;

public sealed class UserTests(SharedServer shared)
{
    private readonly GatehouseServer _server = shared.Server;

    [Fact]
    public async Task A_user_is_created_read_listed_updated_and_deleted_and_never_shows_a_password_hash()
    {
        var orgId = await _server.CreateOrgAsync();
        await _server.Root.PostAsync($"/api/v1/orgs/{orgId}/roles", new { name = "support", permissions = new[] { "api_keys:read" } });
        var email = UserSteps.NewEmail("Ada");

        var created = await _server.Root.PostAsync($"/api/v1/orgs/{orgId}/users",
            new { email, name = "Ada", password = UserSteps.Password, roles = new[] { "support" }, permissions = new[] { "deploy:write" } });

        created.StatusCode.ShouldBe(201, created.Text);
        var userId = created.Str("id");
        userId.ShouldStartWith("usr_");
        created.Str("orgId").ShouldBe(orgId);
        created.Data.GetProperty("hasPassword").GetBoolean().ShouldBeTrue();
        created.Data.GetProperty("roles").Strings().ShouldBe(["support"]);
        created.Text.ShouldNotContain("argon2", Case.Insensitive);
        created.Text.ShouldNotContain(UserSteps.Password);

        var read = await _server.Root.GetAsync($"/api/v1/orgs/{orgId}/users/{userId}");
        read.StatusCode.ShouldBe(200);
        read.Str("email").ShouldBe(email);
        read.Text.ShouldNotContain("passwordHash", Case.Insensitive);

        var list = await _server.Root.GetAsync($"/api/v1/orgs/{orgId}/users?email={Uri.EscapeDataString(email.ToUpperInvariant())}");
        list.StatusCode.ShouldBe(200, list.Text);
        list.Data.GetArrayLength().ShouldBe(1);
        list.Body.GetProperty("meta").GetProperty("pagination").GetProperty("total").GetInt64().ShouldBe(1);
        (await _server.Root.GetAsync($"/api/v1/orgs/{orgId}/users?q=nobody-matches-this")).Data.GetArrayLength().ShouldBe(0);

        var updated = await _server.Root.PatchAsync($"/api/v1/orgs/{orgId}/users/{userId}", new { name = "Ada L.", permissions = Array.Empty<string>(), disabled = true });
        updated.StatusCode.ShouldBe(200, updated.Text);
        updated.Str("name").ShouldBe("Ada L.");
        updated.Data.GetProperty("disabled").GetBoolean().ShouldBeTrue();
        updated.Data.GetProperty("permissions").GetArrayLength().ShouldBe(0);

        var deleted = await _server.Root.DeleteAsync($"/api/v1/orgs/{orgId}/users/{userId}");
        deleted.StatusCode.ShouldBe(200, deleted.Text);
        (await _server.Root.GetAsync($"/api/v1/orgs/{orgId}/users/{userId}")).ErrorCode.ShouldBe("NOT_FOUND");
        (await _server.Root.DeleteAsync($"/api/v1/orgs/{orgId}/users/{userId}")).ErrorCode.ShouldBe("NOT_FOUND");
        (await _server.Root.PatchAsync($"/api/v1/orgs/{orgId}/users/{userId}", new { name = "x" })).ErrorCode.ShouldBe("NOT_FOUND");

        var audit = await _server.Root.GetAsync($"/api/v1/orgs/{orgId}/audit-logs?limit=50");
        var actions = audit.Data.EnumerateArray().Select(e => e.GetProperty("action").GetString()).ToList();
        actions.ShouldContain("user.create");
        actions.ShouldContain("user.update");
        actions.ShouldContain("user.delete");
        audit.Text.ShouldNotContain(UserSteps.Password);
    }

    [Fact]
    public async Task The_same_email_in_another_case_is_409_in_one_org_and_allowed_in_another()
    {
        var orgA = await _server.CreateOrgAsync();
        var orgB = await _server.CreateOrgAsync();
        var email = UserSteps.NewEmail("dup");
        await _server.CreateUserAsync(orgA, email, password: null);

        var again = await _server.Root.PostAsync($"/api/v1/orgs/{orgA}/users", new { email = "  " + email.ToUpperInvariant(), name = "Twin" });
        again.StatusCode.ShouldBe(409, again.Text);
        again.ErrorCode.ShouldBe("CONFLICT");

        var elsewhere = await _server.Root.PostAsync($"/api/v1/orgs/{orgB}/users", new { email, name = "Twin" });
        elsewhere.StatusCode.ShouldBe(201, elsewhere.Text);
    }

    [Fact]
    public async Task Bad_fields_are_422_with_each_field_named()
    {
        var orgId = await _server.CreateOrgAsync();

        var response = await _server.Root.PostAsync($"/api/v1/orgs/{orgId}/users",
            new { email = "not-an-email", name = "", roles = new[] { "no-such-role" }, permissions = new[] { "BAD PERMISSION" } });

        response.StatusCode.ShouldBe(422, response.Text);
        response.ErrorCode.ShouldBe("VALIDATION_FAILED");
        response.Fields().ShouldBe(["email", "name", "roles[0]", "permissions[0]"], ignoreOrder: true);
        (await _server.Root.GetAsync($"/api/v1/orgs/{orgId}/users")).Data.GetArrayLength().ShouldBe(0);

        var user = await _server.CreateUserAsync(orgId, UserSteps.NewEmail(), password: null);
        var patch = await _server.Root.PatchAsync($"/api/v1/orgs/{orgId}/users/{user}", new { name = " ", roles = new[] { "ghost" } });
        patch.StatusCode.ShouldBe(422, patch.Text);
        patch.Fields().ShouldBe(["name", "roles[0]"], ignoreOrder: true);
    }

    [Theory]
    [InlineData("short-pw-1", "must be at least 12 characters")]
    [InlineData("123qweasdzxc", "is one of the most common breached passwords; choose another")]
    [InlineData("1QAZ2WSX3EDC", "is one of the most common breached passwords; choose another")]
    public async Task A_short_or_breached_password_is_refused(string password, string reason)
    {
        var orgId = await _server.CreateOrgAsync();

        var response = await _server.Root.PostAsync($"/api/v1/orgs/{orgId}/users", new { email = UserSteps.NewEmail(), name = "P", password });

        response.StatusCode.ShouldBe(422, response.Text);
        var field = response.Body.GetProperty("error").GetProperty("details").GetProperty("fields")[0];
        field.GetProperty("field").GetString().ShouldBe("password");
        field.GetProperty("reason").GetString().ShouldBe(reason);
    }

    [Fact]
    public async Task A_password_over_256_characters_is_refused()
    {
        var orgId = await _server.CreateOrgAsync();

        var response = await _server.Root.PostAsync($"/api/v1/orgs/{orgId}/users", new { email = UserSteps.NewEmail(), name = "P", password = new string('x', 257) });

        response.StatusCode.ShouldBe(422, response.Text);
        response.Fields().ShouldBe(["password"]);
    }

    [Fact]
    public async Task A_key_without_the_permission_is_403_and_a_read_key_can_list()
    {
        var orgId = await _server.CreateOrgAsync();
        var reader = await _server.OrgClientAsync(orgId, "read");
        var writer = await _server.OrgClientAsync(orgId, "write");

        (await reader.PostAsync($"/api/v1/orgs/{orgId}/users", new { email = UserSteps.NewEmail(), name = "X" })).ErrorCode.ShouldBe("FORBIDDEN");
        (await reader.GetAsync($"/api/v1/orgs/{orgId}/users")).StatusCode.ShouldBe(200);
        // The write shorthand covers users:write, for what the key itself holds.
        var created = await writer.PostAsync($"/api/v1/orgs/{orgId}/users", new { email = UserSteps.NewEmail(), name = "X", permissions = new[] { "deploy:write" } });
        created.StatusCode.ShouldBe(201, created.Text);
    }

    [Fact]
    public async Task A_caller_cannot_grant_a_user_more_than_it_holds()
    {
        var orgId = await _server.CreateOrgAsync();
        await _server.Root.PostAsync($"/api/v1/orgs/{orgId}/roles", new { name = "admins", permissions = new[] { "*" } });
        var caller = await _server.OrgClientAsync(orgId, "users:write", "users:read");

        var direct = await caller.PostAsync($"/api/v1/orgs/{orgId}/users", new { email = UserSteps.NewEmail(), name = "X", permissions = new[] { "api_keys:write" } });
        direct.ErrorCode.ShouldBe("FORBIDDEN", direct.Text);
        var throughRole = await caller.PostAsync($"/api/v1/orgs/{orgId}/users", new { email = UserSteps.NewEmail(), name = "X", roles = new[] { "admins" } });
        throughRole.ErrorCode.ShouldBe("FORBIDDEN", throughRole.Text);

        var userId = await _server.CreateUserAsync(orgId, UserSteps.NewEmail(), password: null);
        var raise = await caller.PatchAsync($"/api/v1/orgs/{orgId}/users/{userId}", new { permissions = new[] { "orgs:write" } });
        raise.ErrorCode.ShouldBe("FORBIDDEN", raise.Text);
        (await _server.Root.GetAsync($"/api/v1/orgs/{orgId}/users/{userId}")).Data.GetProperty("permissions").GetArrayLength().ShouldBe(0);
        (await _server.Root.GetAsync($"/api/v1/orgs/{orgId}/users")).Data.GetArrayLength().ShouldBe(1);
    }

    [Fact]
    public async Task Another_orgs_users_are_404_and_unchanged()
    {
        var orgA = await _server.CreateOrgAsync();
        var orgB = await _server.CreateOrgAsync();
        var userB = await _server.CreateUserAsync(orgB, UserSteps.NewEmail(), password: null);
        var callerA = await _server.OrgClientAsync(orgA, "*");
        var before = (await _server.Root.GetAsync($"/api/v1/orgs/{orgB}/users/{userB}")).Data.ToString();

        foreach (var response in new[]
        {
            await callerA.GetAsync($"/api/v1/orgs/{orgB}/users"),
            await callerA.PostAsync($"/api/v1/orgs/{orgB}/users", new { email = UserSteps.NewEmail(), name = "X" }),
            await callerA.GetAsync($"/api/v1/orgs/{orgB}/users/{userB}"),
            await callerA.GetAsync($"/api/v1/orgs/{orgA}/users/{userB}"),
            await callerA.PatchAsync($"/api/v1/orgs/{orgA}/users/{userB}", new { disabled = true }),
            await callerA.DeleteAsync($"/api/v1/orgs/{orgA}/users/{userB}"),
            await callerA.GetAsync($"/api/v1/orgs/{orgA}/users/{userB}/sessions"),
            await callerA.DeleteAsync($"/api/v1/orgs/{orgB}/users/{userB}"),
        })
        {
            response.StatusCode.ShouldBe(404, response.Text);
            response.ErrorCode.ShouldBe("NOT_FOUND");
        }

        (await _server.Root.GetAsync($"/api/v1/orgs/{orgB}/users/{userB}")).Data.ToString().ShouldBe(before);
        (await _server.Root.GetAsync($"/api/v1/orgs/{orgB}/users")).Data.GetArrayLength().ShouldBe(1);
    }

    [Fact]
    public async Task The_admin_routes_list_every_org_and_are_root_only()
    {
        var orgA = await _server.CreateOrgAsync();
        var orgB = await _server.CreateOrgAsync();
        var email = UserSteps.NewEmail("everywhere");
        var viaAdmin = await _server.Root.PostAsync("/api/v1/admin/users", new { orgId = orgA, email, name = "A" });
        viaAdmin.StatusCode.ShouldBe(201, viaAdmin.Text);
        viaAdmin.Str("orgId").ShouldBe(orgA);
        await _server.CreateUserAsync(orgB, email, password: null);

        var byEmail = await _server.Root.GetAsync($"/api/v1/admin/users?email={Uri.EscapeDataString(email)}");
        byEmail.StatusCode.ShouldBe(200, byEmail.Text);
        byEmail.Data.EnumerateArray().Select(u => u.GetProperty("orgId").GetString()).ShouldBe([orgA, orgB], ignoreOrder: true);
        var byOrg = await _server.Root.GetAsync($"/api/v1/admin/users?orgId={orgB}&q=everywhere");
        byOrg.Data.GetArrayLength().ShouldBe(1);

        var unknownOrg = await _server.Root.PostAsync("/api/v1/admin/users", new { orgId = "org_missing", email = UserSteps.NewEmail(), name = "A" });
        unknownOrg.StatusCode.ShouldBe(422, unknownOrg.Text);
        unknownOrg.Fields().ShouldBe(["orgId"]);
        var adminWithRoles = await _server.Root.PostAsync("/api/v1/admin/users", new { orgId = (string?)null, email = UserSteps.NewEmail(), name = "A", roles = new[] { "x" } });
        adminWithRoles.StatusCode.ShouldBe(422, adminWithRoles.Text);

        var orgKey = await _server.OrgClientAsync(orgA, "*");
        (await orgKey.GetAsync("/api/v1/admin/users")).ErrorCode.ShouldBe("FORBIDDEN");
        (await orgKey.PostAsync("/api/v1/admin/users", new { orgId = orgA, email = UserSteps.NewEmail(), name = "A" })).ErrorCode.ShouldBe("FORBIDDEN");
        (await _server.Anonymous.GetAsync("/api/v1/admin/users")).ErrorCode.ShouldBe("AUTHENTICATION_FAILED");
    }

    [Fact]
    public async Task A_platform_administrator_logs_in_and_acts_like_the_root_key()
    {
        var email = UserSteps.NewEmail("platform-admin");
        var created = await _server.Root.PostAsync("/api/v1/admin/users", new { orgId = (string?)null, email, name = "Operator", password = UserSteps.Password });
        created.StatusCode.ShouldBe(201, created.Text);
        created.Data.GetProperty("orgId").ValueKind.ShouldBe(System.Text.Json.JsonValueKind.Null);

        var login = await _server.LoginAsync(email);
        var admin = _server.CookielessClient(login.Token);
        var org = await admin.PostAsync("/api/v1/orgs", new { name = "Made by an operator" });
        org.StatusCode.ShouldBe(201, org.Text);
        var orgId = org.Str("id");
        (await admin.GetAsync($"/api/v1/orgs/{orgId}/users")).StatusCode.ShouldBe(200);
        (await admin.GetAsync("/api/v1/admin/users?orgId=platform")).Data.EnumerateArray().Select(u => u.GetProperty("email").GetString()).ShouldContain(email);
        var session = await admin.GetAsync("/api/v1/auth/session");
        session.Data.GetProperty("permissions").Strings().ShouldBe(["*"]);

        var audit = await _server.Root.GetAsync($"/api/v1/orgs/{orgId}/audit-logs?limit=5");
        audit.StatusCode.ShouldBe(200, audit.Text);
    }
}
