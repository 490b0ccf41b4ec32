using System.Text.Json;
using System.Text.RegularExpressions;
using Gatehouse.Contracts.ApiKeys;
using Gatehouse.Crypto;
using Gatehouse.Server.Features.Roles;
using Gatehouse.Server.Platform.Auth;
using Gatehouse.Server.Platform.Http;
using Gatehouse.Server.Platform.Storage;
using Microsoft.EntityFrameworkCore;

namespace Gatehouse.Server.Features.ApiKeys;

/// <summary>The rules a key's fields keep, shared by create, update and rotate.</summary>
internal static partial class ApiKeyRules
{
    public const int MaxMetaBytes = 16 * 1024;
    public const int MaxRateLimits = 16;
    public const int MaxIpRanges = 100;
    public const int MaxRoles = 100;
    public const long MaxDurationMs = 30L * 24 * 3600 * 1000;

    public static void Name(Validation validation, string? name, bool required)
    {
        if (required || name is not null)
        {
            validation.Required("name", name, 200);
        }
    }

    public static void Prefix(Validation validation, string? prefix)
    {
        if (prefix is not null && !ApiKeyFormat.IsValidPrefix(prefix))
        {
            validation.Add("prefix", "must match [a-z0-9]{1,16}");
        }
        else if (ApiKeyFormat.IsReservedPrefix(prefix))
        {
            validation.Add("prefix", $"'{prefix}' is reserved by the platform");
        }
    }

    public static void Roles(Validation validation, IReadOnlyList<string>? roles)
    {
        if (roles is null)
        {
            return;
        }

        if (roles.Count > MaxRoles)
        {
            validation.Add("roles", $"must hold at most {MaxRoles} roles");
            return;
        }

        for (var i = 0; i < roles.Count; i++)
        {
            if (roles[i] is null || !RoleName().IsMatch(roles[i]))
            {
                validation.Add($"roles[{i}]", "must match [a-zA-Z0-9_.:-]{1,100}");
            }
        }
    }

    public static void ExpiresAt(Validation validation, DateTime? expiresAt, DateTime now)
    {
        if (expiresAt is { } at && at <= now)
        {
            validation.Add("expiresAt", "must be in the future");
        }
    }

    public static void OwnerId(Validation validation, string? ownerId) => validation.Optional("ownerId", ownerId, 256);

    /// <summary>The reason a request names an owner other than the calling credential's own.</summary>
    public const string MustBeOwnOwner = "must_be_own";

    /// <summary>
    /// The owner of a key the caller creates: an owned caller (a service account's key, a user's
    /// session or personal key) creates keys of its own owner only, so disabling or deleting that
    /// owner reaches them too; others name any owner, or none.
    /// </summary>
    public static string? OwnerOfNewKey(Validation validation, HttpContext httpContext, string? requested)
    {
        if (httpContext.RequirePrincipal().IssuingOwner is not { } own)
        {
            return requested;
        }

        if (requested is not null && !string.Equals(requested, own, StringComparison.Ordinal))
        {
            validation.Add("ownerId", MustBeOwnOwner);
        }

        return own;
    }

    /// <summary>A PATCH of <c>ownerId</c> by an owned caller may only name that caller's owner.</summary>
    public static void OwnerChange(Validation validation, HttpContext httpContext, Patch<string> ownerId)
    {
        if (ownerId.Present && httpContext.RequirePrincipal().IssuingOwner is { } own && !string.Equals(ownerId.Value, own, StringComparison.Ordinal))
        {
            validation.Add("ownerId", MustBeOwnOwner);
        }
    }

    public static void Meta(Validation validation, Dictionary<string, JsonElement>? meta)
    {
        if (meta is not null && JsonSerializer.SerializeToUtf8Bytes(meta).Length > MaxMetaBytes)
        {
            validation.Add("meta", $"must be at most {MaxMetaBytes} bytes of JSON");
        }
    }

    public static void Remaining(Validation validation, long? remaining)
    {
        if (remaining is < 0)
        {
            validation.Add("remaining", "must be an integer ≥ 0");
        }
    }

    public static void Refill(Validation validation, KeyRefill? refill)
    {
        if (refill is null)
        {
            return;
        }

        if (refill.Interval is not ("daily" or "monthly"))
        {
            validation.Add("refill.interval", "must be daily or monthly");
        }

        if (refill.Amount is null)
        {
            validation.Add("refill.amount", "required");
        }
        else if (refill.Amount < 0)
        {
            validation.Add("refill.amount", "must be an integer ≥ 0");
        }

        if (refill.Day is not null)
        {
            if (refill.Interval != "monthly")
            {
                validation.Add("refill.day", "is only allowed with interval monthly");
            }
            else if (refill.Day is < 1 or > 31)
            {
                validation.Add("refill.day", "must be from 1 to 31");
            }
        }
    }

