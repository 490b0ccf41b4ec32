using Gatehouse.Server.Features.Users;
using Gatehouse.Server.Tests.ApiKeys;
using Gatehouse.Server.Tests.Users;
using Gatehouse.Server.Tests.Webhooks;
using Microsoft.Playwright;

namespace Gatehouse.Server.Tests.WebConsole;

/// <summary>
/// One server, one Chromium (Debian's, through Playwright) and one organization for the console's
/// browser tests: an administrator and a read-only user of it, created through the API.
/// </summary>
public sealed class ConsoleWorld : IAsyncLifetime
{
    public const string Chromium = "/usr/bin/chromium";
    public const string Password = "Console-Journey-Passw0rd!x";

    public GatehouseServer Server { get; private set; } = null!;
    public IPlaywright? Playwright { get; private set; }
    public IBrowser? Browser { get; private set; }
    public string OrgId { get; private set; } = "";
    public string AdminEmail { get; } = "admin@console.example";
    public string ReaderEmail { get; } = "reader@console.example";
    public string KeeperEmail { get; } = "keeper@console.example";
    public string ReaderId { get; private set; } = "";
    public string Origin => Server.BaseAddress.GetLeftPart(UriPartial.Authority);

    public async ValueTask InitializeAsync()
    {
        Server = await GatehouseServer.StartAsync();
        OrgId = await Server.CreateOrgAsync("Console Org");
        (await Server.Root.PostAsync($"/api/v1/orgs/{OrgId}/users", new { email = AdminEmail, name = "Ada Admin", password = Password, roles = Array.Empty<string>(), permissions = new[] { "*" } }))
            .StatusCode.ShouldBe(201);
        var reader = await Server.Root.PostAsync($"/api/v1/orgs/{OrgId}/users", new { email = ReaderEmail, name = "Rita Reader", password = Password, roles = Array.Empty<string>(), permissions = new[] { "read" } });
        reader.StatusCode.ShouldBe(201, reader.Text);
        ReaderId = reader.Str("id");
        (await Server.Root.PostAsync($"/api/v1/orgs/{OrgId}/users", new { email = KeeperEmail, name = "Kim Keeper", password = Password, roles = Array.Empty<string>(), permissions = new[] { "read", "api_keys:write" } }))
            .StatusCode.ShouldBe(201);
        if (File.Exists(Chromium))
        {
            Playwright = await Microsoft.Playwright.Playwright.CreateAsync();
            Browser = await Playwright.Chromium.LaunchAsync(new() { ExecutablePath = Chromium, Headless = true, Args = ["--no-sandbox"] });
        }
    }

    /// <summary>A fresh browser profile (its own cookies) on a laptop-sized window.</summary>
    public async Task<IPage> NewPageAsync()
    {
        if (Browser is null)
        {
            Assert.Skip("Chromium is not installed (Debian: apt-get install chromium)");
        }

        var context = await Browser.NewContextAsync(new() { ViewportSize = new() { Width = 1366, Height = 860 }, BaseURL = Origin });
        await context.GrantPermissionsAsync(["clipboard-read", "clipboard-write"], new() { Origin = Origin });
        return await context.NewPageAsync();
    }

    public async Task LogInAsync(IPage page, string email)
    {
        await page.GotoAsync("/console");
        await page.WaitForSelectorAsync("#login");
        page.Url.ShouldStartWith(Origin + "/console/login");
        await page.FillAsync("#email", email);
        await page.FillAsync("#password", Password);
        await page.ClickAsync("#login");
        await page.WaitForSelectorAsync("[data-testid=signed-in-as]");
    }

    public async ValueTask DisposeAsync()
    {
        if (Browser is not null)
        {
            await Browser.DisposeAsync();
        }

        Playwright?.Dispose();
        await Server.DisposeAsync();
    }
}

