using System.Net;
using System.Security.Cryptography;
using System.Text;
using Gatehouse.Contracts;
using Gatehouse.Contracts.OAuth;
using Gatehouse.Contracts.Users;
using Gatehouse.Server.Features.Roles;
using Gatehouse.Server.Features.Vault;
using Gatehouse.Server.Platform.Auth;
using Gatehouse.Server.Platform.Http;
using Gatehouse.Server.Platform.Storage;
using Gatehouse.Server.Platform.Tenancy;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;

namespace Gatehouse.Server.Features.Users;

/// <summary>The services a change of single sign-on settings needs, injected as one parameter.</summary>
public sealed class SsoChangeServices(GatehouseDb db, ChangeSet changes, VaultKeyring keyring, UsersOptions options, TimeProvider clock)
{
    public GatehouseDb Db => db;
    public ChangeSet Changes => changes;
    public VaultKeyring Keyring => keyring;
    public UsersOptions Options => options;
    public TimeProvider Clock => clock;
}

/// <summary>GET / PUT / DELETE of an organization's OpenID Connect provider (docs/sso.md).</summary>
public static class SsoOperations
{
    public const string DefaultRoleClaim = "groups";
    public static readonly IReadOnlyList<string> DefaultScopes = ["openid", "email", "profile"];
    private const int MaxMappings = 100;
    private const int MaxScopes = 20;

    public static async Task<Results<ApiOk<SsoSettingsView>, ApiError>> Get(
        string orgId, HttpContext httpContext, GatehouseDb db, UsersOptions options, TimeProvider clock, CancellationToken cancellationToken)
    {
        var settings = await db.Owned<SsoSettings>(orgId).AsNoTracking().FirstOrDefaultAsync(cancellationToken);
        return settings is null ? ApiError.NotFound("single sign-on settings") : new ApiOk<SsoSettingsView>(View(settings, httpContext, options, clock.GetUtcNow().UtcDateTime));
    }

