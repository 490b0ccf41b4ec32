using System.Web;
using Gatehouse.Server.Tests.ApiKeys;

namespace Gatehouse.Server.Tests.Users;

/// <summary>
/// Single sign-on end to end against a real OpenID Connect provider (npm oidc-provider on loopback):
/// login route → provider → callback → a Gatehouse session; and every way the answer can be wrong.
/// </summary>
public sealed class OidcLoginTests(OidcProviderFixture idp) : IClassFixture<OidcProviderFixture>
{
    [Fact]
    public async Task A_first_login_creates_the_user_with_mapped_roles_and_a_session_that_calls_the_API_and_a_second_login_finds_the_same_user()
    {
        idp.SkipWhenUnavailable();
        var orgId = await idp.CreateSsoOrgAsync();
        using var browser = idp.NewBrowser();

        var callback = await browser.RunToCallbackAsync($"/api/v1/auth/oidc/login?org={orgId}&returnTo=/console/home&loginHint=ada");
        var query = HttpUtility.ParseQueryString(callback.Query);
        query["code"].ShouldNotBeNullOrEmpty();
        query["iss"].ShouldBe(idp.Issuer);
        var done = await browser.OpenAsync(callback);
        done.StatusCode.ShouldBe(302, done.Text);
        done.Headers.Location!.OriginalString.ShouldBe("/console/home");
        done.Header("Set-Cookie").ShouldNotBeNull().ShouldStartWith("__Host-gatehouse_session=gks_");

        var session = await browser.GetAsync("/api/v1/auth/session");
        session.StatusCode.ShouldBe(200, session.Text);
        var user = session.Data.GetProperty("user");
        user.GetProperty("email").GetString().ShouldBe(idp.Accounts["ada"]);
        user.GetProperty("name").GetString().ShouldBe("Ada Lovelace");
        user.GetProperty("orgId").GetString().ShouldBe(orgId);
        user.GetProperty("roles").Strings().ShouldBe(["viewer", "admin"], ignoreOrder: true);
        user.GetProperty("hasPassword").GetBoolean().ShouldBeFalse();
        session.Data.GetProperty("permissions").Strings().ShouldBe(["users:read", "users:write"], ignoreOrder: true);
        (await browser.GetAsync($"/api/v1/orgs/{orgId}/users")).StatusCode.ShouldBe(200);

        using var again = idp.NewBrowser();
        (await again.OpenAsync(await again.RunToCallbackAsync($"/api/v1/auth/oidc/login?org={orgId}&loginHint=ada"))).Headers.Location!.OriginalString.ShouldBe("/console");
        var users = await idp.Server.Root.GetAsync($"/api/v1/orgs/{orgId}/users");
        users.Data.GetArrayLength().ShouldBe(1);
        var userId = users.Data[0].GetProperty("id").GetString()!;
        (await idp.Server.Root.GetAsync($"/api/v1/orgs/{orgId}/users/{userId}/sessions")).Data.GetArrayLength().ShouldBe(2);

        var audit = await idp.Server.Root.GetAsync($"/api/v1/orgs/{orgId}/audit-logs?limit=200");
        var actions = audit.Data.EnumerateArray().Select(e => e.GetProperty("action").GetString()).ToList();
        actions.Count(a => a == "user.create").ShouldBe(1);
        actions.Count(a => a == "auth.login").ShouldBe(2);
        audit.Text.ShouldContain("\"method\":\"oidc\"");
        audit.Text.ShouldNotContain(OidcProviderFixture.ClientSecret);
    }

