using System.Globalization;
using System.Net;
using Gatehouse.Contracts.Content;
using Gatehouse.Server.Platform;
using Gatehouse.Server.Platform.Storage;
using Gatehouse.Server.Platform.Tenancy;
using Microsoft.EntityFrameworkCore;

namespace Gatehouse.Server.Features.Content;

/// <summary>How the server shows content entities; the shapes are in the contracts.</summary>
internal static class ContentViews
{
    public static StorageConfigView View(StorageConfig c) => new(c.Id, c.OrgId, c.Name, c.Provider, c.Bucket, c.Region, c.Endpoint, c.CredentialId, c.Prefix, c.PathStyle, c.CreatedAt, c.UpdatedAt);

    public static FileView View(ContentFile f) => new(f.Id, f.Name, f.Size, f.Sha256, f.ContentType, f.CreatedAt);

    public static DrmRuleView View(DrmRule r) => new(r.Id, r.OrgId, r.Name, r.NotBefore, r.ExpiresAt, r.MaxOpens, r.MaxDownloads, r.AllowDownload, r.AllowPrint, r.AllowCopy,
        r.Watermark, r.AllowedCountries, r.AllowedIpRanges, r.RequireConsent, r.CreatedAt, r.UpdatedAt);

    public static ContactView View(Contact c) => new(c.Id, c.Email, c.Name, c.Company, c.Tags, c.CreatedAt, c.UpdatedAt);

    public static TagView View(ContentTag t) => new(t.Id, t.Name, t.Color, t.CreatedAt, t.UpdatedAt);

    public static ConsentView View(ConsentRecord c) => new(c.Id, c.Seq, c.Subject, c.Purpose, c.PolicyVersion, c.Granted, c.CreatedAt, c.Hash);

    public static ContentEventView View(ContentEvent e) => new(e.Id, e.Type, e.ContainerId, e.FileId, e.ShareId, e.Recipient, e.Reason, e.Ip, e.Country, e.DownloadId, e.CreatedAt);

    public static ClientErrorView View(ClientError e) => new(e.Id, e.Code, e.Message, e.Source, e.ContainerId, e.Details, e.CreatedAt);

    public static CustomizationView View(Customization? c) =>
        c is null ? new(null, null, null, null, null) : new(c.Settings.LogoUrl, c.Settings.Colors, c.Settings.EmailFrom, c.Settings.ViewerTexts, c.UpdatedAt);
}

/// <summary>Content events (the org's feed and each container's access log) and the daily usage counters.</summary>
internal static class ContentLedger
{
    public static ContentEvent Event(GatehouseDb db, TimeProvider clock, string orgId, string type, string? containerId = null, string? fileId = null, string? shareId = null,
        string? recipient = null, string? reason = null, string? ip = null, string? country = null, string? downloadId = null)
    {
        var now = clock.GetUtcNow();
        var row = new ContentEvent
        {
            Id = Ids.New("cev", now),
            OrgId = orgId,
            Type = type,
            ContainerId = containerId,
            FileId = fileId,
            ShareId = shareId,
            Recipient = recipient,
            Reason = reason,
            Ip = ip,
            Country = country,
            DownloadId = downloadId,
            CreatedAt = now.UtcDateTime,
        };
        db.Add(row);
        return row;
    }

    /// <summary>
    /// Adds to today's counters and sets today's stored total, in the caller's transaction. An
    /// upsert (one statement in both databases), so concurrent opens each count once.
    /// </summary>
    public static async Task CountAsync(GatehouseDb db, TimeProvider clock, string orgId, long uploads = 0, long opens = 0, long downloads = 0, CancellationToken cancellationToken = default)
    {
        var day = clock.GetUtcNow().UtcDateTime.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
        var stored = await db.Owned<ContentFile>(orgId).SumAsync(f => (long?)f.Size, cancellationToken) ?? 0;
        await db.Database.ExecuteSqlAsync(
            $"""
            INSERT INTO content_usage_days (org_id, day, storage_bytes, uploads, opens, downloads) VALUES ({orgId}, {day}, {stored}, {uploads}, {opens}, {downloads})
            ON CONFLICT (org_id, day) DO UPDATE SET storage_bytes = {stored}, uploads = content_usage_days.uploads + {uploads},
                opens = content_usage_days.opens + {opens}, downloads = content_usage_days.downloads + {downloads}
            """, cancellationToken);
    }
}

/// <summary>
/// Country of an address from operator-supplied data: a CSV of <c>network,country</c> lines, read
/// once. The most specific matching network wins. No data, or no match, means no country.
/// </summary>
public sealed class CountryLookup
{
    private readonly Lazy<IReadOnlyList<(IPNetwork Network, string Country)>> _ranges;

    public CountryLookup(string? csvPath) => _ranges = new(() => Load(csvPath));

    public string? CountryOf(IPAddress? address)
    {
        if (address is null)
        {
            return null;
        }

        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        string? best = null;
        var bestPrefix = -1;
        foreach (var (network, country) in _ranges.Value)
        {
            if (network.PrefixLength > bestPrefix && network.Contains(address))
            {
                best = country;
                bestPrefix = network.PrefixLength;
            }
        }

        return best;
    }

    private static List<(IPNetwork, string)> Load(string? csvPath)
    {
        var ranges = new List<(IPNetwork, string)>();
        if (string.IsNullOrWhiteSpace(csvPath))
        {
            return ranges;
        }

        foreach (var line in File.ReadLines(csvPath))
        {
            var parts = line.Split(',', StringSplitOptions.TrimEntries);
            if (parts.Length >= 2 && IPNetwork.TryParse(parts[0], out var network) && parts[1].Length == 2)
            {
                ranges.Add((network, parts[1].ToUpperInvariant()));
            }
        }

        return ranges;
    }
}