    public static async Task<Results<ApiOk<SsoSettingsView>, ApiError>> Put(
        string orgId, PutSsoSettingsRequest request, HttpContext httpContext, SsoChangeServices services, CancellationToken cancellationToken)
    {
        var db = services.Db;
        var existing = await db.Owned<SsoSettings>(orgId).FirstOrDefaultAsync(cancellationToken);
        var validation = new Validation().Required("clientId", request.ClientId, 512).Permissions("defaultPermissions", request.DefaultPermissions, required: false);
        CheckIssuer(validation, request.Issuer);
        var method = request.ClientAuthMethod ?? existing?.ClientAuthMethod ?? SsoClientAuth.ClientSecretBasic;
        if (!SsoClientAuth.All.Contains(method, StringComparer.Ordinal))
        {
            validation.Add("clientAuthMethod", $"must be one of {string.Join(", ", SsoClientAuth.All)}");
        }
        else if (method == SsoClientAuth.PrivateKeyJwt)
        {
            if (request.ClientSecret is not null)
            {
                validation.Add("clientSecret", "is not used with private_key_jwt: Gatehouse signs its requests with its own key instead");
            }
        }
        else
        {
            if (request.RotateClientKey == true)
            {
                validation.Add("rotateClientKey", "applies only to clientAuthMethod private_key_jwt");
            }

            // A secret is needed whenever none is kept: on creation, and when leaving private_key_jwt.
            if (request.ClientSecret is not null || existing is null || existing.SealedClientSecret.Length == 0)
            {
                validation.Required("clientSecret", request.ClientSecret, 1024);
            }
        }

        if (request.RoleClaim is not null)
        {
            validation.Required("roleClaim", request.RoleClaim, 100);
        }

        CheckScopes(validation, request.Scopes);
        await CheckRolesAsync(validation, db, orgId, request, cancellationToken);
        if (!validation.IsValid)
        {
            return validation.ToError();
        }

        var mappings = (request.RoleMappings ?? []).Select(m => new SsoRoleMapping { Value = m.Value, Role = m.Role }).Distinct().ToList();
        var defaultRoles = (request.DefaultRoles ?? []).Distinct(StringComparer.Ordinal).ToList();
        var defaultPermissions = (request.DefaultPermissions ?? []).Distinct(StringComparer.Ordinal).ToList();

        // Whoever saves the settings decides what strangers become at their first login: every role
        // and permission the settings can give, before and after, must be the caller's own.
        var roles = new RoleDirectory(db);
        var grants = new List<IReadOnlyCollection<string>>
        {
            defaultPermissions,
            await roles.ExpandAsync(orgId, [.. defaultRoles.Concat(mappings.Select(m => m.Role!)).Distinct(StringComparer.Ordinal)], cancellationToken),
        };
        if (existing is not null)
        {
            grants.Add(existing.DefaultPermissions);
            grants.Add(await roles.ExpandAsync(orgId, [.. existing.GrantableRoles], cancellationToken));
        }

        if (Escalation.Holds(httpContext, grants) is { } forbidden)
        {
            return forbidden;
        }

        var caller = httpContext.RequirePrincipal();
        var now = services.Clock.GetUtcNow().UtcDateTime;
        var issuer = request.Issuer!.Trim();
        var scopes = NormalizeScopes(request.Scopes);
        var secretChanged = request.ClientSecret is not null;
        var usesKey = method == SsoClientAuth.PrivateKeyJwt;
        existing?.PromoteNextClientKey(now);
        var keyChanged = usesKey && (existing?.SealedClientKey is null || request.RotateClientKey == true);
        var methodChanged = existing is not null && existing.ClientAuthMethod != method;
        var settings = existing ?? new SsoSettings
        {
            OrgId = orgId,
            Issuer = issuer,
            ClientId = request.ClientId!,
            SealedClientSecret = [],
            RoleClaim = DefaultRoleClaim,
            CreatedAt = now,
        };
        settings.Enabled = request.Enabled ?? true;
        settings.Issuer = issuer;
        settings.ClientId = request.ClientId!.Trim();
        settings.Scopes = scopes;
        settings.RoleClaim = request.RoleClaim?.Trim() ?? DefaultRoleClaim;
        settings.RoleMappings = mappings;
        settings.DefaultRoles = defaultRoles;
        settings.DefaultPermissions = defaultPermissions;
        settings.ConfiguredWith = caller.IsRoot ? [Permission.All] : [.. caller.Permissions.Order(StringComparer.Ordinal)];
        settings.ClientAuthMethod = method;
        settings.UpdatedAt = now;
        string? newKeyId = null;
        await services.Changes.RunAsync(async ct =>
        {
            if (secretChanged || keyChanged)
            {
                await DataKeyLock.ForSealingAsync(db, orgId, ct);
                var ring = await services.Keyring.ForOrgAsync(db, orgId, ct);
                if (secretChanged)
                {
                    settings.SealedClientSecret = ring.Seal(Encoding.UTF8.GetBytes(request.ClientSecret!), SsoSecrets.Aad(orgId));
                }
                else
                {
                    var (pkcs8, jwk) = SsoClientKeys.Generate();
                    var sealedKey = ring.Seal(pkcs8, SsoSecrets.KeyAad(orgId));
                    CryptographicOperations.ZeroMemory(pkcs8);
                    newKeyId = jwk.Kid;
                    var lead = TimeSpan.FromMinutes(services.Options.SsoClientKeyLeadMinutes);
                    if (settings.SealedClientKey is null || lead == TimeSpan.Zero)
                    {
                        // The first key (no provider knows one yet), or a rotation asked to sign at once.
                        (settings.SealedClientKey, settings.ClientPublicJwk) = (sealedKey, SsoClientKeys.Serialize(jwk));
                        settings.DropNextClientKey();
                    }
                    else
                    {
                        // Published now, signing only once providers have had time to fetch it.
                        (settings.SealedNextClientKey, settings.NextClientPublicJwk) = (sealedKey, SsoClientKeys.Serialize(jwk));
                        settings.NextClientKeyActivatesAt = now + lead;
                    }
                }

                settings.KeyVersion = (int)ring.CurrentVersion;
            }

            // One credential at a time: the one the method does not use is dropped, so nothing unused stays sealed.
            if (usesKey)
            {
                settings.SealedClientSecret = [];
            }
            else
            {
                (settings.SealedClientKey, settings.ClientPublicJwk) = (null, null);
                settings.DropNextClientKey();
            }

            if (existing is null)
            {
                db.Add(settings);
            }

            // Logins in flight were started under the old settings: they end here.
            await db.Owned<SsoLoginState>(orgId).Where(s => s.UsedAt == null).ExecuteUpdateAsync(u => u.SetProperty(s => s.UsedAt, now), ct);
            services.Changes.Record(SsoActions.Update, orgId, orgId, new
            {
                settings.Enabled,
                settings.Issuer,
                settings.ClientId,
                settings.Scopes,
                settings.RoleClaim,
                settings.RoleMappings,
                settings.DefaultRoles,
                settings.DefaultPermissions,
                clientAuthMethod = method,
                clientAuthMethodChanged = methodChanged,
                clientSecretChanged = secretChanged,
                clientKeyId = newKeyId,
                clientKeyRotatesAt = settings.NextClientKeyActivatesAt,
                created = existing is null,
            });
        }, cancellationToken);
        return new ApiOk<SsoSettingsView>(View(settings, httpContext, services.Options, now));
    }

