using System.Net;
using Gatehouse.Contracts.ApiKeys;
using Gatehouse.Server.Platform.Auth;
using Gatehouse.Server.Platform.Http;

namespace Gatehouse.Server.Features.ApiKeys;

public static class VerifyApiKey
{
    public const long MaxCost = 1_000_000_000;

    /// <summary>The permission verify demands of its caller.</summary>
    public static readonly AccessRequirement Requirement = new("api_keys:verify", RootOnly: false);

    private static readonly Dictionary<string, long> NoCosts = [];

    /// <summary>
    /// Checks the request's fields (422 with every broken field, or 400 for a permission query that
    /// does not parse) and turns it into what the verifier is asked. Nothing is allocated for the
    /// checks of a valid request.
    /// </summary>
    public static ApiError? TryParse(VerifyApiKeyRequest request, out VerifyInput input)
    {
        input = default;
        Validation? validation = null;
        if (string.IsNullOrEmpty(request.Key))
        {
            (validation = new()).Add("key", "required");
        }
        else if (request.Key.Length > 512)
        {
            (validation = new()).Add("key", "must be at most 512 characters");
        }

        if (request.Cost is < 0 or > MaxCost)
        {
            (validation ??= new()).Add("cost", $"must be an integer from 0 to {MaxCost}");
        }

        var costs = request.Ratelimits is { Count: > 0 } ? new Dictionary<string, long>(StringComparer.Ordinal) : NoCosts;
        for (var i = 0; i < (request.Ratelimits?.Count ?? 0); i++)
        {
            var item = request.Ratelimits![i];
            if (item?.Name is not { Length: > 0 and <= 64 } name)
            {
                (validation ??= new()).Add($"ratelimits[{i}].name", "required");
                continue;
            }

            if (item.Cost is < 0 or > MaxCost)
            {
                (validation ??= new()).Add($"ratelimits[{i}].cost", $"must be an integer from 0 to {MaxCost}");
            }

            costs[name] = item.Cost ?? 1;
        }

        IPAddress? ip = null;
        if (request.Ip is not null && !IPAddress.TryParse(request.Ip, out ip))
        {
            (validation ??= new()).Add("ip", "must be an IPv4 or IPv6 address");
        }

        if (validation is not null)
        {
            return validation.ToError();
        }

        PermissionQuery? query = null;
        if (request.Permissions is not null && !PermissionQuery.TryParse(request.Permissions, out query, out var syntax))
        {
            return ApiError.Invalid($"permissions: {syntax!.Message}", new Dictionary<string, object?> { ["field"] = "permissions", ["position"] = syntax.Position });
        }

        input = new VerifyInput(request.Key!, query, request.Cost ?? 1, costs, ip);
        return null;
    }

    /// <summary>The verifying organization: null for root, which may verify any key.</summary>
    public static string? CallerOrg(Principal principal) => principal.IsRoot ? null : principal.OrgId ?? "";
}
