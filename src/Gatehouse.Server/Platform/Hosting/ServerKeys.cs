using System.Data.Common;
using System.Security.Cryptography;
using Gatehouse.Crypto;
using Gatehouse.Server.Platform.Storage;

namespace Gatehouse.Server.Platform.Hosting;

/// <summary>
/// The server's key material: the master key (KEK) from the environment or the data dir, and the
/// server secrets it protects in the database (the pepper of secret hashes).
/// </summary>
public sealed class ServerKeys(MasterKey masterKey, SecretHasher secretHasher)
{
    public const string MasterKeyFileName = "master.key";
    private const string PepperName = "secret_hash_pepper";

    public MasterKey MasterKey { get; } = masterKey;
    public SecretHasher SecretHasher { get; } = secretHasher;

    /// <summary>Checks that the data dir is usable (it holds the SQLite file and possibly the master key).</summary>
    public static string PrepareDataDir(string dataDir)
    {
        var full = Path.GetFullPath(dataDir);
        try
        {
            Directory.CreateDirectory(full);
            var probe = Path.Combine(full, $".write-probe-{Environment.ProcessId}");
            File.WriteAllText(probe, "");
            File.Delete(probe);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new StartupException($"the data dir {full} is not writable ({ex.Message})", ex);
        }

        return full;
    }

    public static MasterKey LoadMasterKey(string? configured, string dataDir)
    {
        if (configured is not null)
        {
            return MasterKey.TryParse(configured, out var fromConfig, out var error)
                ? fromConfig!
                : throw new StartupException($"GATEHOUSE_MASTER_KEY is malformed: {error}");
        }

        var path = Path.Combine(dataDir, MasterKeyFileName);
        if (File.Exists(path))
        {
            return MasterKey.TryParse(File.ReadAllText(path), out var fromFile, out var error)
                ? fromFile!
                : throw new StartupException($"the master key file {path} is malformed: {error}");
        }

        var generated = MasterKey.Generate();
        // Owner-only from the moment it exists: never world-readable, not even briefly.
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        using (var stream = new FileStream(path, options))
        using (var writer = new StreamWriter(stream))
        {
            writer.Write(generated.ToBase64());
            writer.Flush();
            stream.Flush(flushToDisk: true);
        }

        return generated;
    }

    /// <summary>Loads the pepper, creating it on the first start (under the migration lock, so nodes agree).</summary>
    public static SecretHasher LoadSecretHasher(DatabaseTarget target, MasterKey masterKey)
    {
        var aad = "server_secret:"u8.ToArray().Concat(System.Text.Encoding.ASCII.GetBytes(PepperName)).ToArray();
        using var connection = target.OpenConnection();
        using var transaction = DatabaseLock.Begin(connection, target.Provider);
        var sealedPepper = ReadSecret(connection, transaction, PepperName);
        if (sealedPepper is null)
        {
            sealedPepper = masterKey.Wrap(SecretHasher.NewPepper(), aad);
            using var insert = connection.CreateCommand();
            insert.Transaction = transaction;
            insert.CommandText = "INSERT INTO server_secrets (name, sealed_value, created_at) VALUES (@n, @v, @t)";
            DatabaseLock.AddParameter(insert, "@n", PepperName);
            DatabaseLock.AddParameter(insert, "@v", sealedPepper);
            // Runs before the service container (and so the injected clock) exists.
            DatabaseLock.AddParameter(insert, "@t", TimeProvider.System.GetUtcNow().UtcDateTime);
            insert.ExecuteNonQuery();
        }

        transaction.Commit();
        try
        {
            return new SecretHasher(masterKey.Unwrap(sealedPepper, aad));
        }
        catch (CryptographicException ex)
        {
            throw new StartupException("the master key does not match the one this database was created with", ex);
        }
    }

    private static byte[]? ReadSecret(DbConnection connection, DbTransaction transaction, string name)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "SELECT sealed_value FROM server_secrets WHERE name = @n";
        DatabaseLock.AddParameter(command, "@n", name);
        return command.ExecuteScalar() as byte[];
    }
}
