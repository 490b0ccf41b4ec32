using Gatehouse.Crypto;
using Gatehouse.Server.Platform.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Gatehouse.Server.Platform.Auth;

/// <summary>A platform administrator key; only its hash and start are stored.</summary>
public sealed class RootKey
{
    public required string Id { get; init; }
    public required string Hash { get; init; }
    public required string Start { get; init; }
    public DateTime CreatedAt { get; init; }
    public DateTime? RevokedAt { get; set; }
}

internal sealed class RootKeyMapping : IEntityTypeConfiguration<RootKey>
{
    public void Configure(EntityTypeBuilder<RootKey> builder)
    {
        builder.ToTable("root_keys");
        builder.HasKey(k => k.Id);
    }
}

/// <summary>
/// The root keys' hashes, held in memory (there are one or two), so authenticating root costs a
/// hash and a constant-time compare. The root key is accepted exactly as configured: it need not
/// have the generated key format.
/// </summary>
public sealed class RootKeyStore(SecretHasher hasher)
{
    // An array, not a list interface: enumerating an interface boxed an enumerator on every request.
    private volatile (string Id, byte[] Hash)[] _keys = [];

    public void Load(IEnumerable<RootKey> keys) =>
        _keys = [.. keys.Where(k => k.RevokedAt is null).Select(k => (k.Id, Convert.FromHexString(k.Hash)))];

    public string? Match(string credential) => Match(hasher.Digest(credential));

    public string? Match(SecretDigest presented)
    {
        Span<byte> digest = stackalloc byte[SecretDigest.Size];
        presented.CopyTo(digest);
        string? matched = null;
        foreach (var (id, hash) in _keys)
        {
            // Compare against every key so the time taken does not depend on which one matched.
            if (SecretComparison.AreEqual(digest, hash))
            {
                matched = id;
            }
        }

        return matched;
    }

    /// <summary>
    /// First start: makes the root key from <paramref name="configured"/> or generates one, and
    /// returns the plaintext only when it was generated (to be printed once). Runs under the
    /// start-up lock so two nodes cannot both create one.
    /// </summary>
    public static (string? Generated, string? Error) Bootstrap(DatabaseTarget target, SecretHasher hasher, string? configured)
    {
        if (configured is not null && (configured.Length < 32 || configured.Any(c => c is < (char)0x21 or > (char)0x7e)))
        {
            return (null, "GATEHOUSE_ROOT_KEY must be at least 32 printable characters without spaces");
        }

        if (configured is not null && PresentedCredential.ShapeOf(configured) != CredentialShape.OpaqueSecret)
        {
            // Such a credential is dispatched to the token resolvers, never compared with the root key.
            return (null, "GATEHOUSE_ROOT_KEY must not have the shape of a JWT (eyJ….….…)");
        }

        using var connection = target.OpenConnection();
        using var transaction = DatabaseLock.Begin(connection, target.Provider);
        using (var count = connection.CreateCommand())
        {
            count.Transaction = transaction;
            count.CommandText = "SELECT COUNT(*) FROM root_keys";
            if (Convert.ToInt64(count.ExecuteScalar()) > 0)
            {
                transaction.Commit();
                return (null, null);
            }
        }

        var key = configured ?? ApiKeyFormat.Generate("gkr");
        using (var insert = connection.CreateCommand())
        {
            insert.Transaction = transaction;
            insert.CommandText = "INSERT INTO root_keys (id, hash, start, created_at) VALUES (@id, @hash, @start, @created)";
            DatabaseLock.AddParameter(insert, "@id", Ids.New("rk"));
            DatabaseLock.AddParameter(insert, "@hash", hasher.Hash(key));
            DatabaseLock.AddParameter(insert, "@start", ApiKeyFormat.Start(key));
            // Runs before the service container (and so the injected clock) exists.
            DatabaseLock.AddParameter(insert, "@created", TimeProvider.System.GetUtcNow().UtcDateTime);
            insert.ExecuteNonQuery();
        }

        transaction.Commit();
        return (configured is null ? key : null, null);
    }
}

internal sealed class RootKeyResolver(RootKeyStore store) : ICredentialResolver
{
    /// <summary>An operator may choose any string of 32 printable characters as the root key, so every opaque credential is compared.</summary>
    public CredentialShape Shape => CredentialShape.OpaqueSecret;

    public ValueTask<CredentialOutcome?> ResolveAsync(PresentedCredential credential, HttpContext httpContext, CancellationToken cancellationToken)
    {
        var id = store.Match(credential.Digest);
        return ValueTask.FromResult(id is null
            ? null
            : CredentialOutcome.Success(new Principal(ActorKind.Root, id, null, [Permission.All], AuthenticationMethod.SecretKey)));
    }
}
