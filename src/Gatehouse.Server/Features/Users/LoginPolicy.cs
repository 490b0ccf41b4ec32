using System.Net;
using Gatehouse.Server.Platform.Composition;

namespace Gatehouse.Server.Features.Users;

/// <summary>
/// A rule another feature adds to password login (the gateways' geo-fence): asked once the password
/// is proven, for users of an organization. A refusal is answered <c>403 FORBIDDEN</c> with its
/// reason and audited as a failed login; nothing is said before the password is right.
/// </summary>
[FeatureApi]
public interface ILoginPolicy
{
    /// <summary>Null when the login may go on; otherwise the reason (<c>geo_fence</c>) and details to show.</summary>
    Task<LoginRefusal?> CheckAsync(string orgId, string userId, IPAddress? clientIp, CancellationToken cancellationToken);
}

/// <summary>Why a login policy refused.</summary>
[FeatureApi]
public sealed record LoginRefusal(string Reason, string Message, IReadOnlyDictionary<string, object?> Details);