    [Fact]
    public async Task A_provider_that_wants_private_key_jwt_accepts_Gatehouses_signed_assertion_also_during_a_key_rotation_and_refuses_a_secret()
    {
        idp.SkipWhenUnavailable();
        var orgId = await idp.Server.CreateOrgAsync();
        var sso = $"/api/v1/orgs/{orgId}/sso";
        var put = await idp.Server.Root.PutAsync(sso, new { issuer = idp.Issuer, clientId = OidcProviderFixture.ClientId, clientAuthMethod = "private_key_jwt" });
        put.StatusCode.ShouldBe(200, put.Text);
        // The provider is registered with Gatehouse's JWKS URI, the way an administrator registers it.
        var issuer = await idp.StartExtraProviderAsync("private_key_jwt", put.Str("jwksUri"));
        (await idp.Server.Root.PutAsync(sso, new { issuer, clientId = OidcProviderFixture.ClientId })).StatusCode.ShouldBe(200);

        using (var browser = idp.NewBrowser())
        {
            var done = await browser.OpenAsync(await browser.RunToCallbackAsync($"/api/v1/auth/oidc/login?org={orgId}&loginHint=bob"));
            done.StatusCode.ShouldBe(302, done.Text);
            (await browser.GetAsync("/api/v1/auth/session")).Data.GetProperty("user").GetProperty("email").GetString().ShouldBe(idp.Accounts["bob"]);
        }

        // A rotation publishes the new key and keeps signing with the one the provider has cached: logins go on.
        (await idp.Server.Root.PutAsync(sso, new { issuer, clientId = OidcProviderFixture.ClientId, rotateClientKey = true })).StatusCode.ShouldBe(200);
        using (var browser = idp.NewBrowser())
        {
            var during = await browser.OpenAsync(await browser.RunToCallbackAsync($"/api/v1/auth/oidc/login?org={orgId}&loginHint=bob"));
            during.StatusCode.ShouldBe(302, string.Join('\n', idp.Server.Logs.Lines.Where(l => l.Contains("identity provider", StringComparison.Ordinal))));
        }

        // Settings that send a secret instead are refused by this provider: no session.
        (await idp.Server.Root.PutAsync(sso, new { issuer, clientId = OidcProviderFixture.ClientId, clientAuthMethod = "client_secret_basic", clientSecret = OidcProviderFixture.ClientSecret }))
            .StatusCode.ShouldBe(200);
        using (var browser = idp.NewBrowser())
        {
            var refused = await browser.OpenAsync(await browser.RunToCallbackAsync($"/api/v1/auth/oidc/login?org={orgId}&loginHint=bob"));
            refused.StatusCode.ShouldBe(401, refused.Text);
            refused.Header("Set-Cookie").ShouldBeNull();
        }
    }

    [Fact]
    public async Task A_linked_users_address_follows_the_providers_unless_another_user_has_it()
    {
        idp.SkipWhenUnavailable();
        var issuer = await idp.StartExtraProviderAsync("client_secret_basic");
        var orgId = await idp.Server.CreateOrgAsync();
        (await idp.Server.Root.PutAsync($"/api/v1/orgs/{orgId}/sso", new { issuer, clientId = OidcProviderFixture.ClientId, clientSecret = OidcProviderFixture.ClientSecret }))
            .StatusCode.ShouldBe(200);
        async Task<string> LoginEmailAsync()
        {
            using var browser = idp.NewBrowser();
            (await browser.OpenAsync(await browser.RunToCallbackAsync($"/api/v1/auth/oidc/login?org={orgId}&loginHint=eve"))).StatusCode.ShouldBe(302);
            return (await browser.GetAsync("/api/v1/auth/session")).Data.GetProperty("user").GetProperty("email").GetString()!;
        }

        (await LoginEmailAsync()).ShouldBe(idp.Accounts["eve"]);

        var renamed = UserSteps.NewEmail("eve-renamed");
        await OidcProviderFixture.SetProviderAccountAsync(issuer, "eve", new { email = renamed });
        (await LoginEmailAsync()).ShouldBe(renamed);
        var users = await idp.Server.Root.GetAsync($"/api/v1/orgs/{orgId}/users");
        users.Data.GetArrayLength().ShouldBe(1, "the same user, not a new one");
        var audit = await idp.Server.Root.GetAsync($"/api/v1/orgs/{orgId}/audit-logs?action=user.update");
        audit.Text.ShouldContain("\"previousEmail\":\"" + idp.Accounts["eve"]);

        // An address another user of the organization holds is not taken from them.
        var taken = UserSteps.NewEmail("taken");
        await idp.Server.CreateUserAsync(orgId, taken);
        await OidcProviderFixture.SetProviderAccountAsync(issuer, "eve", new { email = taken });
        (await LoginEmailAsync()).ShouldBe(renamed);

        // Nor is an address the provider did not verify.
        await OidcProviderFixture.SetProviderAccountAsync(issuer, "eve", new { email = UserSteps.NewEmail("unverified-change"), email_verified = false });
        (await LoginEmailAsync()).ShouldBe(renamed);
    }

