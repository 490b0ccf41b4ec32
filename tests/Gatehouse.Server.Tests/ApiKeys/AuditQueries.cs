using Gatehouse.Server.Platform.Storage;

namespace Gatehouse.Server.Tests.ApiKeys;

/// <summary>Reads the stored audit trail straight from the database (the audit routes belong to another feature).</summary>
public static class AuditQueries
{
    public static Task<List<string>> ReadAuditActionsAsync(this DatabaseTarget target, string orgId) =>
        Task.Run(() =>
        {
            using var connection = target.OpenConnection();
            using var command = connection.CreateCommand();
            command.CommandText = "SELECT action FROM audit_events WHERE org_id = @org ORDER BY seq";
            DatabaseLock.AddParameter(command, "@org", orgId);
            using var reader = command.ExecuteReader();
            var actions = new List<string>();
            while (reader.Read())
            {
                actions.Add(reader.GetString(0));
            }

            return actions;
        });

    public static Task<List<string>> ReadAuditChangesAsync(this DatabaseTarget target, string orgId) =>
        Task.Run(() =>
        {
            using var connection = target.OpenConnection();
            using var command = connection.CreateCommand();
            command.CommandText = "SELECT action || ' ' || COALESCE(changes, '') FROM audit_events WHERE org_id = @org ORDER BY seq";
            DatabaseLock.AddParameter(command, "@org", orgId);
            using var reader = command.ExecuteReader();
            var rows = new List<string>();
            while (reader.Read())
            {
                rows.Add(reader.GetString(0));
            }

            return rows;
        });
}
