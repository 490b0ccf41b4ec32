using System.Text;
using Gatehouse.Server.Platform.Storage;

namespace Gatehouse.Server.Tests.ApiKeys;

/// <summary>The key appears in exactly two responses (create, rotate) and nowhere else.</summary>
public sealed class SecretLeakTests
{
    [Fact]
    public async Task The_secret_is_in_no_other_response_log_audit_event_or_database_row()
    {
        await using var server = await GatehouseServer.StartAsync();
        var orgId = await server.CreateOrgAsync();
        var created = await server.Root.PostAsync($"/api/v1/orgs/{orgId}/api-keys", new { name = "secret-holder", permissions = new[] { "api_keys:read", "api_keys:verify" }, remaining = 5 });
        var firstKey = created.Str("key");
        var id = created.Str("id");
        var keyClient = server.CreateClient(firstKey);
        var rotated = await server.Root.PostAsync($"/api/v1/orgs/{orgId}/api-keys/{id}/rotate", new { gracePeriodSeconds = 600 });
        var secondKey = rotated.Str("key");
        string[] secrets = [firstKey, secondKey, firstKey[firstKey.IndexOf('_', StringComparison.Ordinal)..], secondKey[secondKey.IndexOf('_', StringComparison.Ordinal)..]];

        var others = new List<ApiResponse>
        {
            await server.Root.GetAsync($"/api/v1/orgs/{orgId}/api-keys/{id}"),
            await server.Root.GetAsync($"/api/v1/orgs/{orgId}/api-keys/{rotated.Str("id")}"),
            await server.Root.GetAsync($"/api/v1/orgs/{orgId}/api-keys?includeRevoked=true"),
            await server.Root.PatchAsync($"/api/v1/orgs/{orgId}/api-keys/{id}", new { name = "renamed" }),
            await server.Root.VerifyAsync(new { key = firstKey }),
            await server.Root.VerifyAsync(new { key = secondKey, permissions = "x" }),
            await server.Root.PostAsync($"/api/v1/orgs/{orgId}/api-keys/{id}/validate", new { key = firstKey }),
            await keyClient.GetAsync($"/api/v1/orgs/{orgId}/api-keys"),
            await keyClient.VerifyAsync(new { key = secondKey }),
            await server.Root.GetAsync($"/api/v1/orgs/{orgId}/api-keys/{id}/usage"),
            await server.Root.GetAsync($"/api/v1/orgs/{orgId}/stats"),
            await server.Root.DeleteAsync($"/api/v1/orgs/{orgId}/api-keys/{id}"),
            await keyClient.GetAsync($"/api/v1/orgs/{orgId}/api-keys"),
        };
        await server.FlushUsageAsync();

        others.ShouldAllBe(r => r.StatusCode < 500);
        created.Text.ShouldContain(firstKey);
        rotated.Text.ShouldContain(secondKey);
        rotated.Text.ShouldNotContain(firstKey);
        foreach (var secret in secrets)
        {
            foreach (var response in others)
            {
                response.Text.ShouldNotContain(secret);
            }

            server.Logs.All.ShouldNotContain(secret);
        }

        var stored = await ReadEverythingStoredAsync(server);
        stored.Length.ShouldBeGreaterThan(1000);
        foreach (var secret in secrets)
        {
            stored.ShouldNotContain(secret);
        }

        stored.ShouldContain("secret-holder");
    }

    /// <summary>SQLite: the bytes of the database and WAL files. PostgreSQL: every text column of every table.</summary>
    private static async Task<string> ReadEverythingStoredAsync(GatehouseServer server)
    {
        var target = server.Services.GetRequiredService<DatabaseTarget>();
        if (target.Provider == DatabaseProvider.Sqlite)
        {
            var text = new StringBuilder();
            foreach (var (_, bytes) in await SqliteFiles.ReadAllAsync(server.DataDir))
            {
                text.Append(Encoding.Latin1.GetString(bytes));
            }

            return text.ToString();
        }

        return await Task.Run(() =>
        {
            using var connection = target.OpenConnection();
            var columns = new List<(string Table, string Column, string Type)>();
            using (var command = connection.CreateCommand())
            {
                command.CommandText = "SELECT table_name, column_name, data_type FROM information_schema.columns WHERE table_schema = 'public' AND data_type IN ('text', 'character varying', 'bytea')";
                using var reader = command.ExecuteReader();
                while (reader.Read())
                {
                    columns.Add((reader.GetString(0), reader.GetString(1), reader.GetString(2)));
                }
            }

            var text = new StringBuilder();
            foreach (var (table, column, type) in columns)
            {
                using var command = connection.CreateCommand();
                var value = type == "bytea" ? $"encode(\"{column}\", 'escape')" : $"\"{column}\"::text";
                command.CommandText = $"SELECT {value} FROM \"{table}\" WHERE \"{column}\" IS NOT NULL";
                using var reader = command.ExecuteReader();
                while (reader.Read())
                {
                    text.Append(reader.GetString(0)).Append('\n');
                }
            }

            return text.ToString();
        });
    }
}
