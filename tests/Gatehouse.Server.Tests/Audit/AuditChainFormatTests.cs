using System.Data.Common;
using Gatehouse.Crypto;
using Gatehouse.Server.Platform.Storage;
using Microsoft.EntityFrameworkCore;

namespace Gatehouse.Server.Tests.Audit;

/// <summary>
/// The hashes and the seal the server stores are exactly <see cref="AuditChainFormat"/> of the
/// stored columns under the server's audit key: the server's mapping of its rows onto the format
/// (which column goes into which field) cannot drift from the format whose known answers the
/// crypto tests pin. Read straight from the tables, not through the server's entities.
/// </summary>
public sealed class AuditChainFormatTests(SharedServer shared)
{
    private readonly GatehouseServer _server = shared.Server;

    [Fact]
    public async Task Stored_event_hashes_and_the_head_seal_are_the_crypto_format_of_the_stored_columns()
    {
        var orgId = await _server.CreateOrgAsync();
        var headers = new Dictionary<string, string> { ["User-Agent"] = "format-test/1.0" };
        (await _server.Root.PostAsync($"/api/v1/orgs/{orgId}/roles", new { name = "reader", permissions = new[] { "a:b" } }, headers)).StatusCode.ShouldBe(201);
        (await _server.Root.PostAsync($"/api/v1/orgs/{orgId}/roles", new { name = "writer", permissions = new[] { "c:d" } })).StatusCode.ShouldBe(201);

        using var scope = _server.Services.CreateScope();
        var db = scope.ServiceProvider.GetRequiredService<GatehouseDb>();
        var masterKey = scope.ServiceProvider.GetRequiredService<MasterKey>();
        await db.Database.OpenConnectionAsync();
        try
        {
            var connection = db.Database.GetDbConnection();
            var sealedSecret = (byte[])(await ScalarAsync(connection, "SELECT sealed_value FROM server_secrets WHERE name = 'audit_chain_key'"))!;
            var format = new AuditChainFormat(masterKey.Unwrap(sealedSecret, "server_secret:audit_chain_key"u8));

            var events = await EventsAsync(connection, orgId);
            events.Count.ShouldBeGreaterThanOrEqualTo(3);

            // Every optional field is present in some event, so a field moved to another place
            // in the mapping changes a hash below rather than swapping two empty strings.
            events.ShouldContain(e => e.Fields.TargetType != null && e.Fields.TargetId != null && e.Fields.Changes != null && e.Fields.RequestId != null);
            events.ShouldContain(e => e.Fields.Ip != null && e.Fields.UserAgent == "format-test/1.0");

            foreach (var (fields, hash) in events)
            {
                format.EventHash(fields).ShouldBe(hash, $"event {fields.Seq}");
            }

            await using var head = Command(connection, "SELECT last_seq, last_hash, keyed_from_seq, lost_at_seq, seal FROM audit_chain_heads WHERE org_id = @o", orgId);
            await using var reader = await head.ExecuteReaderAsync();
            (await reader.ReadAsync()).ShouldBeTrue();
            var headFields = new AuditHeadFields(orgId, reader.GetInt64(0), reader.GetString(1), reader.GetInt64(2), await reader.IsDBNullAsync(3) ? null : reader.GetInt64(3));
            headFields.LastSeq.ShouldBe(events[^1].Fields.Seq);
            format.HeadSeal(headFields).ShouldBe(reader.GetString(4));
        }
        finally
        {
            await db.Database.CloseConnectionAsync();
        }
    }

    private static async Task<List<(AuditEventFields Fields, string Hash)>> EventsAsync(DbConnection connection, string orgId)
    {
        await using var command = Command(connection,
            "SELECT prev_hash, id, org_id, seq, action, actor_type, actor_id, target_type, target_id, ip, user_agent, request_id, occurred_at, changes, hash "
            + "FROM audit_events WHERE org_id = @o ORDER BY seq", orgId);
        await using var reader = await command.ExecuteReaderAsync();
        var events = new List<(AuditEventFields, string)>();
        while (await reader.ReadAsync())
        {
            string? Text(int i) => reader.IsDBNull(i) ? null : reader.GetString(i);
            events.Add((new AuditEventFields(
                reader.GetString(0), reader.GetString(1), reader.GetString(2), reader.GetInt64(3), reader.GetString(4), reader.GetString(5), reader.GetString(6),
                Text(7), Text(8), Text(9), Text(10), Text(11), reader.GetDateTime(12), Text(13)), reader.GetString(14)));
        }

        return events;
    }

    private static async Task<object?> ScalarAsync(DbConnection connection, string sql)
    {
        await using var command = Command(connection, sql, null);
        return await command.ExecuteScalarAsync();
    }

    private static DbCommand Command(DbConnection connection, string sql, string? orgId)
    {
        var command = connection.CreateCommand();
        command.CommandText = sql;
        if (orgId is not null)
        {
            var parameter = command.CreateParameter();
            parameter.ParameterName = "@o";
            parameter.Value = orgId;
            command.Parameters.Add(parameter);
        }

        return command;
    }
}
