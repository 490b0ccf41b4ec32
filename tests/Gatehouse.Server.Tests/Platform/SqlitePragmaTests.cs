using Gatehouse.Server.Platform.Storage;
using Microsoft.EntityFrameworkCore;

namespace Gatehouse.Server.Tests.Platform;

/// <summary>
/// Durability settings belong to SQLite's native connection and are applied once per connection,
/// not per open: a connection handed out again by the pool must still have them.
/// </summary>
public sealed class SqlitePragmaTests
{
    [Fact]
    public async Task Pooled_connections_keep_synchronous_full_and_foreign_keys()
    {
        await using var server = await GatehouseServer.StartAsync();
        if (server.Database.IsPostgres)
        {
            Assert.Skip("SQLite only: PostgreSQL commits are durable by default");
        }

        for (var round = 0; round < 3; round++)
        {
            await using var scope = server.Services.CreateAsyncScope();
            var db = scope.ServiceProvider.GetRequiredService<GatehouseDb>();
            await db.Database.OpenConnectionAsync();
            try
            {
                (await ScalarAsync(db, "PRAGMA synchronous")).ShouldBe(2, "FULL");
                (await ScalarAsync(db, "PRAGMA foreign_keys")).ShouldBe(1);
                (await ScalarAsync(db, "PRAGMA busy_timeout")).ShouldBe(30_000);
            }
            finally
            {
                await db.Database.CloseConnectionAsync();
            }
        }
    }

    private static async Task<long> ScalarAsync(GatehouseDb db, string sql)
    {
        await using var command = db.Database.GetDbConnection().CreateCommand();
        command.CommandText = sql;
        return Convert.ToInt64(await command.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture);
    }
}
