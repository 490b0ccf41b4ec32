using Npgsql;

namespace Gatehouse.Server.Tests.Infrastructure;

/// <summary>
/// The database a test server runs on: a fresh SQLite file in its data dir by default, or a
/// fresh PostgreSQL database when GATEHOUSE_TEST_PROVIDER=postgres and GATEHOUSE_TEST_DATABASE_URL
/// point at a server (the test command runs the suite both ways).
/// </summary>
public sealed class TestDatabase : IAsyncDisposable
{
    private readonly string? _adminConnection;
    private readonly string? _name;

    private TestDatabase(string? url, string? adminConnection, string? name)
    {
        Url = url;
        _adminConnection = adminConnection;
        _name = name;
    }

    /// <summary>The GATEHOUSE_DATABASE_URL for the server, or null for SQLite.</summary>
    public string? Url { get; }

    public bool IsPostgres => Url is not null;

    public static bool PostgresRequested =>
        string.Equals(Environment.GetEnvironmentVariable("GATEHOUSE_TEST_PROVIDER"), "postgres", StringComparison.OrdinalIgnoreCase);

    public static async Task<TestDatabase> CreateAsync()
    {
        if (!PostgresRequested)
        {
            return new TestDatabase(null, null, null);
        }

        var baseUrl = Environment.GetEnvironmentVariable("GATEHOUSE_TEST_DATABASE_URL")
            ?? throw new InvalidOperationException("GATEHOUSE_TEST_PROVIDER=postgres needs GATEHOUSE_TEST_DATABASE_URL.");
        var admin = Gatehouse.Server.Platform.Storage.DatabaseTarget.Postgres(baseUrl).ConnectionString;
        var name = "gh_test_" + Guid.NewGuid().ToString("N")[..16];
        await using (var connection = new NpgsqlConnection(admin))
        {
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand($"CREATE DATABASE {name}", connection);
            await command.ExecuteNonQueryAsync();
        }

        var builder = new NpgsqlConnectionStringBuilder(admin) { Database = name };
        return new TestDatabase(builder.ToString(), admin, name);
    }

    public async ValueTask DisposeAsync()
    {
        if (_adminConnection is null)
        {
            return;
        }

        NpgsqlConnection.ClearAllPools();
        await using var connection = new NpgsqlConnection(_adminConnection);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand($"DROP DATABASE IF EXISTS {_name} WITH (FORCE)", connection);
        await command.ExecuteNonQueryAsync();
    }
}
