using System.Collections.Concurrent;
using Gatehouse.Crypto;
using Gatehouse.Server.Platform.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.IdentityModel.Tokens;

namespace Gatehouse.Server.Features.OAuth;

/// <summary>
/// What the token endpoint and the token resolver need to know of a client, read once from the
/// database and kept in memory: a token request costs a dictionary lookup and a keyed hash, not a
/// query. Every change of a client evicts its entry after the change commits.
/// </summary>
public sealed record ClientRecord(
    string Id, string OrgId, IReadOnlyList<string> Scopes, int TokenTtlSeconds, string AuthMethod, string SigningAlgorithm,
    byte[]? SecretHash, byte[]? PreviousSecretHash, DateTime? PreviousSecretExpiresAt, JsonWebKeySet? Jwks, string? JwksUri,
    bool Live, int TokenGeneration, string? OwnerId)
{
    /// <summary>Constant time: the presented secret's keyed hash against the current one and, during a grace, the previous one.</summary>
    public bool SecretMatches(ReadOnlySpan<byte> presentedHash, DateTime now)
    {
        var current = SecretHash is not null && SecretComparison.AreEqual(presentedHash, SecretHash);
        var previous = PreviousSecretHash is not null && PreviousSecretExpiresAt > now && SecretComparison.AreEqual(presentedHash, PreviousSecretHash);
        return current | previous;
    }

    /// <summary>Whether a token of <paramref name="generation"/> may still be used: the client is live and has not been disabled since.</summary>
    public bool Accepts(int generation) => Live && generation == TokenGeneration;
}

public sealed class OAuthClientCache(IServiceScopeFactory scopes)
{
    private const int MaxEntries = 100_000;
    private readonly ConcurrentDictionary<string, ClientRecord> _clients = new(StringComparer.Ordinal);

    /// <summary>Bumped by every eviction: a load that began before it does not put a stale record back.</summary>
    private long _generation;

    public async ValueTask<ClientRecord?> GetAsync(string clientId, CancellationToken cancellationToken)
    {
        if (_clients.TryGetValue(clientId, out var cached))
        {
            return cached;
        }

        if (!clientId.StartsWith("ocl_", StringComparison.Ordinal) || clientId.Length > 64)
        {
            return null;
        }

        var generation = Interlocked.Read(ref _generation);
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<GatehouseDb>();
        var client = await db.Set<OAuthClient>().AsNoTracking().FirstOrDefaultAsync(c => c.Id == clientId, cancellationToken);
        if (client is null)
        {
            return null;
        }

        var record = ToRecord(client);
        if (_clients.Count >= MaxEntries)
        {
            _clients.Clear();
        }

        if (Interlocked.Read(ref _generation) == generation)
        {
            _clients[clientId] = record;
        }

        return record;
    }

    public void Evict(string clientId)
    {
        Interlocked.Increment(ref _generation);
        _clients.TryRemove(clientId, out _);
    }

    public void EvictOrg(string orgId)
    {
        Interlocked.Increment(ref _generation);
        foreach (var (id, record) in _clients)
        {
            if (record.OrgId == orgId)
            {
                _clients.TryRemove(id, out _);
            }
        }
    }

    /// <summary>Forgets every client (this node may have missed other nodes' changes).</summary>
    public void Clear()
    {
        Interlocked.Increment(ref _generation);
        _clients.Clear();
    }

    /// <summary>Evicts the client once <paramref name="changes"/> has committed.</summary>
    public void EvictAfterCommit(ChangeSet changes, string clientId) => changes.AfterCommit(() =>
    {
        Evict(clientId);
        return Task.CompletedTask;
    });

    private static ClientRecord ToRecord(OAuthClient client) => new(
        client.Id, client.OrgId, client.Scopes, client.TokenTtlSeconds, client.AuthMethod, client.SigningAlgorithm,
        client.SecretHash is null ? null : Convert.FromHexString(client.SecretHash),
        client.PreviousSecretHash is null ? null : Convert.FromHexString(client.PreviousSecretHash),
        client.PreviousSecretExpiresAt, client.Jwks is null ? null : new JsonWebKeySet(client.Jwks), client.JwksUri,
        client.IsLive, client.TokenGeneration, client.OwnerId);
}
