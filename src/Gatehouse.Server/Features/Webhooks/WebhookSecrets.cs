using System.Text;
using Gatehouse.Crypto;

namespace Gatehouse.Server.Features.Webhooks;

/// <summary>Seals signing secrets with the master key, bound to their endpoint id.</summary>
public sealed class WebhookSecrets(MasterKey masterKey)
{
    public const string Purpose = "webhook-secret";

    public byte[] Seal(string endpointId, ReadOnlySpan<byte> secret) => masterKey.Seal(Purpose, secret, Encoding.UTF8.GetBytes(endpointId));

    public byte[] Open(string endpointId, byte[] sealedSecret) => masterKey.Open(Purpose, sealedSecret, Encoding.UTF8.GetBytes(endpointId));
}
