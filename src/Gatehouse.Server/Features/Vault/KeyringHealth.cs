using Gatehouse.Contracts.Health;
using Gatehouse.Server.Platform.Observability;

namespace Gatehouse.Server.Features.Vault;

/// <summary>
/// The master key is loaded and the server secrets it protects open with it. Degraded while the
/// data-key re-encryption job on this node found records it cannot open (their ids, never contents).
/// </summary>
public sealed class KeyringHealth(Platform.Hosting.ServerKeys keys, DataKeyReencryption reencryption) : IHealthComponent
{
    public string Name => "keyring";

    public Task<ComponentHealth> CheckAsync(CancellationToken cancellationToken)
    {
        var unreadable = reencryption.Unreadable;
        return Task.FromResult(new ComponentHealth(unreadable.Count == 0 ? ComponentHealth.Healthy : ComponentHealth.Degraded, null, new Dictionary<string, object?>
        {
            ["masterKeyFingerprint"] = keys.MasterKey.Fingerprint,
            ["unreadableRecords"] = unreadable.Count,
            ["unreadableSample"] = unreadable.Take(20).ToList(),
        }));
    }
}
