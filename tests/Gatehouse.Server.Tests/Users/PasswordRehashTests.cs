using Gatehouse.Server.Features.Users;
using Gatehouse.Server.Platform.Storage;
using Microsoft.EntityFrameworkCore;

namespace Gatehouse.Server.Tests.Users;

public sealed class PasswordRehashTests
{
    [Fact]
    public async Task A_hash_made_at_an_older_cost_is_redone_at_the_current_cost_at_the_next_login()
    {
        await using var database = await TestDatabase.CreateAsync();
        var dataDir = Path.Combine(Path.GetTempPath(), "gatehouse-tests", Guid.NewGuid().ToString("N"));
        var email = UserSteps.NewEmail();
        await using (var before = await GatehouseServer.StartAsync(new ServerOptions { DataDir = dataDir }, database))
        {
            await before.CreateUserAsync(await before.CreateOrgAsync(), email);
            (await StoredHashAsync(before, email)).ShouldStartWith("$argon2id$v=19$m=19456,t=2,p=1$");
        }

        await using var after = await GatehouseServer.StartAsync(new ServerOptions
        {
            DataDir = dataDir,
            Settings = new Dictionary<string, string?> { ["Gatehouse:Users:PasswordIterations"] = "3" },
        }, database);
        var old = await StoredHashAsync(after, email);

        (await after.LoginAsync(email)).Token.ShouldStartWith("gks_");

        var upgraded = await StoredHashAsync(after, email);
        upgraded.ShouldStartWith("$argon2id$v=19$m=19456,t=3,p=1$");
        upgraded.ShouldNotBe(old);
        (await after.LoginAsync(email)).Token.ShouldStartWith("gks_");
        (await StoredHashAsync(after, email)).ShouldBe(upgraded);
    }

    private static async Task<string> StoredHashAsync(GatehouseServer server, string email)
    {
        await using var scope = server.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<GatehouseDb>();
        var suffix = "/" + email.ToLowerInvariant();
        var user = await db.Set<User>().AsNoTracking().SingleAsync(u => u.EmailKey.EndsWith(suffix));
        return user.PasswordHash.ShouldNotBeNull();
    }
}