    [Fact]
    public async Task A_provider_that_wants_client_secret_post_gets_the_secret_in_the_body()
    {
        idp.SkipWhenUnavailable();
        var issuer = await idp.StartExtraProviderAsync("client_secret_post");
        var orgId = await idp.Server.CreateOrgAsync();
        var sso = $"/api/v1/orgs/{orgId}/sso";
        (await idp.Server.Root.PutAsync(sso, new { issuer, clientId = OidcProviderFixture.ClientId, clientSecret = OidcProviderFixture.ClientSecret, clientAuthMethod = "client_secret_post" }))
            .StatusCode.ShouldBe(200);
        using var browser = idp.NewBrowser();
        (await browser.OpenAsync(await browser.RunToCallbackAsync($"/api/v1/auth/oidc/login?org={orgId}&loginHint=eve"))).StatusCode.ShouldBe(302);
    }

    [Fact]
    public async Task The_organizations_geo_fence_refuses_a_single_sign_on_from_outside_it_and_starts_no_session()
    {
        idp.SkipWhenUnavailable();
        var orgId = await idp.CreateSsoOrgAsync();
        var admin = await idp.Server.OrgClientAsync(orgId, "gateways:write");
        (await admin.PutAsync("/api/v1/admin/geo-fence", new { mode = "deny", countries = new[] { "NL" } })).StatusCode.ShouldBe(200);
        using var browser = idp.NewBrowser();
        var usersBefore = (await idp.Server.Root.GetAsync($"/api/v1/orgs/{orgId}/users")).Data.GetArrayLength();

        var refused = await browser.OpenAsync(await browser.RunToCallbackAsync($"/api/v1/auth/oidc/login?org={orgId}&loginHint=bob"));

        refused.StatusCode.ShouldBe(403, refused.Text);
        refused.ErrorCode.ShouldBe("FORBIDDEN");
        refused.Body.GetProperty("error").GetProperty("details").GetProperty("reason").GetString().ShouldBe("geo_fence");
        refused.Header("Set-Cookie").ShouldBeNull();
        (await idp.Server.Root.GetAsync($"/api/v1/orgs/{orgId}/users")).Data.GetArrayLength().ShouldBe(usersBefore, "a refused first login creates no user");
        var audit = await idp.Server.Root.GetAsync($"/api/v1/orgs/{orgId}/audit-logs?action=auth.login_failed");
        audit.Text.ShouldContain("geo_fence");

        (await admin.PutAsync("/api/v1/admin/geo-fence", new { mode = "off", countries = Array.Empty<string>() })).StatusCode.ShouldBe(200);
        using var allowed = idp.NewBrowser();
        (await allowed.OpenAsync(await allowed.RunToCallbackAsync($"/api/v1/auth/oidc/login?org={orgId}&loginHint=bob"))).StatusCode.ShouldBe(302);
    }

    [Fact]
    public async Task The_console_login_page_leads_to_the_organizations_provider_and_back_to_the_console_signed_in()
    {
        idp.SkipWhenUnavailable();
        var orgId = await idp.CreateSsoOrgAsync();
        using var browser = idp.NewBrowser();

        var page = await browser.OpenAsync(new Uri(idp.Server.BaseAddress, $"/console/login?org={orgId}&returnTo=%2Fconsole%2Fkeys"));
        page.StatusCode.ShouldBe(200);
        var link = System.Text.RegularExpressions.Regex.Match(page.Text, "id=\"sso-login\" href=\"([^\"]+)\"").Groups[1].Value;
        link.ShouldBe($"/api/v1/auth/oidc/login?org={orgId}&amp;returnTo=%2Fconsole%2Fkeys");

        var done = await browser.OpenAsync(await browser.RunToCallbackAsync(HttpUtility.HtmlDecode(link)));
        done.StatusCode.ShouldBe(302, done.Text);
        done.Headers.Location!.OriginalString.ShouldBe("/console/keys");
        var console = await browser.OpenAsync(new Uri(idp.Server.BaseAddress, "/console"));
        console.StatusCode.ShouldBe(200, console.Text);
        console.Text.ShouldContain("id=\"logout\"", customMessage: "the console shows a signed-in page");
    }

    [Fact]
    public async Task The_org_slug_names_the_organization_and_a_user_without_a_mapped_group_gets_only_the_default_roles()
    {
        idp.SkipWhenUnavailable();
        var orgId = await idp.CreateSsoOrgAsync();
        var slug = (await idp.Server.Root.GetAsync($"/api/v1/orgs/{orgId}")).Str("slug");
        using var browser = idp.NewBrowser();

        (await browser.OpenAsync(await browser.RunToCallbackAsync($"/api/v1/auth/oidc/login?org={slug}&loginHint=bob"))).StatusCode.ShouldBe(302);

        var session = await browser.GetAsync("/api/v1/auth/session");
        session.Data.GetProperty("user").GetProperty("roles").Strings().ShouldBe(["viewer"]);
        session.Data.GetProperty("permissions").Strings().ShouldBe(["users:read"]);
    }

