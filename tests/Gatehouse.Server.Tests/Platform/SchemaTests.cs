using System.Data.Common;
using Gatehouse.Server.Platform.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging.Abstractions;

namespace Gatehouse.Server.Tests.Platform;

/// <summary>The versioned SQL scripts build exactly the schema the EF model expects, once, even when nodes race.</summary>
public sealed class SchemaTests(SharedServer shared)
{
    private readonly GatehouseServer _server = shared.Server;

    [Fact]
    public void The_EF_model_matches_the_migrated_schema_both_ways()
    {
        using var scope = _server.Services.CreateScope();
        var db = scope.ServiceProvider.GetRequiredService<GatehouseDb>();
        var target = _server.Services.GetRequiredService<DatabaseTarget>();
        using var connection = target.OpenConnection();
        var schema = ReadSchema(connection, target.Provider);

        var mappedTables = new HashSet<string>(StringComparer.Ordinal);
        foreach (var entity in db.Model.GetEntityTypes())
        {
            var table = entity.GetTableName()!;
            mappedTables.Add(table);
            schema.ShouldContainKey(table, $"table {table} of {entity.ClrType.Name} is not created by any migration");
            var columns = schema[table];
            foreach (var property in entity.GetProperties())
            {
                var column = property.GetColumnName();
                columns.ShouldContainKey(column, $"{table}.{column} ({entity.ClrType.Name}.{property.Name}) is missing");
                columns[column].ShouldBe(property.IsNullable, $"{table}.{column} nullability differs from the model");
            }

            foreach (var column in columns.Where(c => !c.Value))
            {
                entity.GetProperties().Any(p => p.GetColumnName() == column.Key).ShouldBeTrue($"{table}.{column.Key} is NOT NULL but unmapped");
            }
        }

        // Tables outside the EF model: bookkeeping, and the shared rate-limit counters (raw SQL on the hot path).
        foreach (var table in schema.Keys.Where(t => t is not "schema_migrations" and not "server_secrets" and not "rate_limit_counters" && !t.StartsWith("sqlite_", StringComparison.Ordinal)))
        {
            mappedTables.ShouldContain(table, $"table {table} is created by a migration but not mapped");
        }
    }

    [Fact]
    public void Migrating_again_applies_nothing()
    {
        var target = _server.Services.GetRequiredService<DatabaseTarget>();

        var applied = new SchemaMigrator(target, NullLogger<SchemaMigrator>.Instance).Migrate();

        applied.ShouldBeEmpty();
    }

    [Fact]
    public async Task Two_nodes_migrating_an_empty_database_at_once_apply_each_script_exactly_once()
    {
        await using var database = await TestDatabase.CreateAsync();
        var dataDir = Path.Combine(Path.GetTempPath(), "gatehouse-tests", "race-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dataDir);
        var target = database.Url is null ? DatabaseTarget.Sqlite(dataDir) : DatabaseTarget.Postgres(database.Url);
        var scripts = SchemaMigrator.LoadScripts(target.Provider);

        var runs = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => Task.Run(() => new SchemaMigrator(target, NullLogger<SchemaMigrator>.Instance).Migrate())));

        runs.SelectMany(r => r).OrderBy(v => v).ShouldBe(scripts.Select(s => s.Version));
        using var connection = target.OpenConnection();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT COUNT(*) FROM schema_migrations";
        Convert.ToInt32(await command.ExecuteScalarAsync()).ShouldBe(scripts.Count);
    }

    [Fact]
    public void Both_providers_have_the_same_migration_versions()
    {
        SchemaMigrator.LoadScripts(DatabaseProvider.Sqlite).Select(s => s.Version)
            .ShouldBe(SchemaMigrator.LoadScripts(DatabaseProvider.Postgres).Select(s => s.Version));
    }

    /// <summary>table → (column → nullable).</summary>
    private static Dictionary<string, Dictionary<string, bool>> ReadSchema(DbConnection connection, DatabaseProvider provider)
    {
        var schema = new Dictionary<string, Dictionary<string, bool>>(StringComparer.Ordinal);
        using var command = connection.CreateCommand();
        command.CommandText = provider == DatabaseProvider.Postgres
            ? "SELECT table_name, column_name, is_nullable = 'YES' FROM information_schema.columns WHERE table_schema = 'public'"
            : "SELECT m.name, p.name, p.\"notnull\" = 0 AND p.pk = 0 FROM sqlite_master m JOIN pragma_table_info(m.name) p WHERE m.type = 'table'";
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            var table = reader.GetString(0);
            if (!schema.TryGetValue(table, out var columns))
            {
                schema[table] = columns = new Dictionary<string, bool>(StringComparer.Ordinal);
            }

            columns[reader.GetString(1)] = Convert.ToBoolean(reader.GetValue(2));
        }

        return schema;
    }
}