    public static void RateLimits(Validation validation, IReadOnlyList<KeyRateLimit>? limits)
    {
        if (limits is null)
        {
            return;
        }

        if (limits.Count > MaxRateLimits)
        {
            validation.Add("ratelimits", $"must hold at most {MaxRateLimits} limits");
            return;
        }

        var names = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < limits.Count; i++)
        {
            var limit = limits[i];
            if (limit is null)
            {
                validation.Add($"ratelimits[{i}]", "required");
                continue;
            }

            if (limit.Name is null || !RateLimitName().IsMatch(limit.Name))
            {
                validation.Add($"ratelimits[{i}].name", "must match [a-zA-Z0-9_.:-]{1,64}");
            }
            else if (!names.Add(limit.Name))
            {
                validation.Add($"ratelimits[{i}].name", "must be unique");
            }

            if (limit.Limit is null or < 1 or > 1_000_000_000)
            {
                validation.Add($"ratelimits[{i}].limit", "must be an integer from 1 to 1000000000");
            }

            if (limit.DurationMs is null or < 1000 or > MaxDurationMs)
            {
                validation.Add($"ratelimits[{i}].durationMs", $"must be an integer from 1000 to {MaxDurationMs}");
            }
        }
    }

    public static void IpAllowlist(Validation validation, IReadOnlyList<string>? ranges)
    {
        if (ranges is null)
        {
            return;
        }

        if (ranges.Count > MaxIpRanges)
        {
            validation.Add("ipAllowlist", $"must hold at most {MaxIpRanges} ranges");
            return;
        }

        for (var i = 0; i < ranges.Count; i++)
        {
            if (!IpRanges.TryParse(ranges[i], out _))
            {
                validation.Add($"ipAllowlist[{i}]", "must be an IPv4 or IPv6 address or CIDR range with no host bits set (10.0.0.0/8, 2001:db8::/32)");
            }
        }
    }

    /// <summary>Roles are referenced by name; every name must exist in the organization.</summary>
    public static async Task MissingRolesAsync(Validation validation, GatehouseDb db, string orgId, IReadOnlyList<string>? roles, CancellationToken cancellationToken)
    {
        if (roles is null || roles.Count == 0 || roles.Count > MaxRoles)
        {
            return;
        }

        var existing = await new RoleDirectory(db).ExistingAsync(orgId, roles, cancellationToken);
        for (var i = 0; i < roles.Count; i++)
        {
            // A malformed name already has its error from Roles().
            if (roles[i] is not null && RoleName().IsMatch(roles[i]) && !existing.Contains(roles[i], StringComparer.Ordinal))
            {
                validation.Add($"roles[{i}]", "no role with this name exists in the organization");
            }
        }
    }

    /// <summary>
    /// What <paramref name="key"/> (as it stands in memory, saved or not) can do: its permissions with
    /// its roles', and its restrictions — the terms <see cref="Escalation"/> compares with the caller's.
    /// </summary>
    public static async Task<Grant> GrantAsync(GatehouseDb db, ApiKey key, CancellationToken cancellationToken)
    {
        var permissions = new HashSet<string>(key.Permissions, StringComparer.Ordinal);
        permissions.UnionWith(await new RoleDirectory(db).ExpandAsync(key.OrgId, key.Roles, cancellationToken));
        return new Grant(permissions)
        {
            ExpiresAt = key.ExpiresAt,
            IpAllowlist = [.. key.IpAllowlist.Select(IpRanges.Parse)],
            Enabled = key.Enabled,
            Remaining = key.Remaining,
            Refill = key.Refill,
            RateLimits = [.. key.Ratelimits.Select(r => (r.Name ?? "", r.Limit ?? 0, r.DurationMs ?? 0))],
        };
    }

    /// <summary>Reads a PATCH field that may be absent (keep), null (clear) or a value.</summary>
    public static bool TryRead<T>(Validation validation, string field, JsonElement element, out Patch<T> patch)
    {
        patch = default;
        if (element.ValueKind == JsonValueKind.Undefined)
        {
            return true;
        }

        if (element.ValueKind == JsonValueKind.Null)
        {
            patch = new Patch<T>(true, default);
            return true;
        }

        try
        {
            patch = new Patch<T>(true, element.Deserialize<T>(JsonDefaults.Options));
            return true;
        }
        catch (JsonException ex) when (JsonDefaults.RejectedMember(ex) is { } rejected)
        {
            throw JsonDefaults.Nest(field, ex, rejected); // 400 naming field.member, as a typed body would
        }
        catch (JsonException)
        {
            validation.Add(field, $"must be {Describe(typeof(T))} or null");
            return false;
        }
    }

    private static string Describe(Type type) =>
        type == typeof(DateTime) ? "an ISO-8601 timestamp"
        : type == typeof(long) ? "an integer"
        : type == typeof(string) ? "a string"
        : "an object";

    [GeneratedRegex("^[a-zA-Z0-9_.:-]{1,100}$")]
    private static partial Regex RoleName();

    [GeneratedRegex("^[a-zA-Z0-9_.:-]{1,64}$")]
    private static partial Regex RateLimitName();
}

/// <summary>A PATCH field: <see cref="Present"/> false means "leave as is"; present with a null value means "clear".</summary>
internal readonly record struct Patch<T>(bool Present, T? Value);
