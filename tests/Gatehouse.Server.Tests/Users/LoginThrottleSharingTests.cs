using Gatehouse.Server.Features.Users;
using Gatehouse.Server.Platform.Storage;
using Microsoft.EntityFrameworkCore;

namespace Gatehouse.Server.Tests.Users;

/// <summary>
/// The login throttle counts in the database: two servers on one database (PostgreSQL, or one
/// SQLite file) add up the same failures, so nodes together allow no more guesses than one, and
/// the table names its rows by keyed digests, never by the email or the address.
/// </summary>
public sealed class LoginThrottleSharingTests
{
    [Fact]
    public async Task Failures_on_two_servers_of_one_database_add_up_and_throttle_on_both()
    {
        var database = await TestDatabase.CreateAsync();
        var dataDir = Path.Combine(Path.GetTempPath(), "gatehouse-tests", "throttle-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dataDir);
        var settings = new Dictionary<string, string?> { ["Gatehouse:TrustedProxies"] = "127.0.0.1" };
        var a = await GatehouseServer.StartAsync(new ServerOptions { DataDir = dataDir, Settings = settings }, database);
        var b = await GatehouseServer.StartAsync(new ServerOptions { DataDir = dataDir, Settings = settings }, database);
        try
        {
            var orgId = await a.CreateOrgAsync();
            var email = UserSteps.NewEmail("shared-throttle");
            await a.CreateUserAsync(orgId, email);
            var attacker = new Dictionary<string, string> { ["X-Forwarded-For"] = "198.51.100.77" };

            var statuses = new List<int>();
            for (var i = 0; i < LoginThrottle.FreeFailures; i++)
            {
                var server = i % 2 == 0 ? a : b;
                statuses.Add((await server.TryLoginAsync(email, $"wrong-guess-{i}-of-many", headers: attacker)).StatusCode);
            }

            var onA = await a.TryLoginAsync(email, UserSteps.Password, headers: attacker);
            var onB = await b.TryLoginAsync(email, UserSteps.Password, headers: attacker);

            statuses.ShouldAllBe(status => status == 401);
            onA.StatusCode.ShouldBe(429, onA.Text);
            onB.StatusCode.ShouldBe(429, onB.Text);
            onB.Header("Retry-After").ShouldNotBeNull();

            await using var scope = a.Services.CreateAsyncScope();
            var rows = await scope.ServiceProvider.GetRequiredService<GatehouseDb>().Set<LoginThrottleEntry>().AsNoTracking().ToListAsync();
            rows.Count.ShouldBe(2);
            rows.ShouldAllBe(row => row.Failures == LoginThrottle.FreeFailures);
            rows.ShouldAllBe(row => !row.Subject.Contains("shared-throttle") && !row.Subject.Contains("198.51.100.77"));
        }
        finally
        {
            await b.DisposeAsync();
            await a.DisposeAsync();
            await database.DisposeAsync();
        }
    }
}
