using Gatehouse.Contracts;
using Gatehouse.Contracts.Devices;
using Gatehouse.Server.Platform;
using Gatehouse.Server.Platform.Http;
using Gatehouse.Server.Platform.Storage;
using Gatehouse.Server.Platform.Tenancy;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;

namespace Gatehouse.Server.Features.Devices;

public static class DeviceAppOperations
{
    public const int DefaultSessionTtlSeconds = 86_400;
    public const int DefaultProofMaxAgeSeconds = 60;
    private const int MaxUrls = 20;

    public static async Task<Results<ApiCreated<DeviceAppView>, ApiError>> Create(
        string orgId, CreateDeviceAppRequest request, GatehouseDb db, ChangeSet changes, TimeProvider clock, CancellationToken cancellationToken)
    {
        var validation = new Validation().Required("name", request.Name, 100);
        CheckUrls(validation, request.RedirectUrls, required: true);
        CheckOrigins(validation, request.AllowedOrigins);
        CheckRanges(validation, request.SessionTtlSeconds, request.ProofMaxAgeSeconds);
        CheckWebAuthn(validation, request.Webauthn);
        if (!validation.IsValid)
        {
            return validation.ToError();
        }

        if (await db.Owned<DeviceApp>(orgId).AnyAsync(a => a.Name == request.Name, cancellationToken))
        {
            return ApiError.Conflict($"A device app named '{request.Name}' already exists.");
        }

        var now = clock.GetUtcNow().UtcDateTime;
        var app = new DeviceApp
        {
            Id = Ids.New("dap", clock.GetUtcNow()),
            OrgId = orgId,
            Name = request.Name!,
            RedirectUrls = [.. request.RedirectUrls!.Distinct(StringComparer.Ordinal)],
            AllowedOrigins = [.. (request.AllowedOrigins ?? []).Select(NormalizeOrigin).Distinct(StringComparer.Ordinal)],
            SessionTtlSeconds = request.SessionTtlSeconds ?? DefaultSessionTtlSeconds,
            ProofMaxAgeSeconds = request.ProofMaxAgeSeconds ?? DefaultProofMaxAgeSeconds,
            Webauthn = request.Webauthn ?? WebAuthnMode.Off,
            CreatedAt = now,
            UpdatedAt = now,
        };
        db.Add(app);
        changes.Record(DeviceActions.AppCreate, orgId, app.Id, new { app.Name, app.RedirectUrls, app.AllowedOrigins, app.Webauthn });
        await changes.CommitAsync(cancellationToken);
        return new ApiCreated<DeviceAppView>(DeviceAppView.From(app));
    }

    public static async Task<Results<ApiPage<DeviceAppView>, ApiError>> List(string orgId, [AsParameters] PageParameters paging, GatehouseDb db, CancellationToken cancellationToken)
    {
        if (!paging.TryParse(out var page, out var error))
        {
            return error!;
        }

        var (apps, pagination) = await db.Owned<DeviceApp>(orgId).ToPageAsync(page, cancellationToken);
        return new ApiPage<DeviceAppView>([.. apps.Select(DeviceAppView.From)], pagination);
    }

    public static async Task<Results<ApiOk<DeviceAppView>, ApiError>> Get(string orgId, string appId, GatehouseDb db, CancellationToken cancellationToken)
    {
        var app = await db.Owned<DeviceApp>(orgId).FirstOrDefaultAsync(a => a.Id == appId, cancellationToken);
        return app is null ? ApiError.NotFound("device app") : new ApiOk<DeviceAppView>(DeviceAppView.From(app));
    }

    public static async Task<Results<ApiOk<DeviceAppView>, ApiError>> Update(
        string orgId, string appId, UpdateDeviceAppRequest request, GatehouseDb db, ChangeSet changes, TimeProvider clock, CancellationToken cancellationToken)
    {
        var validation = new Validation();
        if (request.Name is not null)
        {
            validation.Required("name", request.Name, 100);
        }

        CheckUrls(validation, request.RedirectUrls, required: false);
        CheckOrigins(validation, request.AllowedOrigins);
        CheckRanges(validation, request.SessionTtlSeconds, request.ProofMaxAgeSeconds);
        CheckWebAuthn(validation, request.Webauthn);
        if (!validation.IsValid)
        {
            return validation.ToError();
        }

        var app = await db.Owned<DeviceApp>(orgId).FirstOrDefaultAsync(a => a.Id == appId, cancellationToken);
        if (app is null)
        {
            return ApiError.NotFound("device app");
        }

        var changed = new List<string>();
        if (request.Name is { } name && name != app.Name)
        {
            if (await db.Owned<DeviceApp>(orgId).AnyAsync(a => a.Name == name, cancellationToken))
            {
                return ApiError.Conflict($"A device app named '{name}' already exists.");
            }

            app.Name = name;
            changed.Add("name");
        }

        if (request.RedirectUrls is { } urls)
        {
            app.RedirectUrls = [.. urls.Distinct(StringComparer.Ordinal)];
            changed.Add("redirectUrls");
        }

        if (request.AllowedOrigins is { } origins)
        {
            app.AllowedOrigins = [.. origins.Select(NormalizeOrigin).Distinct(StringComparer.Ordinal)];
            changed.Add("allowedOrigins");
        }

        if (request.SessionTtlSeconds is { } ttl)
        {
            app.SessionTtlSeconds = ttl;
            changed.Add("sessionTtlSeconds");
        }

        if (request.ProofMaxAgeSeconds is { } maxAge)
        {
            app.ProofMaxAgeSeconds = maxAge;
            changed.Add("proofMaxAgeSeconds");
        }

        if (request.Webauthn is { } webauthn && webauthn != app.Webauthn)
        {
            app.Webauthn = webauthn;
            changed.Add("webauthn");
        }

        if (changed.Count > 0)
        {
            app.UpdatedAt = clock.GetUtcNow().UtcDateTime;
            changes.Record(DeviceActions.AppUpdate, orgId, app.Id, new { fields = changed });
            await changes.CommitAsync(cancellationToken);
        }

        return new ApiOk<DeviceAppView>(DeviceAppView.From(app));
    }