    [Fact]
    public async Task A_replayed_callback_and_a_code_replayed_under_a_fresh_state_both_fail_and_start_no_session()
    {
        idp.SkipWhenUnavailable();
        var orgId = await idp.CreateSsoOrgAsync();
        using var browser = idp.NewBrowser();
        var first = await browser.RunToCallbackAsync($"/api/v1/auth/oidc/login?org={orgId}&loginHint=bob");
        (await browser.OpenAsync(first)).StatusCode.ShouldBe(302);
        var userId = (await browser.GetAsync("/api/v1/auth/session")).Data.GetProperty("user").GetProperty("id").GetString()!;

        var replay = await browser.OpenAsync(first);
        replay.StatusCode.ShouldBe(400, replay.Text);
        replay.ErrorCode.ShouldBe("INVALID_REQUEST");
        replay.Body.GetProperty("error").GetProperty("details").GetProperty("reason").GetString().ShouldBe("unknown_state");

        var second = await browser.RunToCallbackAsync($"/api/v1/auth/oidc/login?org={orgId}&loginHint=bob");
        var freshState = HttpUtility.ParseQueryString(second.Query)["state"];
        var oldCode = HttpUtility.ParseQueryString(first.Query)["code"];
        var mixed = await browser.OpenAsync(new Uri(second.GetLeftPart(UriPartial.Path) + $"?code={Uri.EscapeDataString(oldCode!)}&state={Uri.EscapeDataString(freshState!)}&iss={Uri.EscapeDataString(idp.Issuer)}"));
        mixed.StatusCode.ShouldBe(401, mixed.Text);
        mixed.ErrorCode.ShouldBe("AUTHENTICATION_FAILED");
        mixed.Body.GetProperty("error").GetProperty("details").GetProperty("reason").GetString().ShouldBe("code_rejected");

        (await idp.Server.Root.GetAsync($"/api/v1/orgs/{orgId}/users/{userId}/sessions")).Data.GetArrayLength().ShouldBe(1);
        var failed = await idp.Server.Root.GetAsync($"/api/v1/orgs/{orgId}/audit-logs?action=auth.login_failed");
        failed.Text.ShouldContain("code_rejected");
    }

    [Fact]
    public async Task A_wrong_or_missing_state_is_refused_and_a_callback_opened_in_another_browser_is_refused()
    {
        idp.SkipWhenUnavailable();
        var orgId = await idp.CreateSsoOrgAsync();
        using var browser = idp.NewBrowser();

        var unknown = await browser.GetAsync("/api/v1/auth/oidc/callback?code=abc&state=not-a-state-we-sent");
        unknown.StatusCode.ShouldBe(400, unknown.Text);
        unknown.ErrorCode.ShouldBe("INVALID_REQUEST");
        var missing = await browser.GetAsync("/api/v1/auth/oidc/callback?code=abc");
        missing.StatusCode.ShouldBe(400, missing.Text);
        missing.ErrorCode.ShouldBe("INVALID_REQUEST");

        var callback = await browser.RunToCallbackAsync($"/api/v1/auth/oidc/login?org={orgId}&loginHint=bob");
        using var other = idp.NewBrowser();
        var elsewhere = await other.OpenAsync(callback);
        elsewhere.StatusCode.ShouldBe(400, elsewhere.Text);
        elsewhere.Body.GetProperty("error").GetProperty("details").GetProperty("reason").GetString().ShouldBe("browser_mismatch");
        (await other.GetAsync("/api/v1/auth/session")).StatusCode.ShouldBe(401);
        (await idp.Server.Root.GetAsync($"/api/v1/orgs/{orgId}/users")).Data.GetArrayLength().ShouldBe(0);

        // The state survived the other browser's attempt: its own browser still completes the login.
        (await browser.OpenAsync(callback)).StatusCode.ShouldBe(302);
    }

