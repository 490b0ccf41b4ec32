using System.Data.Common;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Gatehouse.Crypto;
using Gatehouse.Server.Platform.Hosting;
using Gatehouse.Server.Platform.Storage;
using Gatehouse.Server.Platform.Tenancy;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Gatehouse.Server.Features.Audit;

/// <summary>
/// Where one audit chain ends, written in the transaction of every append. <see cref="Seal"/> is
/// an HMAC under the server's audit key over every other field, so a head cannot be rewound to
/// hide deleted events nor moved to where keyed hashing begins. Events with
/// <c>seq &lt; KeyedFromSeq</c> were written before keyed hashing (plain SHA-256).
/// <see cref="LostAtSeq"/> is set when a writer found the head missing or its seal wrong: the
/// chain goes on from the newest event, and verification reports the loss for good.
/// </summary>
public sealed class AuditChainHead : IOrgOwned
{
    public required string OrgId { get; init; }
    public long LastSeq { get; set; }
    public required string LastHash { get; set; }
    public long KeyedFromSeq { get; set; }
    public long? LostAtSeq { get; set; }
    public string? Seal { get; set; }
    public DateTime UpdatedAt { get; set; }
}

internal sealed class AuditChainHeadMapping : IEntityTypeConfiguration<AuditChainHead>
{
    public void Configure(EntityTypeBuilder<AuditChainHead> builder)
    {
        builder.ToTable("audit_chain_heads");
        builder.HasKey(h => h.OrgId);
    }
}

/// <summary>
/// The keyed hashes of the audit chains: maps the entities onto <see cref="AuditChainFormat"/>,
/// which owns every byte that is hashed. The key is a random server secret (<c>audit_chain_key</c>
/// in <c>server_secrets</c>), wrapped by the master key like the pepper, so it survives a master-key
/// rotation (which re-wraps every server secret) and is useless without the master key.
/// </summary>
public sealed class AuditChain(AuditChainFormat format)
{
    private const string SecretName = "audit_chain_key";

    /// <summary>The hash of events written before keyed hashing: plain SHA-256 of the canonical text.</summary>
    public static string LegacyHash(AuditEvent e) => AuditChainFormat.LegacyHash(Fields(e));

    /// <summary>HMAC-SHA-256 of the canonical text under the audit key.</summary>
    public string Hash(AuditEvent e) => format.EventHash(Fields(e));

    public bool HashMatches(AuditEvent e, bool keyed) => format.EventHashMatches(Fields(e), keyed, e.Hash);

    public string SealOf(AuditChainHead head) => format.HeadSeal(Fields(head));

    public bool IsSealed(AuditChainHead head) => format.IsSealed(Fields(head), head.Seal);

    private static AuditEventFields Fields(AuditEvent e) => new(
        e.PrevHash, e.Id, e.OrgId, e.Seq, e.Action, e.ActorType, e.ActorId, e.TargetType, e.TargetId,
        e.Ip, e.UserAgent, e.RequestId, e.OccurredAt, e.Changes);

    private static AuditHeadFields Fields(AuditChainHead head) => new(head.OrgId, head.LastSeq, head.LastHash, head.KeyedFromSeq, head.LostAtSeq);

    /// <summary>
    /// Loads the audit key, creating it on the first start with it (under the start-up lock, so
    /// nodes agree) and sealing the heads the migration wrote for chains that existed before. A key
    /// that is gone while sealed heads remain is refused: a new key would silently bless whatever
    /// the chains hold now.
    /// </summary>
    public static AuditChain Load(DatabaseTarget target, MasterKey masterKey, TimeProvider clock)
    {
        var aad = "server_secret:"u8.ToArray().Concat(Encoding.ASCII.GetBytes(SecretName)).ToArray();
        using var connection = target.OpenConnection();
        using var transaction = DatabaseLock.Begin(connection, target.Provider);
        byte[] secret;
        using (var read = Command(connection, transaction, "SELECT sealed_value FROM server_secrets WHERE name = @n", ("@n", SecretName)))
        {
            secret = read.ExecuteScalar() is byte[] sealedSecret ? Unwrap(masterKey, sealedSecret, aad) : [];
        }

        if (secret.Length == 0)
        {
            using (var sealedHeads = Command(connection, transaction, "SELECT COUNT(*) FROM audit_chain_heads WHERE seal IS NOT NULL"))
            {
                if (Convert.ToInt64(sealedHeads.ExecuteScalar(), CultureInfo.InvariantCulture) > 0)
                {
                    throw new StartupException("the audit chain key (server secret audit_chain_key) is missing while sealed audit chains exist; restore it from a backup");
                }
            }

            secret = ChainMac.NewSecret();
            using var insert = Command(connection, transaction, "INSERT INTO server_secrets (name, sealed_value, created_at) VALUES (@n, @v, @t)",
                ("@n", SecretName), ("@v", masterKey.Wrap(secret, aad)), ("@t", clock.GetUtcNow().UtcDateTime));
            insert.ExecuteNonQuery();
            SealMigratedHeads(connection, transaction, new AuditChain(new AuditChainFormat(secret)));
        }

        transaction.Commit();
        return new AuditChain(new AuditChainFormat(secret));
    }

    private static void SealMigratedHeads(DbConnection connection, DbTransaction transaction, AuditChain chain)
    {
        var heads = new List<AuditChainHead>();
        using (var select = Command(connection, transaction, "SELECT org_id, last_seq, last_hash, keyed_from_seq FROM audit_chain_heads WHERE seal IS NULL AND lost_at_seq IS NULL"))
        using (var reader = select.ExecuteReader())
        {
            while (reader.Read())
            {
                heads.Add(new AuditChainHead { OrgId = reader.GetString(0), LastSeq = reader.GetInt64(1), LastHash = reader.GetString(2), KeyedFromSeq = reader.GetInt64(3) });
            }
        }

        foreach (var head in heads)
        {
            using var update = Command(connection, transaction, "UPDATE audit_chain_heads SET seal = @s WHERE org_id = @o", ("@s", chain.SealOf(head)), ("@o", head.OrgId));
            update.ExecuteNonQuery();
        }
    }

    private static byte[] Unwrap(MasterKey masterKey, byte[] sealedSecret, byte[] aad)
    {
        try
        {
            return masterKey.Unwrap(sealedSecret, aad);
        }
        catch (CryptographicException ex)
        {
            throw new StartupException("the master key does not open the audit chain key", ex);
        }
    }

    private static DbCommand Command(DbConnection connection, DbTransaction transaction, string sql, params (string Name, object Value)[] parameters)
    {
        var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        foreach (var (name, value) in parameters)
        {
            DatabaseLock.AddParameter(command, name, value);
        }

        return command;
    }
}