    public static async Task<Results<ApiOk<Deleted>, ApiError>> Delete(string orgId, HttpContext httpContext, SsoChangeServices services, CancellationToken cancellationToken)
    {
        var db = services.Db;
        var settings = await db.Owned<SsoSettings>(orgId).FirstOrDefaultAsync(cancellationToken);
        if (settings is null)
        {
            return ApiError.NotFound("single sign-on settings");
        }

        // Touching settings needs what they give, as for a role (decision 0006).
        var given = await new RoleDirectory(db).ExpandAsync(orgId, [.. settings.GrantableRoles], cancellationToken);
        if (Escalation.Holds(httpContext, [settings.DefaultPermissions, given]) is { } forbidden)
        {
            return forbidden;
        }

        await services.Changes.RunAsync(async ct =>
        {
            await db.Owned<SsoLoginState>(orgId).ExecuteDeleteAsync(ct);
            db.Remove(settings);
            services.Changes.Record(SsoActions.Delete, orgId, orgId, new { settings.Issuer, settings.ClientId });
        }, cancellationToken);
        return new ApiOk<Deleted>(new Deleted(orgId));
    }

    /// <summary>The base URL users reach this server at: the setting, or the request's own scheme and host.</summary>
    internal static string PublicBaseUrl(HttpContext httpContext, UsersOptions options) =>
        (options.PublicBaseUrl ?? $"{httpContext.Request.Scheme}://{httpContext.Request.Host.Value}").TrimEnd('/');

    internal static string RedirectUri(HttpContext httpContext, UsersOptions options) => PublicBaseUrl(httpContext, options) + OidcLogin.CallbackPath;

    /// <summary>https anywhere; plain http only to a loopback address (a provider run on the same machine, for development and tests).</summary>
    internal static bool IsAllowedIssuer(string? issuer, out string? reason)
    {
        reason = null;
        if (!Uri.TryCreate(issuer?.Trim(), UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttps && uri.Scheme != Uri.UriSchemeHttp))
        {
            reason = "must be an absolute https URL";
        }
        else if (uri.Scheme == Uri.UriSchemeHttp && !IsLoopback(uri))
        {
            reason = "must use https (plain http is allowed only for a loopback address)";
        }
        else if (uri.Query.Length > 0 || uri.Fragment.Length > 0 || uri.UserInfo.Length > 0)
        {
            reason = "must have no query, fragment or user information";
        }

        return reason is null;
    }

    internal static bool IsLoopback(Uri uri) =>
        uri.IsLoopback || (IPAddress.TryParse(uri.DnsSafeHost, out var address) && IPAddress.IsLoopback(address));