/// <summary>The console in a real browser: what an administrator does in it, and what a read-only user cannot.</summary>
public sealed class ConsoleBrowserTests(ConsoleWorld world) : IClassFixture<ConsoleWorld>
{
    /// <summary>Set to a folder (docs/images/console) to save screenshots of the main pages while the journey runs.</summary>
    private static readonly string? ScreenshotDir = Environment.GetEnvironmentVariable("GATEHOUSE_CONSOLE_SCREENSHOTS");

    [Fact]
    public async Task Administrators_manage_keys_secrets_webhooks_organizations_and_jobs_and_find_it_all_in_the_audit_log()
    {
        var page = await world.NewPageAsync();
        var server = world.Server;
        var orgId = world.OrgId;
        await world.LogInAsync(page, world.AdminEmail);
        page.Url.ShouldBe(world.Origin + "/console");
        (await page.TextContentAsync("[data-testid=signed-in-as]"))!.ShouldContain(world.AdminEmail);

        // A key: created with its secret shown once and copied.
        await page.GotoAsync("/console/keys");
        await page.FillAsync("#create-key input[name='Create.Name']", "checkout service");
        await page.FillAsync("#create-key input[name='Create.Permissions']", "orders:read, orders:write");
        await page.FillAsync("#create-key input[name='Create.Remaining']", "100");
        await page.ClickAsync("#create-key button[type=submit]");
        await page.WaitForSelectorAsync("#new-key");
        var key = (await page.TextContentAsync("#new-key"))!.Trim();
        key.ShouldStartWith("gk_");
        await page.ClickAsync("#new-key-copy");
        await page.WaitForSelectorAsync("#new-key-copy[data-copied=true]");
        (await page.EvaluateAsync<string>("() => navigator.clipboard.readText()")).ShouldBe(key);
        await Shot(page, "keys");

        // Verified through the API: one success, one refusal; both show on the key's usage chart.
        (await server.Root.VerifyAsync(new { key })).Code().ShouldBe("VALID");
        (await server.Root.VerifyAsync(new { key, permissions = "orders:delete" })).Code().ShouldBe("INSUFFICIENT_PERMISSIONS");
        await server.FlushUsageAsync();
        await page.ClickAsync("#keys-table a:has-text('checkout service')");
        await page.WaitForSelectorAsync("[data-testid=usage-chart] svg");
        (await page.GetAttributeAsync("[data-testid=usage-chart] svg", "data-total")).ShouldBe("2");
        (await page.Locator("[data-testid=usage-chart] rect[data-series=VALID]").CountAsync()).ShouldBe(1);
        (await page.Locator("[data-testid=usage-chart] rect[data-series=INSUFFICIENT_PERMISSIONS]").CountAsync()).ShouldBe(1);
        await Shot(page, "key-detail");

        // Rotated without grace: the old key stops, the new one (shown once) works; then revoked.
        await page.FillAsync("#rotate-key input[name=GraceSeconds]", "0");
        await page.ClickAsync("#rotate-key button[type=submit]");
        await page.WaitForSelectorAsync("#rotated-key");
        var rotated = (await page.TextContentAsync("#rotated-key"))!.Trim();
        rotated.ShouldNotBe(key);
        (await server.Root.VerifyAsync(new { key = rotated })).Code().ShouldBe("VALID");
        (await server.Root.VerifyAsync(new { key })).Code().ShouldNotBe("VALID");
        await page.ClickAsync("#successor-link");
        await page.WaitForSelectorAsync("#revoke-key");
        await page.CheckAsync("#revoke-key input[name=ConfirmRevoke]");
        await page.ClickAsync("#revoke-key button[type=submit]");
        await page.WaitForSelectorAsync("#key-state:has-text('revoked')");
        (await server.Root.VerifyAsync(new { key = rotated })).Code().ShouldBe("REVOKED");

        // A secret: stored, then revealed after a confirmation.
        await page.GotoAsync("/console/vault");
        await page.FillAsync("#create-credential input[name='Create.IntegrationId']", "payments");
        await page.FillAsync("#create-credential input[name='Create.Name']", "Payments API");
        await page.SelectOptionAsync("#create-credential select[name='Create.AuthType']", "api_key");
        await page.FillAsync("#create-credential textarea[name='Create.Data']", """{"apiKey": "pk_console_secret_value"}""");
        await page.ClickAsync("#create-credential button[type=submit]");
        await page.WaitForSelectorAsync("#credentials-table a:has-text('payments')");
        (await page.ContentAsync()).ShouldNotContain("pk_console_secret_value");
        await Shot(page, "vault");
        await page.ClickAsync("#credentials-table a:has-text('payments')");
        await page.CheckAsync("#reveal input[name=ConfirmReveal]");
        await page.ClickAsync("#reveal button[type=submit]");
        await page.WaitForSelectorAsync("pre.revealed");
        (await page.TextContentAsync("pre.revealed"))!.ShouldContain("pk_console_secret_value");

        // A webhook endpoint: its secret shown once, a test event delivered and listed, then redelivered.
        await using var receiver = await WebhookReceiver.StartAsync();
        await page.GotoAsync("/console/webhooks");
        await page.FillAsync("#create-webhook input[name='Create.Url']", receiver.Url());
        await page.CheckAsync("#create-webhook input[value='api_key.created']");
        await page.ClickAsync("#create-webhook button[type=submit]");
        await page.WaitForSelectorAsync("#webhook-secret");
        (await page.TextContentAsync("#webhook-secret"))!.Trim().ShouldStartWith("whsec_");
        await page.ClickAsync("#new-webhook-link");
        await page.ClickAsync("#test-webhook button[type=submit]");
        await page.WaitForSelectorAsync("[role=status]:has-text('test event')");
        await receiver.WaitForAsync(_ => true);
        await Eventually.TrueAsync(async () =>
        {
            await page.ClickAsync("#refresh-deliveries");
            await page.WaitForSelectorAsync("#deliveries-table");
            return await page.Locator("#deliveries-table tr[data-status=succeeded]").CountAsync() == 1;
        }, "the test delivery listed as succeeded");
        (await page.TextContentAsync("#deliveries-table tbody"))!.ShouldContain("ok");
        await Shot(page, "webhook-deliveries");
        await page.ClickAsync("#deliveries-table button:has-text('Redeliver')");
        await page.WaitForSelectorAsync("[role=status]:has-text('queued again')");
        await receiver.WaitForAsync(_ => true, count: 2);

        // The audit log holds every one of those changes, its chain verifies, and it exports.
        await page.GotoAsync("/console/audit");
        await page.WaitForSelectorAsync("#chain-status[data-valid=true]");
        foreach (var action in new[] { "auth.login", "api_key.create", "api_key.rotate", "api_key.revoke", "credential.create", "credential.reveal", "webhook.create" })
        {
            (await page.Locator($"#audit-table tr[data-action='{action}']").CountAsync()).ShouldBeGreaterThan(0, action);
        }

        await Shot(page, "audit");
        await page.GotoAsync("/console/audit?action=credential.reveal");
        (await page.Locator("#audit-table tbody tr").CountAsync()).ShouldBe(1);
        var export = await page.Context.APIRequest.GetAsync($"/console/audit/export?org={orgId}");
        export.Status.ShouldBe(200);
        var lines = (await export.TextAsync()).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        lines.ShouldContain(l => l.Contains("\"api_key.revoke\"", StringComparison.Ordinal));
        lines.ShouldAllBe(l => !l.Contains("pk_console_secret_value", StringComparison.Ordinal));

        await page.GotoAsync("/console");
        await page.WaitForSelectorAsync("[data-testid=stat-keys]");
        (await page.TextContentAsync("[data-testid=stat-credentials] .value"))!.Trim().ShouldBe("1");
        (await page.TextContentAsync("[data-testid=stat-webhooks] .value"))!.Trim().ShouldBe("1");
        await Shot(page, "overview");

        // Logged out: the session is over at the API too, and the console asks for a login again.
        await page.ClickAsync("#logout");
        await page.WaitForSelectorAsync("#logged-out");
        await page.GotoAsync("/console/keys");
        await page.WaitForSelectorAsync("#login");
        (await page.Locator("#session-expired").CountAsync()).ShouldBe(0);
        var logouts = await server.Root.GetAsync($"/api/v1/orgs/{orgId}/audit-logs?action=auth.logout");
        logouts.Data.GetArrayLength().ShouldBe(1);

        // A platform administrator: every organization, one opened by id, and a job run followed to its end.
        (await server.Root.PostAsync("/api/v1/admin/users", new { orgId = (string?)null, email = "platform@console.example", name = "Pat Platform", password = ConsoleWorld.Password }))
            .StatusCode.ShouldBe(201);
        await world.LogInAsync(page, "platform@console.example");
        await page.WaitForSelectorAsync(".warn:has-text('Choose an organization')");
        await page.ClickAsync("nav.side a:has-text('Organizations')");
        await page.ClickAsync($"#orgs-table a[href='/console?org={orgId}']");
        await page.WaitForSelectorAsync("[data-testid=stat-credentials]");
        (await page.TextContentAsync("[data-testid=stat-credentials] .value"))!.Trim().ShouldBe("1");
        await page.ClickAsync("nav.side a:has-text('Jobs')");
        await page.ClickAsync($"#jobs-table tr[data-job='{SessionPrune.JobName}'] button");
        await page.WaitForSelectorAsync("#job-run[data-state=succeeded]");
        await Shot(page, "job-run");
    }