    public static async Task<Results<ApiOk<Deleted>, ApiError>> Delete(
        string orgId, string appId, GatehouseDb db, ChangeSet changes, TimeProvider clock, CancellationToken cancellationToken)
    {
        var app = await db.Owned<DeviceApp>(orgId).FirstOrDefaultAsync(a => a.Id == appId, cancellationToken);
        if (app is null)
        {
            return ApiError.NotFound("device app");
        }

        var now = clock.GetUtcNow().UtcDateTime;
        db.Remove(app);
        changes.Record(DeviceActions.AppDelete, orgId, app.Id, new { app.Name });
        await changes.RunAsync(async ct =>
        {
            // The app's devices and sessions die with it, in the same transaction as its removal.
            await db.Owned<DeviceSession>(orgId).Where(s => s.AppId == appId && s.EndedAt == null)
                .ExecuteUpdateAsync(u => u.SetProperty(s => s.EndedAt, now).SetProperty(s => s.EndReason, "app_deleted"), ct);
            await db.Owned<Device>(orgId).Where(d => d.AppId == appId && d.RevokedAt == null).ExecuteUpdateAsync(u => u.SetProperty(d => d.RevokedAt, now), ct);
            await db.Owned<DeviceAuthRequest>(orgId).Where(r => r.AppId == appId).ExecuteDeleteAsync(ct);
            await db.Owned<DeviceChallenge>(orgId).Where(c => c.AppId == appId).ExecuteDeleteAsync(ct);
        }, cancellationToken);
        return new ApiOk<Deleted>(new Deleted(app.Id));
    }

    /// <summary>An origin as browsers send it: lower-case scheme and host, no default port, no trailing slash.</summary>
    internal static string NormalizeOrigin(string origin)
    {
        var uri = new Uri(origin);
        return uri.IsDefaultPort ? $"{uri.Scheme}://{uri.Host}" : $"{uri.Scheme}://{uri.Host}:{uri.Port}";
    }

    private static void CheckUrls(Validation validation, List<string>? urls, bool required)
    {
        if (urls is null)
        {
            if (required)
            {
                validation.Add("redirectUrls", "required");
            }

            return;
        }

        if (urls.Count == 0 || urls.Count > MaxUrls)
        {
            validation.Add("redirectUrls", $"must hold 1 to {MaxUrls} URLs");
            return;
        }

        for (var i = 0; i < urls.Count; i++)
        {
            if (urls[i] is not { Length: <= 2048 } url || !Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme is not ("https" or "http")
                || uri.Fragment.Length > 0 || uri.UserInfo.Length > 0)
            {
                validation.Add($"redirectUrls[{i}]", "must be an absolute http(s) URL without a fragment or user info");
            }
        }
    }

    private static void CheckOrigins(Validation validation, List<string>? origins)
    {
        if (origins is null)
        {
            return;
        }

        if (origins.Count > MaxUrls)
        {
            validation.Add("allowedOrigins", $"must hold at most {MaxUrls} origins");
            return;
        }

        for (var i = 0; i < origins.Count; i++)
        {
            if (origins[i] is not { Length: <= 300 } origin || !Uri.TryCreate(origin, UriKind.Absolute, out var uri) || uri.Scheme is not ("https" or "http")
                || uri.PathAndQuery != "/" || origin.EndsWith('/') || uri.UserInfo.Length > 0 || uri.Fragment.Length > 0)
            {
                validation.Add($"allowedOrigins[{i}]", "must be an origin: scheme://host[:port], nothing after it");
            }
        }
    }

    private static void CheckWebAuthn(Validation validation, string? webauthn)
    {
        if (webauthn is not null && !WebAuthnMode.IsKnown(webauthn))
        {
            validation.Add("webauthn", $"must be {WebAuthnMode.Off}, {WebAuthnMode.Preferred} or {WebAuthnMode.Required}");
        }
    }

    private static void CheckRanges(Validation validation, int? sessionTtlSeconds, int? proofMaxAgeSeconds)
    {
        if (sessionTtlSeconds is < 60 or > 2_592_000)
        {
            validation.Add("sessionTtlSeconds", "must be between 60 and 2592000");
        }

        if (proofMaxAgeSeconds is < 5 or > 3600)
        {
            validation.Add("proofMaxAgeSeconds", "must be between 5 and 3600");
        }
    }
}
