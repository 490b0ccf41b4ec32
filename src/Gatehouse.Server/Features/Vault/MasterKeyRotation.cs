using System.Data.Common;
using System.Security.Cryptography;
using Gatehouse.Crypto;
using Gatehouse.Server.Platform.Storage;

namespace Gatehouse.Server.Features.Vault;

/// <summary>
/// Master-key rotation: start with <c>GATEHOUSE_MASTER_KEY</c> = the new key and
/// <c>GATEHOUSE_MASTER_KEY_PREVIOUS</c> = the old one. Everything the old key wraps — the data keys
/// and the server secrets — is unwrapped and wrapped again with the new key, in one transaction
/// under the start-up lock. Only keys are re-wrapped; no credential is re-encrypted. Idempotent:
/// rows that already open with the new key are left alone, so starting again is harmless.
/// </summary>
public static class MasterKeyRotation
{
    public static int Rewrap(DatabaseTarget target, MasterKey current, MasterKey previous)
    {
        using var connection = target.OpenConnection();
        using var transaction = DatabaseLock.Begin(connection, target.Provider);
        var rewrapped = 0;
        foreach (var (name, sealedValue) in Read(connection, transaction, "SELECT name, sealed_value FROM server_secrets"))
        {
            var aad = "server_secret:"u8.ToArray().Concat(System.Text.Encoding.ASCII.GetBytes(name)).ToArray();
            if (TryRewrap(current, previous, sealedValue, aad) is { } fresh)
            {
                Update(connection, transaction, "UPDATE server_secrets SET sealed_value = @v WHERE name = @k", fresh, name);
                rewrapped++;
            }
        }

        foreach (var (key, wrapped) in Read(connection, transaction, "SELECT org_id || '/' || version, wrapped_key FROM data_keys WHERE wrapped_key IS NOT NULL"))
        {
            var slash = key.LastIndexOf('/');
            var orgId = key[..slash];
            var version = uint.Parse(key[(slash + 1)..], System.Globalization.CultureInfo.InvariantCulture);
            if (TryRewrap(current, previous, wrapped, AssociatedData.ForDataKey(orgId, version)) is { } fresh)
            {
                using var command = connection.CreateCommand();
                command.Transaction = transaction;
                command.CommandText = "UPDATE data_keys SET wrapped_key = @v WHERE org_id = @o AND version = @n";
                DatabaseLock.AddParameter(command, "@v", fresh);
                DatabaseLock.AddParameter(command, "@o", orgId);
                DatabaseLock.AddParameter(command, "@n", (int)version);
                command.ExecuteNonQuery();
                rewrapped++;
            }
        }

        transaction.Commit();
        return rewrapped;
    }

    /// <summary>Null when the row already opens with the current key; throws when neither key opens it.</summary>
    private static byte[]? TryRewrap(MasterKey current, MasterKey previous, byte[] wrapped, byte[] aad)
    {
        try
        {
            current.Unwrap(wrapped, aad);
            return null;
        }
        catch (CryptographicException)
        {
            var plaintext = previous.Unwrap(wrapped, aad);
            try
            {
                return current.Wrap(plaintext, aad);
            }
            finally
            {
                CryptographicOperations.ZeroMemory(plaintext);
            }
        }
    }

    private static List<(string Key, byte[] Value)> Read(DbConnection connection, DbTransaction transaction, string sql)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        using var reader = command.ExecuteReader();
        var rows = new List<(string, byte[])>();
        while (reader.Read())
        {
            rows.Add((reader.GetString(0), (byte[])reader.GetValue(1)));
        }

        return rows;
    }

    private static void Update(DbConnection connection, DbTransaction transaction, string sql, byte[] value, string key)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        DatabaseLock.AddParameter(command, "@v", value);
        DatabaseLock.AddParameter(command, "@k", key);
        command.ExecuteNonQuery();
    }
}
