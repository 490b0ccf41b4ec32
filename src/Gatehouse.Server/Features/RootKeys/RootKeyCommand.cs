using Gatehouse.Crypto;
using Gatehouse.Server.Platform;
using Gatehouse.Server.Platform.Auth;
using Gatehouse.Server.Platform.Storage;
using Microsoft.EntityFrameworkCore;

namespace Gatehouse.Server.Features.RootKeys;

/// <summary>
/// <c>Gatehouse.Server root-key list|create|rotate|revoke|recover</c>: runs offline against the
/// configured database with the master key (the same settings as the server), writes each change
/// with its audit event in one transaction, and prints a new key once, to standard output only.
/// Running servers load root keys at start: restart them to apply a change.
/// </summary>
public static class RootKeyCommand
{
    public const string Verb = "root-key";
    private static readonly (string Type, string Id) Operator = ("system", "root-key-command");

    public const string Usage = """
        usage: Gatehouse.Server root-key <command>
          list            the root keys: id, first characters, created, revoked
          create          add a root key (printed once); the existing ones stay valid
          rotate <id>     add a root key (printed once) and revoke <id> in the same transaction
          revoke <id>     revoke a root key; the last valid one cannot be revoked (create another first)
          recover         revoke every root key and create one (printed once): when the only key is lost
        The settings (appsettings.json, GATEHOUSE_CONFIG, GATEHOUSE_*) are the server's; restart running servers afterwards.
        """;

    public static bool Matches(string[] args) => args.Length > 0 && args[0] == Verb;

    /// <summary>Runs the command in <paramref name="args"/> (after the verb) on a composed but not listening server.</summary>
    public static async Task<int> RunAsync(IServiceProvider services, string[] args, TextWriter output, TextWriter error)
    {
        await using var scope = services.CreateAsyncScope();
        var provider = scope.ServiceProvider;
        var db = provider.GetRequiredService<GatehouseDb>();
        var changes = provider.GetRequiredService<ChangeSet>();
        var hasher = provider.GetRequiredService<SecretHasher>();
        var clock = provider.GetRequiredService<TimeProvider>();
        switch (args)
        {
            case ["list"]:
                foreach (var key in await db.Set<RootKey>().AsNoTracking().OrderBy(k => k.CreatedAt).ToListAsync())
                {
                    await output.WriteLineAsync($"{key.Id}\t{key.Start}…\tcreated {key.CreatedAt:yyyy-MM-ddTHH:mm:ssZ}\t{(key.RevokedAt is { } revoked ? $"revoked {revoked:yyyy-MM-ddTHH:mm:ssZ}" : "valid")}");
                }

                return 0;

            case ["create"]:
                {
                    var created = await changes.RunAsync(async _ =>
                    {
                        var (entity, plaintext) = NewKey(hasher, clock);
                        db.Add(entity);
                        changes.Record(RootKeyActions.Create, null, entity.Id, new { start = entity.Start }, Operator);
                        return await Task.FromResult((entity.Id, plaintext));
                    }, CancellationToken.None);
                    await output.WriteLineAsync($"Root key {created.Id}: {created.plaintext}");
                    return 0;
                }

            case ["rotate", var id]:
                {
                    var rotated = await changes.RunAsync(async ct =>
                    {
                        var old = await db.Set<RootKey>().FirstOrDefaultAsync(k => k.Id == id && k.RevokedAt == null, ct);
                        if (old is null)
                        {
                            return ((string Id, string Plaintext)?)null;
                        }

                        var (entity, plaintext) = NewKey(hasher, clock);
                        db.Add(entity);
                        old.RevokedAt = clock.GetUtcNow().UtcDateTime;
                        changes.Record(RootKeyActions.Create, null, entity.Id, new { start = entity.Start, replaces = old.Id }, Operator);
                        changes.Record(RootKeyActions.Revoke, null, old.Id, new { replacedBy = entity.Id }, Operator);
                        return (entity.Id, plaintext);
                    }, CancellationToken.None);
                    if (rotated is not { } result)
                    {
                        await error.WriteLineAsync($"gatehouse: no valid root key {id} (see root-key list)");
                        return 1;
                    }

                    await output.WriteLineAsync($"Root key {result.Id}: {result.Plaintext} (replaces {id}, now revoked)");
                    return 0;
                }

            case ["revoke", var id]:
                {
                    var problem = await changes.RunAsync(async ct =>
                    {
                        var key = await db.Set<RootKey>().FirstOrDefaultAsync(k => k.Id == id && k.RevokedAt == null, ct);
                        if (key is null)
                        {
                            return $"no valid root key {id} (see root-key list)";
                        }

                        if (await db.Set<RootKey>().CountAsync(k => k.RevokedAt == null, ct) == 1)
                        {
                            return $"{id} is the last valid root key: create another first, or use recover";
                        }

                        key.RevokedAt = clock.GetUtcNow().UtcDateTime;
                        changes.Record(RootKeyActions.Revoke, null, key.Id, null, Operator);
                        return null;
                    }, CancellationToken.None);
                    if (problem is not null)
                    {
                        await error.WriteLineAsync($"gatehouse: {problem}");
                        return 1;
                    }

                    await output.WriteLineAsync($"Root key {id} revoked");
                    return 0;
                }

            case ["recover"]:
                {
                    var recovered = await changes.RunAsync(async ct =>
                    {
                        var now = clock.GetUtcNow().UtcDateTime;
                        var valid = await db.Set<RootKey>().Where(k => k.RevokedAt == null).ToListAsync(ct);
                        foreach (var key in valid)
                        {
                            key.RevokedAt = now;
                        }

                        var (entity, plaintext) = NewKey(hasher, clock);
                        db.Add(entity);
                        changes.Record(RootKeyActions.Recover, null, entity.Id, new { start = entity.Start, revoked = valid.Select(k => k.Id).ToList() }, Operator);
                        return (entity.Id, plaintext, Revoked: valid.Count);
                    }, CancellationToken.None);
                    await output.WriteLineAsync($"Root key {recovered.Id}: {recovered.plaintext} ({recovered.Revoked} earlier root keys revoked)");
                    return 0;
                }

            default:
                await error.WriteLineAsync(Usage);
                return 2;
        }
    }

    private static (RootKey Entity, string Plaintext) NewKey(SecretHasher hasher, TimeProvider clock)
    {
        var plaintext = ApiKeyFormat.Generate("gkr");
        return (new RootKey { Id = Ids.New("rk"), Hash = hasher.Hash(plaintext), Start = ApiKeyFormat.Start(plaintext), CreatedAt = clock.GetUtcNow().UtcDateTime }, plaintext);
    }
}