    [Fact]
    public async Task Administrators_edit_roles_users_and_webhooks_and_rotate_a_webhook_secret_shown_once()
    {
        var server = world.Server;
        var orgId = world.OrgId;
        var role = await server.Root.PostAsync($"/api/v1/orgs/{orgId}/roles", new { name = "editors", permissions = new[] { "orders:read" } });
        role.StatusCode.ShouldBe(201, role.Text);
        var userId = await server.CreateUserAsync(orgId, UserSteps.NewEmail("edited"));
        await using var receiver = await WebhookReceiver.StartAsync();
        var (webhookId, oldSecret) = await server.CreateWebhookAsync(orgId, receiver.Url(), "api_key.created");
        try
        {
            await EditEverythingAsync(webhookId, oldSecret, role.Str("id"), userId);
        }
        finally
        {
            // The organization is the class's: the journey counts its webhooks on the overview.
            (await server.Root.DeleteAsync($"/api/v1/orgs/{orgId}/webhooks/{webhookId}")).StatusCode.ShouldBe(200);
        }
    }

    private async Task EditEverythingAsync(string webhookId, string oldSecret, string roleId, string userId)
    {
        var server = world.Server;
        var orgId = world.OrgId;
        var page = await world.NewPageAsync();
        await world.LogInAsync(page, world.AdminEmail);

        // A role's permissions, edited in its row.
        await page.GotoAsync("/console/roles");
        await page.ClickAsync("#edit-role-editors summary");
        await page.FillAsync("#edit-role-editors input[name='Edit.Permissions']", "orders:read, orders:write");
        await page.FillAsync("#edit-role-editors input[name='Edit.Description']", "Order editors");
        await page.ClickAsync("#edit-role-editors button[type=submit]");
        await page.WaitForSelectorAsync("#page-notice:has-text('The role was saved.')");
        var saved = await server.Root.GetAsync($"/api/v1/orgs/{orgId}/roles/{roleId}");
        saved.Data.GetProperty("permissions").Strings().ShouldBe(["orders:read", "orders:write"], ignoreOrder: true);
        saved.Str("description").ShouldBe("Order editors");

        // A user: renamed, given the role, disabled.
        await page.GotoAsync($"/console/users/{userId}");
        await page.FillAsync("#edit-user input[name='Edit.Name']", "Edited Person");
        await page.FillAsync("#edit-user input[name='Edit.Roles']", "editors");
        await page.CheckAsync("#edit-user input[name='Edit.Disabled']");
        await page.ClickAsync("#edit-user button[type=submit]");
        await page.WaitForSelectorAsync("#page-notice:has-text('The user was saved.')");
        var user = await server.Root.GetAsync($"/api/v1/orgs/{orgId}/users/{userId}");
        user.Str("name").ShouldBe("Edited Person");
        user.Data.GetProperty("roles").Strings().ShouldBe(["editors"]);
        user.Data.GetProperty("disabled").GetBoolean().ShouldBeTrue();

        // A webhook: other events and a description; then its secret rotated with a grace period.
        await page.GotoAsync($"/console/webhooks/{webhookId}");
        await page.FillAsync("#edit-webhook input[name='Edit.Events']", "role.created, role.updated");
        await page.FillAsync("#edit-webhook input[name='Edit.Description']", "Role changes");
        await page.ClickAsync("#edit-webhook button[type=submit]");
        await page.WaitForSelectorAsync("#page-notice:has-text('The endpoint was saved.')");
        var hook = await server.Root.GetAsync($"/api/v1/orgs/{orgId}/webhooks/{webhookId}");
        hook.Data.GetProperty("events").Strings().ShouldBe(["role.created", "role.updated"], ignoreOrder: true);
        hook.Str("description").ShouldBe("Role changes");

        await page.FillAsync("#rotate-secret input[name=SecretGraceSeconds]", "3600");
        await page.ClickAsync("#rotate-secret button[type=submit]");
        await page.WaitForSelectorAsync("#rotated-webhook-secret");
        var newSecret = (await page.TextContentAsync("#rotated-webhook-secret"))!.Trim();
        newSecret.ShouldStartWith("whsec_");
        newSecret.ShouldNotBe(oldSecret);
        (await server.Root.GetAsync($"/api/v1/orgs/{orgId}/webhooks/{webhookId}")).Data.GetProperty("previousSecretExpiresAt").ValueKind.ShouldBe(System.Text.Json.JsonValueKind.String);
        await page.GotoAsync($"/console/webhooks/{webhookId}");
        await page.WaitForSelectorAsync("#rotate-secret");
        (await page.Locator("#rotated-webhook-secret").CountAsync()).ShouldBe(0, "the secret is shown once");
        (await page.ContentAsync()).ShouldNotContain(newSecret);

        var audit = await server.Root.GetAsync($"/api/v1/orgs/{orgId}/audit-logs?limit=200");
        var actions = audit.Data.EnumerateArray().Select(e => e.GetProperty("action").GetString()).ToList();
        actions.ShouldContain("role.update");
        actions.ShouldContain("user.update");
        actions.ShouldContain("webhook.update");
        actions.ShouldContain("webhook.rotate_secret");
        audit.Text.ShouldNotContain(newSecret);
    }