    private static SsoSettingsView View(SsoSettings settings, HttpContext httpContext, UsersOptions options, DateTime now) => new(
        settings.OrgId, settings.Enabled, settings.Issuer, settings.ClientId, settings.SealedClientSecret.Length > 0, settings.Scopes, settings.RoleClaim,
        settings.RoleMappings, settings.DefaultRoles, settings.DefaultPermissions, RedirectUri(httpContext, options),
        $"{PublicBaseUrl(httpContext, options)}{OidcLogin.LoginPath}?org={Uri.EscapeDataString(settings.OrgId)}", settings.ClientAuthMethod,
        settings.ClientPublicJwk is null ? null : new JwkSet([.. settings.PublishedClientJwks(now).Select(SsoClientKeys.Parse)]),
        settings.ClientPublicJwk is null ? null : $"{PublicBaseUrl(httpContext, options)}{OidcLogin.JwksPath}?org={Uri.EscapeDataString(settings.OrgId)}",
        settings.NextClientKeyActive(now) ? null : settings.NextClientKeyActivatesAt,
        settings.CreatedAt, settings.UpdatedAt);

    private static void CheckIssuer(Validation validation, string? issuer)
    {
        validation.Required("issuer", issuer, 2048);
        if (!string.IsNullOrWhiteSpace(issuer) && issuer.Length <= 2048 && !IsAllowedIssuer(issuer, out var reason))
        {
            validation.Add("issuer", reason!);
        }
    }

    private static void CheckScopes(Validation validation, List<string>? scopes)
    {
        if (scopes is null)
        {
            return;
        }

        if (scopes.Count > MaxScopes)
        {
            validation.Add("scopes", $"must hold at most {MaxScopes} scopes");
            return;
        }

        for (var i = 0; i < scopes.Count; i++)
        {
            // RFC 6749 §3.3: scope tokens are printable ASCII without space, quote or backslash.
            if (string.IsNullOrEmpty(scopes[i]) || scopes[i].Length > 100 || scopes[i].Any(c => c <= 0x20 || c >= 0x7f || c == '"' || c == '\\'))
            {
                validation.Add($"scopes[{i}]", "must be 1-100 printable ASCII characters without spaces, quotes or backslashes");
            }
        }
    }

    private static List<string> NormalizeScopes(List<string>? scopes) =>
        ["openid", .. (scopes ?? [.. DefaultScopes]).Where(s => s != "openid").Distinct(StringComparer.Ordinal)];

    private static async Task CheckRolesAsync(Validation validation, GatehouseDb db, string orgId, PutSsoSettingsRequest request, CancellationToken cancellationToken)
    {
        var mappings = request.RoleMappings ?? [];
        var defaults = request.DefaultRoles ?? [];
        if (mappings.Count > MaxMappings)
        {
            validation.Add("roleMappings", $"must hold at most {MaxMappings} mappings");
            return;
        }

        if (defaults.Count > MaxMappings)
        {
            validation.Add("defaultRoles", $"must hold at most {MaxMappings} roles");
            return;
        }

        var named = mappings.Select(m => m?.Role).Concat(defaults).OfType<string>().Distinct(StringComparer.Ordinal).ToList();
        var existing = named.Count == 0 ? [] : await new RoleDirectory(db).ExistingAsync(orgId, named, cancellationToken);
        for (var i = 0; i < mappings.Count; i++)
        {
            if (mappings[i] is null)
            {
                validation.Add($"roleMappings[{i}]", "must be an object {value, role}");
                continue;
            }

            validation.Required($"roleMappings[{i}].value", mappings[i].Value, 256);
            if (string.IsNullOrEmpty(mappings[i].Role) || !existing.Contains(mappings[i].Role!, StringComparer.Ordinal))
            {
                validation.Add($"roleMappings[{i}].role", "no role with this name exists in the organization");
            }
        }

        for (var i = 0; i < defaults.Count; i++)
        {
            if (defaults[i] is null || !existing.Contains(defaults[i], StringComparer.Ordinal))
            {
                validation.Add($"defaultRoles[{i}]", "no role with this name exists in the organization");
            }
        }
    }
}
