using System.Text;
using System.Text.RegularExpressions;
using Gatehouse.Contracts.Orgs;
using Gatehouse.Server.Platform.Http;

namespace Gatehouse.Server.Features.Orgs;

/// <summary>The rules an organization's fields must keep, shared by create and update.</summary>
internal static partial class OrgRules
{
    public static void CheckSettings(Validation validation, OrgSettings? settings)
    {
        if (settings is null)
        {
            return;
        }

        if (settings.KeyPrefix is { } prefix && !KeyPrefix().IsMatch(prefix))
        {
            validation.Add("settings.keyPrefix", "must match [a-z0-9]{1,16}");
        }
        else if (Crypto.ApiKeyFormat.IsReservedPrefix(settings.KeyPrefix))
        {
            validation.Add("settings.keyPrefix", $"'{settings.KeyPrefix}' is reserved by the platform");
        }

        if (settings.RateLimits is { } limits)
        {
            CheckPositive(validation, "settings.rateLimits.perMinute", limits.PerMinute);
            CheckPositive(validation, "settings.rateLimits.perFiveMinutes", limits.PerFiveMinutes);
            CheckPositive(validation, "settings.rateLimits.perDay", limits.PerDay);
            CheckPositive(validation, "settings.rateLimits.adminPerMinute", limits.AdminPerMinute);
            CheckPositive(validation, "settings.rateLimits.verifyPerMinute", limits.VerifyPerMinute);
        }
    }

    /// <summary>"Acme Corp." → "acme-corp"; empty when the name has no letters or digits.</summary>
    public static string SlugFromName(string name)
    {
        var builder = new StringBuilder();
        foreach (var c in name.Normalize(NormalizationForm.FormD).ToLowerInvariant())
        {
            if (c is >= 'a' and <= 'z' or >= '0' and <= '9')
            {
                builder.Append(c);
            }
            else if (builder.Length > 0 && builder[^1] != '-' && char.GetUnicodeCategory(c) != System.Globalization.UnicodeCategory.NonSpacingMark)
            {
                builder.Append('-');
            }
        }

        var slug = builder.ToString().Trim('-');
        return slug.Length > 48 ? slug[..48].Trim('-') : slug;
    }

    private static void CheckPositive(Validation validation, string field, int? value)
    {
        if (value is <= 0)
        {
            validation.Add(field, "must be a positive integer");
        }
    }

    [GeneratedRegex("^[a-z0-9]{1,16}$")]
    private static partial Regex KeyPrefix();
}
