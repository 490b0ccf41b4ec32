using Gatehouse.Cli.Commands;
using Gatehouse.Cli.Infrastructure;
using Spectre.Console.Cli;

namespace Gatehouse.Cli;

/// <summary>The <c>gatehouse</c> command line (docs/cli.md): every command, its help and an example.</summary>
public static class Program
{
    public static async Task<int> Main(string[] args)
    {
        using var interrupted = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) =>
        {
            // The first Ctrl+C ends the command cleanly (audit tail stops following); a second one kills the process.
            if (!interrupted.IsCancellationRequested)
            {
                e.Cancel = true;
                interrupted.Cancel();
            }
        };

        var app = new CommandApp();
        app.Configure(Configure);
        return await app.RunAsync(args, interrupted.Token);
    }

    public static void Configure(IConfigurator config)
    {
        config.SetApplicationName("gatehouse");
        config.UseAssemblyInformationalVersion();
        config.SetExceptionHandler((exception, _) => Errors.Report(exception, Console.Error));
        config.CancellationExitCode(ExitCodes.Ok);

        config.AddCommand<LoginCommand>("login")
            .WithDescription("Check a key against a server and save both for the next commands.")
            .WithExample("login", "--url", "https://gatehouse.example.com", "--org", "org_01JD…");
        config.AddCommand<LogoutCommand>("logout").WithDescription("Forget the saved server and key.").WithExample("logout");

        config.AddBranch("orgs", orgs =>
        {
            orgs.SetDescription("Organizations (root key).");
            orgs.AddCommand<ListOrgsCommand>("list").WithDescription("List organizations.").WithExample("orgs", "list", "-o", "json");
            orgs.AddCommand<CreateOrgCommand>("create").WithDescription("Create an organization.").WithExample("orgs", "create", "Acme", "--slug", "acme");
            orgs.AddCommand<GetOrgCommand>("get").WithDescription("Show an organization.").WithExample("orgs", "get", "org_01JD…");
            orgs.AddCommand<DeleteOrgCommand>("delete").WithDescription("Delete an organization and everything in it.").WithExample("orgs", "delete", "org_01JD…", "--yes");
        });

        config.AddBranch("keys", keys =>
        {
            keys.SetDescription("API keys of an organization.");
            keys.AddCommand<CreateKeyCommand>("create").WithDescription("Create a key; its secret is shown once, with --show-secret.")
                .WithExample("keys", "create", "ci", "-p", "deploy:write", "--show-secret");
            keys.AddCommand<ListKeysCommand>("list").WithDescription("List keys (never their secrets).").WithExample("keys", "list", "--query", "ci");
            keys.AddCommand<GetKeyCommand>("get").WithDescription("Show a key.").WithExample("keys", "get", "key_01JD…");
            keys.AddCommand<RotateKeyCommand>("rotate").WithDescription("Replace a key with a new one; the old one works for --grace seconds.")
                .WithExample("keys", "rotate", "key_01JD…", "--grace", "3600", "--show-secret");
            keys.AddCommand<RevokeKeyCommand>("revoke").WithDescription("Revoke a key at once.").WithExample("keys", "revoke", "key_01JD…");
            keys.AddCommand<VerifyKeyCommand>("verify").WithDescription("Verify a key (exit 0 when VALID, 1 otherwise).")
                .WithExample("keys", "verify", "--permissions", "deploy:write AND env:prod");
        });

        config.AddBranch("roles", roles =>
        {
            roles.SetDescription("Roles: named sets of permissions.");
            roles.AddCommand<ListRolesCommand>("list").WithDescription("List roles.").WithExample("roles", "list");
            roles.AddCommand<CreateRoleCommand>("create").WithDescription("Create a role.").WithExample("roles", "create", "deployer", "-p", "deploy:write", "-p", "deploy:read");
            roles.AddCommand<DeleteRoleCommand>("delete").WithDescription("Delete a role.").WithExample("roles", "delete", "role_01JD…");
        });

        config.AddBranch("credentials", credentials =>
        {
            credentials.SetDescription("The vault of third-party credentials.");
            credentials.AddCommand<PutCredentialCommand>("put").WithDescription("Store a credential (encrypted).")
                .WithExample("credentials", "put", "stripe", "-t", "api_key", "-d", "apiKey=-");
            credentials.AddCommand<ListCredentialsCommand>("list").WithDescription("List credentials (metadata only).").WithExample("credentials", "list");
            credentials.AddCommand<RevealCredentialCommand>("reveal").WithDescription("Print a credential's decrypted data (audited).").WithExample("credentials", "reveal", "stripe");
        });

        config.AddBranch("webhooks", webhooks =>
        {
            webhooks.SetDescription("Webhook endpoints.");
            webhooks.AddCommand<ListWebhooksCommand>("list").WithDescription("List endpoints.").WithExample("webhooks", "list");
            webhooks.AddCommand<CreateWebhookCommand>("create").WithDescription("Add an endpoint; its signing secret is shown once, with --show-secret.")
                .WithExample("webhooks", "create", "https://hooks.example.com/gatehouse", "-e", "api_key.*", "--show-secret");
            webhooks.AddCommand<TestWebhookCommand>("test").WithDescription("Send a test event.").WithExample("webhooks", "test", "whk_01JD…");
            webhooks.AddCommand<DeleteWebhookCommand>("delete").WithDescription("Remove an endpoint.").WithExample("webhooks", "delete", "whk_01JD…");
        });

        config.AddBranch("audit", audit =>
        {
            audit.SetDescription("The organization's audit trail.");
            audit.AddCommand<TailAuditCommand>("tail").WithDescription("Show the latest events and follow new ones (Ctrl+C stops).").WithExample("audit", "tail", "-n", "20", "--action", "api_key.*");
            audit.AddCommand<VerifyAuditCommand>("verify").WithDescription("Recompute the hash chain (exit 1 when broken).").WithExample("audit", "verify");
        });

        config.AddBranch("jobs", jobs =>
        {
            jobs.SetDescription("Background jobs (root key).");
            jobs.AddCommand<ListJobsCommand>("list").WithDescription("List jobs and their last runs.").WithExample("jobs", "list");
            jobs.AddCommand<TriggerJobCommand>("trigger").WithDescription("Run a job now and follow it with a progress bar.").WithExample("jobs", "trigger", "dek-reencrypt");
        });

        config.AddBranch("admin", admin =>
        {
            admin.SetDescription("Operator commands run beside the server (database and master key access).");
            admin.AddCommand<RootKeysCommand>("root-keys").WithDescription("list, create, rotate, revoke or recover root keys (never over HTTP).")
                .WithExample("admin", "root-keys", "list");
        });

        config.AddCommand<ServerCommand>("server").WithDescription("Run the Gatehouse server in this process.").WithExample("server", "--dev");
    }
}