    [Fact]
    public async Task An_answer_naming_another_issuer_fails_and_a_provider_whose_discovery_names_another_issuer_is_not_used()
    {
        idp.SkipWhenUnavailable();
        var orgId = await idp.CreateSsoOrgAsync();
        using var browser = idp.NewBrowser();
        var callback = await browser.RunToCallbackAsync($"/api/v1/auth/oidc/login?org={orgId}&loginHint=bob");
        var query = HttpUtility.ParseQueryString(callback.Query);
        var forged = new Uri(callback.GetLeftPart(UriPartial.Path) + $"?code={Uri.EscapeDataString(query["code"]!)}&state={Uri.EscapeDataString(query["state"]!)}&iss={Uri.EscapeDataString("https://evil.example")}");

        var mixUp = await browser.OpenAsync(forged);
        mixUp.StatusCode.ShouldBe(401, mixUp.Text);
        mixUp.Body.GetProperty("error").GetProperty("details").GetProperty("reason").GetString().ShouldBe("issuer_mismatch");
        (await idp.Server.Root.GetAsync($"/api/v1/orgs/{orgId}/users")).Data.GetArrayLength().ShouldBe(0);

        // The same provider reached as localhost publishes 127.0.0.1 as its issuer: not this issuer.
        var renamed = await idp.Server.Root.PutAsync($"/api/v1/orgs/{orgId}/sso", new { issuer = idp.Issuer.Replace("127.0.0.1", "localhost", StringComparison.Ordinal), clientId = OidcProviderFixture.ClientId });
        renamed.StatusCode.ShouldBe(200, renamed.Text);
        var refused = await browser.GetAsync($"/api/v1/auth/oidc/login?org={orgId}");
        refused.StatusCode.ShouldBe(503, refused.Text);
        refused.ErrorCode.ShouldBe("SERVICE_UNAVAILABLE");
    }

    [Fact]
    public async Task Disabled_or_absent_single_sign_on_and_an_unknown_organization_answer_404_and_bad_parameters_400()
    {
        idp.SkipWhenUnavailable();
        var orgId = await idp.CreateSsoOrgAsync();
        var plainOrg = await idp.Server.CreateOrgAsync();
        using var browser = idp.NewBrowser();

        (await browser.GetAsync("/api/v1/auth/oidc/login?org=org_00000000000000000000000000")).ErrorCode.ShouldBe("NOT_FOUND");
        (await browser.GetAsync($"/api/v1/auth/oidc/login?org={plainOrg}")).ErrorCode.ShouldBe("NOT_FOUND");
        (await browser.GetAsync("/api/v1/auth/oidc/login")).ErrorCode.ShouldBe("INVALID_REQUEST");
        (await browser.GetAsync($"/api/v1/auth/oidc/login?org={orgId}&returnTo=//evil.example/")).ErrorCode.ShouldBe("INVALID_REQUEST");
        (await browser.GetAsync($"/api/v1/auth/oidc/login?org={orgId}&returnTo=https://evil.example/")).ErrorCode.ShouldBe("INVALID_REQUEST");
        (await browser.GetAsync($"/api/v1/auth/oidc/login?org={orgId}&bogus=1")).ErrorCode.ShouldBe("INVALID_REQUEST");

        // A login started while enabled, completed after an administrator disabled it: refused.
        var callback = await browser.RunToCallbackAsync($"/api/v1/auth/oidc/login?org={orgId}&loginHint=bob");
        (await idp.Server.Root.PutAsync($"/api/v1/orgs/{orgId}/sso", new { enabled = false, issuer = idp.Issuer, clientId = OidcProviderFixture.ClientId })).StatusCode.ShouldBe(200);
        var late = await browser.OpenAsync(callback);
        late.StatusCode.ShouldBeOneOf(400, 404);
        var disabled = await browser.GetAsync($"/api/v1/auth/oidc/login?org={orgId}");
        disabled.StatusCode.ShouldBe(404, disabled.Text);
        disabled.ErrorCode.ShouldBe("NOT_FOUND");
        (await idp.Server.Root.GetAsync($"/api/v1/orgs/{orgId}/users")).Data.GetArrayLength().ShouldBe(0);
    }

    [Fact]
    public async Task An_existing_user_is_linked_by_verified_email_only_when_the_configurer_holds_what_the_user_holds()
    {
        idp.SkipWhenUnavailable();
        var orgId = await idp.Server.CreateOrgAsync();
        await idp.Server.Root.PostAsync($"/api/v1/orgs/{orgId}/roles", new { name = "viewer", permissions = new[] { "users:read" } });
        var powerful = await idp.Server.CreateUserAsync(orgId, idp.Accounts["eve"], permissions: ["api_keys:write"]);
        var modest = await idp.Server.CreateUserAsync(orgId, idp.Accounts["bob"], permissions: ["users:read"]);
        await idp.Server.CreateUserAsync(orgId, idp.Accounts["unverified"]);
        var (_, configurerKey) = await idp.Server.CreateKeyAsync(orgId, new { name = "user admin", permissions = new[] { "users:read", "users:write" } });
        var put = await idp.Server.CreateClient(configurerKey).PutAsync($"/api/v1/orgs/{orgId}/sso", new
        {
            issuer = idp.Issuer,
            clientId = OidcProviderFixture.ClientId,
            clientSecret = OidcProviderFixture.ClientSecret,
            defaultRoles = new[] { "viewer" },
        });
        put.StatusCode.ShouldBe(200, put.Text);

        using var eve = idp.NewBrowser();
        var refused = await eve.OpenAsync(await eve.RunToCallbackAsync($"/api/v1/auth/oidc/login?org={orgId}&loginHint=eve"));
        refused.StatusCode.ShouldBe(401, refused.Text);
        refused.Body.GetProperty("error").GetProperty("details").GetProperty("reason").GetString().ShouldBe("link_exceeds_configurer");
        (await idp.Server.Root.GetAsync($"/api/v1/orgs/{orgId}/users/{powerful}/sessions")).Data.GetArrayLength().ShouldBe(0);

        using var unverified = idp.NewBrowser();
        var unverifiedAnswer = await unverified.OpenAsync(await unverified.RunToCallbackAsync($"/api/v1/auth/oidc/login?org={orgId}&loginHint=unverified"));
        unverifiedAnswer.Body.GetProperty("error").GetProperty("details").GetProperty("reason").GetString().ShouldBe("email_unverified");

        using var bob = idp.NewBrowser();
        (await bob.OpenAsync(await bob.RunToCallbackAsync($"/api/v1/auth/oidc/login?org={orgId}&loginHint=bob"))).StatusCode.ShouldBe(302);
        var session = await bob.GetAsync("/api/v1/auth/session");
        session.Data.GetProperty("user").GetProperty("id").GetString().ShouldBe(modest);
        session.Data.GetProperty("user").GetProperty("roles").Strings().ShouldBe(["viewer"]);
    }

    [Fact]
    public async Task A_disabled_user_and_an_account_without_email_cannot_log_in()
    {
        idp.SkipWhenUnavailable();
        var orgId = await idp.CreateSsoOrgAsync();
        using var first = idp.NewBrowser();
        (await first.OpenAsync(await first.RunToCallbackAsync($"/api/v1/auth/oidc/login?org={orgId}&loginHint=bob"))).StatusCode.ShouldBe(302);
        var userId = (await first.GetAsync("/api/v1/auth/session")).Data.GetProperty("user").GetProperty("id").GetString()!;
        (await idp.Server.Root.PatchAsync($"/api/v1/orgs/{orgId}/users/{userId}", new { disabled = true })).StatusCode.ShouldBe(200);

        using var again = idp.NewBrowser();
        var disabled = await again.OpenAsync(await again.RunToCallbackAsync($"/api/v1/auth/oidc/login?org={orgId}&loginHint=bob"));
        disabled.StatusCode.ShouldBe(401, disabled.Text);
        disabled.Body.GetProperty("error").GetProperty("details").GetProperty("reason").GetString().ShouldBe("disabled");

        using var nomail = idp.NewBrowser();
        var noEmail = await nomail.OpenAsync(await nomail.RunToCallbackAsync($"/api/v1/auth/oidc/login?org={orgId}&loginHint=nomail"));
        noEmail.StatusCode.ShouldBe(401, noEmail.Text);
        noEmail.Body.GetProperty("error").GetProperty("details").GetProperty("reason").GetString().ShouldBe("email_missing");

        using var refusedAtProvider = idp.NewBrowser();
        var denied = await refusedAtProvider.OpenAsync(await refusedAtProvider.RunToCallbackAsync($"/api/v1/auth/oidc/login?org={orgId}&loginHint=nobody"));
        denied.StatusCode.ShouldBe(401, denied.Text);
        denied.Body.GetProperty("error").GetProperty("details").GetProperty("providerError").GetString().ShouldBe("access_denied");
        (await idp.Server.Root.GetAsync($"/api/v1/orgs/{orgId}/users")).Data.GetArrayLength().ShouldBe(1);
    }
}
