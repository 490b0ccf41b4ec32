using System.Data.Common;
using Gatehouse.Server.Platform.Storage;
using Microsoft.EntityFrameworkCore;
using Npgsql;

namespace Gatehouse.Server.Tests.Platform;

/// <summary>PostgreSQL connection settings (Gatehouse:Database): applied unless the connection string sets them.</summary>
public sealed class DatabaseSettingsTests
{
    [Fact]
    public void Defaults_fill_what_the_connection_string_leaves_unset()
    {
        var tuned = new NpgsqlConnectionStringBuilder(PostgresTuning.Apply("Host=db;Database=gatehouse", new DatabaseOptions()));

        tuned.KeepAlive.ShouldBe(10);
        tuned.MaxPoolSize.ShouldBe(50);
        tuned.CommandTimeout.ShouldBe(30);
        tuned.Options.ShouldBe("-c lock_timeout=10000 -c idle_in_transaction_session_timeout=60000");
    }

    [Fact]
    public void Values_in_the_connection_string_win()
    {
        var given = "Host=db;Database=gatehouse;Keepalive=3;Maximum Pool Size=7;Command Timeout=9;Options=-c lock_timeout=1500";
        var settings = new DatabaseOptions { MaxPoolSize = 80, LockTimeoutSeconds = 20, IdleInTransactionTimeoutSeconds = 5, CommandTimeoutSeconds = 60, KeepAliveSeconds = 30 };

        var tuned = new NpgsqlConnectionStringBuilder(PostgresTuning.Apply(given, settings));

        tuned.KeepAlive.ShouldBe(3);
        tuned.MaxPoolSize.ShouldBe(7);
        tuned.CommandTimeout.ShouldBe(9);
        tuned.Options.ShouldBe("-c lock_timeout=1500 -c idle_in_transaction_session_timeout=5000");
    }

    [Fact]
    public async Task A_pooled_connection_of_the_server_has_the_settings()
    {
        Assert.SkipUnless(TestDatabase.PostgresRequested, "PostgreSQL only: set GATEHOUSE_TEST_PROVIDER=postgres");
        await using var database = await TestDatabase.CreateAsync();
        await using var server = await GatehouseServer.StartAsync(new ServerOptions
        {
            Settings = new Dictionary<string, string?>
            {
                ["Gatehouse:Database:LockTimeoutSeconds"] = "4",
                ["Gatehouse:Database:IdleInTransactionTimeoutSeconds"] = "45",
            },
        }, database);
        await using var scope = server.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<GatehouseDb>();
        var connection = db.Database.GetDbConnection();
        await db.Database.OpenConnectionAsync(TestContext.Current.CancellationToken);
        try
        {
            (await ShowAsync(connection, "lock_timeout")).ShouldBe("4s");
            (await ShowAsync(connection, "idle_in_transaction_session_timeout")).ShouldBe("45s");
            var used = new NpgsqlConnectionStringBuilder(connection.ConnectionString);
            used.MaxPoolSize.ShouldBe(50);
            used.KeepAlive.ShouldBe(10);
            used.CommandTimeout.ShouldBe(30);
        }
        finally
        {
            await db.Database.CloseConnectionAsync();
        }
    }

    [Fact]
    public async Task A_request_that_waits_past_the_lock_timeout_answers_409()
    {
        Assert.SkipUnless(TestDatabase.PostgresRequested, "PostgreSQL only: set GATEHOUSE_TEST_PROVIDER=postgres");
        await using var database = await TestDatabase.CreateAsync();
        await using var server = await GatehouseServer.StartAsync(new ServerOptions
        {
            Settings = new Dictionary<string, string?> { ["Gatehouse:Database:LockTimeoutSeconds"] = "1" },
        }, database);
        var orgId = await server.CreateOrgAsync();
        var role = await server.Root.PostAsync($"/api/v1/orgs/{orgId}/roles", new { name = "locked", permissions = new[] { "a:b" } });
        var roleId = role.Str("id");

        // Another session holds the role's row for longer than the lock timeout.
        await using var holder = new NpgsqlConnection(database.Url);
        await holder.OpenAsync(TestContext.Current.CancellationToken);
        await using var transaction = await holder.BeginTransactionAsync(TestContext.Current.CancellationToken);
        await using (var lockRow = new NpgsqlCommand("SELECT id FROM roles WHERE id = @id FOR UPDATE", holder, transaction))
        {
            lockRow.Parameters.AddWithValue("id", roleId);
            await lockRow.ExecuteScalarAsync(TestContext.Current.CancellationToken);
        }

        var blocked = await server.Root.PatchAsync($"/api/v1/orgs/{orgId}/roles/{roleId}", new { permissions = new[] { "c:d" } });
        await transaction.RollbackAsync(TestContext.Current.CancellationToken);
        var after = await server.Root.GetAsync($"/api/v1/orgs/{orgId}/roles/{roleId}");

        blocked.StatusCode.ShouldBe(409, blocked.Text);
        blocked.ErrorCode.ShouldBe("CONFLICT");
        after.Data.GetProperty("permissions").EnumerateArray().Select(p => p.GetString()).ShouldBe(["a:b"]);
    }

    private static async Task<string?> ShowAsync(DbConnection connection, string setting)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = $"SHOW {setting}";
        return (string?)await command.ExecuteScalarAsync();
    }
}