    [Fact]
    public async Task A_read_only_user_sees_no_changing_actions_and_forged_posts_are_refused()
    {
        var server = world.Server;
        var orgId = world.OrgId;
        var (keyId, _) = await server.CreateKeyAsync(orgId, new { name = "existing key", permissions = new[] { "orders:read" } });
        var page = await world.NewPageAsync();
        await world.LogInAsync(page, world.ReaderEmail);

        await page.GotoAsync("/console/keys");
        await page.WaitForSelectorAsync("#keys-table");
        (await page.Locator("#create-key").CountAsync()).ShouldBe(0);
        await page.GotoAsync($"/console/keys/{keyId}");
        await page.WaitForSelectorAsync("[data-testid=usage-chart]");
        (await page.Locator("#rotate-key, #revoke-key, #edit-key").CountAsync()).ShouldBe(0);
        await page.GotoAsync("/console/vault");
        (await page.Locator("#create-credential").CountAsync()).ShouldBe(0);
        await page.GotoAsync("/console/webhooks");
        (await page.Locator("#create-webhook").CountAsync()).ShouldBe(0);
        await page.GotoAsync("/console/roles");
        (await page.Locator("details.inline-editor").CountAsync()).ShouldBe(0);
        await page.GotoAsync($"/console/users/{world.ReaderId}");
        (await page.Locator("#edit-user").CountAsync()).ShouldBe(0);
        var keysBefore = (await server.Root.GetAsync($"/api/v1/orgs/{orgId}/api-keys")).Data.GetArrayLength();

        // Without the antiforgery token: refused before any handler runs.
        var forged = await page.Context.APIRequest.PostAsync("/console/keys", new()
        {
            Form = Form(page, ("_handler", "create-key"), ("Create.Name", "forged"), ("Create.Permissions", "*")),
        });
        forged.Status.ShouldBe(400);

        // With a real token from the page: a form the page does not offer this user is not run.
        await page.GotoAsync("/console/keys");
        var token = await page.GetAttributeAsync("input[name=__console_af]", "value");
        var withToken = await page.Context.APIRequest.PostAsync("/console/keys", new()
        {
            Form = Form(page, ("_handler", "create-key"), ("__console_af", token!), ("Create.Name", "forged"), ("Create.Permissions", "*")),
        });
        var answer = await withToken.TextAsync();
        withToken.Status.ShouldBe(400, answer);
        (await server.Root.GetAsync($"/api/v1/orgs/{orgId}/api-keys")).Data.GetArrayLength().ShouldBe(keysBefore);

        // A user who may create keys, asking for a key with more than they hold: the API's escalation
        // rule refuses it through the console exactly as it would through the API.
        var keeper = await world.NewPageAsync();
        await world.LogInAsync(keeper, world.KeeperEmail);
        await keeper.GotoAsync("/console/keys");
        await keeper.FillAsync("#create-key input[name='Create.Name']", "too strong");
        await keeper.FillAsync("#create-key input[name='Create.Permissions']", "credentials:reveal");
        await keeper.ClickAsync("#create-key button[type=submit]");
        await keeper.WaitForSelectorAsync("#page-error");
        (await keeper.TextContentAsync("#page-error"))!.ShouldContain("FORBIDDEN");
        (await keeper.Locator("#new-key").CountAsync()).ShouldBe(0);
        (await server.Root.GetAsync($"/api/v1/orgs/{orgId}/api-keys")).Data.GetArrayLength().ShouldBe(keysBefore);

        // A logout post without the token does nothing either.
        (await page.Context.APIRequest.PostAsync("/console/logout", new() { Form = Form(page) })).Status.ShouldBe(400);

        // The session ended elsewhere (an administrator ended it): the next page asks for a login, saying why.
        var sessions = await server.Root.GetAsync($"/api/v1/orgs/{orgId}/users/{world.ReaderId}/sessions");
        foreach (var session in sessions.Data.EnumerateArray().Where(s => s.GetProperty("active").GetBoolean()))
        {
            (await server.Root.DeleteAsync($"/api/v1/orgs/{orgId}/users/{world.ReaderId}/sessions/{session.GetProperty("id").GetString()}")).StatusCode.ShouldBe(200);
        }

        await page.GotoAsync("/console/vault");
        await page.WaitForSelectorAsync("#session-expired");
        page.Url.ShouldContain("returnTo=%2Fconsole%2Fvault");
    }

    private static IFormData Form(IPage page, params (string Name, string Value)[] fields)
    {
        var form = page.Context.APIRequest.CreateFormData();
        foreach (var (name, value) in fields)
        {
            form.Set(name, value);
        }

        return form;
    }

    private static async Task Shot(IPage page, string name)
    {
        if (ScreenshotDir is { Length: > 0 } dir)
        {
            Directory.CreateDirectory(dir);
            await page.ScreenshotAsync(new() { Path = Path.Combine(dir, name + ".png"), FullPage = true });
        }
    }
}
