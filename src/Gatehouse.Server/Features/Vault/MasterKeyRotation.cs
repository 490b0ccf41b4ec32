using System.Data.Common;
using System.Security.Cryptography;
using System.Text;
using Gatehouse.Crypto;
using Gatehouse.Server.Features.Webhooks;
using Gatehouse.Server.Platform.Http;
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

        // Values sealed directly under a master-key subkey: webhook signing secrets (current and
        // the one still in its grace period) and stored idempotent responses. Left alone they would
        // no longer open: deliveries could not be signed and a retry would meet a 500.
        foreach (var (id, sealedValue) in Read(connection, transaction, "SELECT id, sealed_secret FROM webhook_endpoints"))
        {
            if (TryReseal(current, previous, WebhookSecrets.Purpose, sealedValue, Encoding.UTF8.GetBytes(id)) is { } fresh)
            {
                Update(connection, transaction, "UPDATE webhook_endpoints SET sealed_secret = @v WHERE id = @k", fresh, id);
                rewrapped++;
            }
        }

        foreach (var (id, sealedValue) in Read(connection, transaction, "SELECT id, previous_sealed_secret FROM webhook_endpoints WHERE previous_sealed_secret IS NOT NULL"))
        {
            if (TryReseal(current, previous, WebhookSecrets.Purpose, sealedValue, Encoding.UTF8.GetBytes(id)) is { } fresh)
            {
                Update(connection, transaction, "UPDATE webhook_endpoints SET previous_sealed_secret = @v WHERE id = @k", fresh, id);
                rewrapped++;
            }
        }

        // Token-signing keys of the OAuth feature, sealed under their own subkey.
        foreach (var (kid, sealedValue) in Read(connection, transaction, "SELECT kid, sealed_key FROM oauth_signing_keys"))
        {
            if (TryReseal(current, previous, OAuth.SigningKeySealing.Purpose, sealedValue, OAuth.SigningKeySealing.Aad(kid)) is { } fresh)
            {
                Update(connection, transaction, "UPDATE oauth_signing_keys SET sealed_key = @v WHERE kid = @k", fresh, kid);
                rewrapped++;
            }
        }

        // Scope and key joined by a newline, which neither can hold (a credential id; a header value).
        foreach (var (scopeAndKey, sealedValue) in Read(connection, transaction, "SELECT scope || '\n' || key, sealed_body FROM idempotency_records WHERE sealed_body IS NOT NULL"))
        {
            var newline = scopeAndKey.IndexOf('\n', StringComparison.Ordinal);
            var (scope, key) = (scopeAndKey[..newline], scopeAndKey[(newline + 1)..]);
            if (TryReseal(current, previous, IdempotencyFilter.Purpose, sealedValue, IdempotencyFilter.Aad(scope, key)) is { } fresh)
            {
                using var command = connection.CreateCommand();
                command.Transaction = transaction;
                command.CommandText = "UPDATE idempotency_records SET sealed_body = @v WHERE scope = @s AND key = @k";
                DatabaseLock.AddParameter(command, "@v", fresh);
                DatabaseLock.AddParameter(command, "@s", scope);
                DatabaseLock.AddParameter(command, "@k", key);
                command.ExecuteNonQuery();
                rewrapped++;
            }
        }

        transaction.Commit();
        return rewrapped;
    }

    /// <summary>Like <see cref="TryRewrap"/>, for a value sealed under a purpose's subkey of the master key.</summary>
    private static byte[]? TryReseal(MasterKey current, MasterKey previous, string purpose, byte[] sealedValue, byte[] aad)
    {
        try
        {
            current.Open(purpose, sealedValue, aad);
            return null;
        }
        catch (CryptographicException)
        {
            var plaintext = previous.Open(purpose, sealedValue, aad);
            try
            {
                return current.Seal(purpose, plaintext, aad);
            }
            finally
            {
                CryptographicOperations.ZeroMemory(plaintext);
            }
        }
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
