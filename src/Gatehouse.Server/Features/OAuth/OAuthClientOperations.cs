using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text.Json;
using Gatehouse.Contracts;
using Gatehouse.Contracts.OAuth;
using Gatehouse.Crypto;
using Gatehouse.Server.Features.ServiceAccounts;
using Gatehouse.Server.Features.Webhooks;
using Gatehouse.Server.Platform;
using Gatehouse.Server.Platform.Auth;
using Gatehouse.Server.Platform.Http;
using Gatehouse.Server.Platform.Storage;
using Gatehouse.Server.Platform.Tenancy;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Microsoft.IdentityModel.Tokens;

namespace Gatehouse.Server.Features.OAuth;

/// <summary>The services client management needs, resolved together.</summary>
public sealed class OAuthClientServices(GatehouseDb db, ChangeSet changes, SecretHasher hasher, OAuthClientCache cache, WebhookUrlPolicy urls, ServiceAccountDirectory serviceAccounts, TimeProvider clock)
{
    public GatehouseDb Db => db;
    public ChangeSet Changes => changes;
    public SecretHasher Hasher => hasher;
    public OAuthClientCache Cache => cache;
    public WebhookUrlPolicy Urls => urls;
    public ServiceAccountDirectory ServiceAccounts => serviceAccounts;
    public TimeProvider Clock => clock;
}

public static class OAuthClientOperations
{
    public const int DefaultTokenTtlSeconds = 3600;
    public const int MaxGracePeriodSeconds = 604_800;
    private const int MaxJwksBytes = 16 * 1024;
    private const string SecretPrefix = "gcs_";

    /// <summary>A client secret: <c>gcs_</c> and 32 random bytes in base64url (256 bits).</summary>
    public static string NewSecret() => SecretPrefix + Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(32));

    public static async Task<Results<ApiCreated<OAuthClientWithSecret>, ApiError>> Create(
        string orgId, CreateOAuthClientRequest request, HttpContext httpContext, OAuthClientServices s, CancellationToken cancellationToken)
    {
        var method = request.TokenEndpointAuthMethod ?? ClientAuthMethods.SecretBasic;
        var algorithm = request.SigningAlgorithm ?? SigningAlgorithms.ES256;
        var validation = new Validation().Required("name", request.Name, 100).Optional("description", request.Description, 1000)
            .Permissions("scopes", request.Scopes, required: true).Optional("serviceAccountId", request.ServiceAccountId, 64);
        if (request.Scopes is { Count: 0 })
        {
            validation.Add("scopes", "must hold at least one permission");
        }

        if (request.TokenTtlSeconds is < 60 or > 86_400)
        {
            validation.Add("tokenTtlSeconds", "must be from 60 to 86400");
        }

        if (!ClientAuthMethods.All.Contains(method))
        {
            validation.Add("tokenEndpointAuthMethod", "must be client_secret_basic, client_secret_post or private_key_jwt");
        }

        if (!SigningAlgorithms.All.Contains(algorithm))
        {
            validation.Add("signingAlgorithm", "must be ES256 or RS256");
        }

        var jwks = await KeySourceAsync(validation, method, request.Jwks, request.JwksUri, s.Urls, creating: true, cancellationToken);
        var owner = OwnerOfNewClient(validation, httpContext, request.ServiceAccountId);
        ServiceAccountSummary? account = null;
        if (owner.ServiceAccountId is { } accountId && validation.IsValid)
        {
            account = await s.ServiceAccounts.FindAsync(orgId, accountId, cancellationToken);
            if (account is null)
            {
                validation.Add("serviceAccountId", "no service account with this id exists");
            }
            else if (request.Scopes!.FirstOrDefault(scope => !Permission.Grants(account.Permissions, scope)) is { } beyond)
            {
                validation.Add("scopes", $"'{beyond}' is not granted by the service account's permissions");
            }
        }

        if (!validation.IsValid)
        {
            return validation.ToError();
        }

        var scopes = request.Scopes!.Distinct(StringComparer.Ordinal).ToList();
        if (Escalation.Authorize(httpContext, before: null, new Grant(scopes), issuesSecret: true) is { } forbidden)
        {
            return forbidden;
        }

        if (account is { Disabled: true })
        {
            return ApiError.Conflict("The service account is disabled; enable it before registering clients for it.");
        }

        var name = request.Name!.Trim();
        if (await s.Db.Owned<OAuthClient>(orgId).AnyAsync(c => c.Name == name, cancellationToken))
        {
            return ApiError.Conflict($"An OAuth client named '{name}' already exists.");
        }

        var now = s.Clock.GetUtcNow().UtcDateTime;
        var secret = ClientAuthMethods.UsesSecret(method) ? NewSecret() : null;
        var client = new OAuthClient
        {
            Id = Ids.New("ocl", s.Clock.GetUtcNow()),
            OrgId = orgId,
            Name = name,
            Description = request.Description,
            Scopes = scopes,
            TokenTtlSeconds = request.TokenTtlSeconds ?? DefaultTokenTtlSeconds,
            AuthMethod = method,
            SigningAlgorithm = algorithm,
            Jwks = jwks,
            JwksUri = request.JwksUri,
            SecretHash = secret is null ? null : s.Hasher.Hash(secret),
            ServiceAccountId = owner.ServiceAccountId,
            OwnerId = owner.OwnerId,
            CreatedAt = now,
            UpdatedAt = now,
        };
        s.Db.Add(client);
        s.Changes.Record(OAuthActions.Create, orgId, client.Id, new { client.Name, client.Scopes, client.AuthMethod, client.SigningAlgorithm, client.OwnerId });
        await s.Changes.CommitAsync(cancellationToken);
        return new ApiCreated<OAuthClientWithSecret>(client.WithSecret(secret));
    }

    public static async Task<Results<ApiPage<OAuthClientView>, ApiError>> List(string orgId, [AsParameters] PageParameters paging, GatehouseDb db, CancellationToken cancellationToken)
    {
        if (!paging.TryParse(out var page, out var error))
        {
            return error!;
        }

        var (clients, pagination) = await db.Owned<OAuthClient>(orgId).AsNoTracking().ToPageAsync(page, cancellationToken);
        return new ApiPage<OAuthClientView>([.. clients.Select(c => c.View())], pagination);
    }

    public static async Task<Results<ApiOk<OAuthClientView>, ApiError>> Get(string orgId, string clientId, GatehouseDb db, CancellationToken cancellationToken)
    {
        var client = await db.Owned<OAuthClient>(orgId).AsNoTracking().FirstOrDefaultAsync(c => c.Id == clientId, cancellationToken);
        return client is null ? NotFound() : new ApiOk<OAuthClientView>(client.View());
    }

    public static async Task<Results<ApiOk<OAuthClientView>, ApiError>> Update(
        string orgId, string clientId, UpdateOAuthClientRequest request, HttpContext httpContext, OAuthClientServices s, CancellationToken cancellationToken)
    {
        var validation = new Validation().Optional("description", request.Description, 1000).Permissions("scopes", request.Scopes, required: false);
        if (request.Name is not null)
        {
            validation.Required("name", request.Name, 100);
        }

        if (request.Scopes is { Count: 0 })
        {
            validation.Add("scopes", "must hold at least one permission");
        }

        if (request.TokenTtlSeconds is < 60 or > 86_400)
        {
            validation.Add("tokenTtlSeconds", "must be from 60 to 86400");
        }

        if (!validation.IsValid)
        {
            return validation.ToError();
        }

        var client = await s.Db.Owned<OAuthClient>(orgId).FirstOrDefaultAsync(c => c.Id == clientId, cancellationToken);
        if (client is null)
        {
            return NotFound();
        }

        string? jwks = null;
        if (request.Jwks is not null || request.JwksUri is not null)
        {
            if (client.AuthMethod != ClientAuthMethods.PrivateKeyJwt)
            {
                return ApiError.Validation(request.Jwks is not null ? "jwks" : "jwksUri", "only a private_key_jwt client has keys");
            }

            jwks = await KeySourceAsync(validation, client.AuthMethod, request.Jwks, request.JwksUri, s.Urls, creating: false, cancellationToken);
            if (!validation.IsValid)
            {
                return validation.ToError();
            }
        }

        var newScopes = request.Scopes?.Distinct(StringComparer.Ordinal).ToList();
        if (newScopes is not null && client.ServiceAccountId is { } accountId
            && await s.ServiceAccounts.FindAsync(orgId, accountId, cancellationToken) is { } account
            && newScopes.FirstOrDefault(scope => !Permission.Grants(account.Permissions, scope)) is { } beyond)
        {
            return ApiError.Validation("scopes", $"'{beyond}' is not granted by the service account's permissions");
        }

        // Touching a client (rename, disable, new scopes) needs every platform permission it grants before and after.
        if (Escalation.Authorize(httpContext, new Grant(client.Scopes), new Grant(newScopes ?? client.Scopes)) is { } forbidden)
        {
            return forbidden;
        }

        var now = s.Clock.GetUtcNow().UtcDateTime;
        var changed = new List<string>();
        if (request.Name is { } requestedName && requestedName.Trim() != client.Name)
        {
            var name = requestedName.Trim();
            if (await s.Db.Owned<OAuthClient>(orgId).AnyAsync(c => c.Name == name && c.Id != client.Id, cancellationToken))
            {
                return ApiError.Conflict($"An OAuth client named '{name}' already exists.");
            }

            client.Name = name;
            changed.Add("name");
        }

        if (request.Description is { } description && description != client.Description)
        {
            client.Description = description;
            changed.Add("description");
        }

        if (newScopes is not null && !newScopes.SequenceEqual(client.Scopes))
        {
            client.Scopes = newScopes;
            changed.Add("scopes");
        }

        if (request.TokenTtlSeconds is { } ttl && ttl != client.TokenTtlSeconds)
        {
            client.TokenTtlSeconds = ttl;
            changed.Add("tokenTtlSeconds");
        }

        if (request.Disabled is { } disabled && disabled != client.Disabled)
        {
            client.Disabled = disabled;
            if (disabled)
            {
                // Every token issued so far dies now, and stays dead if the client is enabled again.
                client.TokenGeneration++;
            }

            changed.Add("disabled");
        }

        if (request.Jwks is not null)
        {
            client.Jwks = jwks;
            client.JwksUri = null;
            changed.Add("jwks");
        }
        else if (request.JwksUri is not null)
        {
            client.JwksUri = request.JwksUri;
            client.Jwks = null;
            changed.Add("jwksUri");
        }

        if (changed.Count == 0)
        {
            return new ApiOk<OAuthClientView>(client.View());
        }

        client.UpdatedAt = now;
        s.Changes.Record(OAuthActions.Update, orgId, client.Id, new { fields = changed, client.Name, client.Scopes, client.Disabled });
        s.Cache.EvictAfterCommit(s.Changes, client.Id);
        await s.Changes.CommitAsync(cancellationToken);
        return new ApiOk<OAuthClientView>(client.View());
    }

    /// <summary>Deletes the client; every token it holds fails on the next request.</summary>
    public static async Task<Results<ApiOk<Deleted>, ApiError>> Delete(
        string orgId, string clientId, HttpContext httpContext, OAuthClientServices s, CancellationToken cancellationToken)
    {
        var client = await s.Db.Owned<OAuthClient>(orgId).FirstOrDefaultAsync(c => c.Id == clientId, cancellationToken);
        if (client is null)
        {
            return NotFound();
        }

        if (Escalation.Authorize(httpContext, new Grant(client.Scopes), after: null) is { } forbidden)
        {
            return forbidden;
        }

        s.Db.Remove(client);
        s.Changes.Record(OAuthActions.Delete, orgId, client.Id, new { client.Name });
        s.Cache.EvictAfterCommit(s.Changes, client.Id);
        await s.Changes.CommitAsync(cancellationToken);
        return new ApiOk<Deleted>(new Deleted(client.Id));
    }

    public static async Task<Results<ApiOk<OAuthClientWithSecret>, ApiError>> RotateSecret(
        string orgId, string clientId, RotateOAuthClientSecretRequest? request, HttpContext httpContext, OAuthClientServices s,
        CancellationToken cancellationToken)
    {
        var grace = request?.GracePeriodSeconds ?? 0;
        if (grace is < 0 or > MaxGracePeriodSeconds)
        {
            return ApiError.Validation("gracePeriodSeconds", $"must be from 0 to {MaxGracePeriodSeconds}");
        }

        var client = await s.Db.Owned<OAuthClient>(orgId).FirstOrDefaultAsync(c => c.Id == clientId, cancellationToken);
        if (client is null)
        {
            return NotFound();
        }

        // The new secret is handed to the caller: it must hold everything the client can obtain.
        if (Escalation.Authorize(httpContext, new Grant(client.Scopes), new Grant(client.Scopes), issuesSecret: true) is { } forbidden)
        {
            return forbidden;
        }

        if (!ClientAuthMethods.UsesSecret(client.AuthMethod))
        {
            return ApiError.Conflict("A private_key_jwt client has no secret; replace its keys with PATCH instead.");
        }

        var now = s.Clock.GetUtcNow().UtcDateTime;
        var secret = NewSecret();
        client.PreviousSecretHash = grace > 0 ? client.SecretHash : null;
        client.PreviousSecretExpiresAt = grace > 0 ? now.AddSeconds(grace) : null;
        client.SecretHash = s.Hasher.Hash(secret);
        client.UpdatedAt = now;
        s.Changes.Record(OAuthActions.RotateSecret, orgId, client.Id, new { gracePeriodSeconds = grace });
        s.Cache.EvictAfterCommit(s.Changes, client.Id);
        await s.Changes.CommitAsync(cancellationToken);
        return new ApiOk<OAuthClientWithSecret>(client.WithSecret(secret));
    }

    private static ApiError NotFound() => ApiError.NotFound("OAuth client");

    /// <summary>
    /// Who the new client belongs to. An owned caller (a service account's key, a user's session or
    /// personal key) registers clients of its own owner only, so disabling or deleting the owner
    /// reaches them too; others name a service account, or none.
    /// </summary>
    private static (string? ServiceAccountId, string? OwnerId) OwnerOfNewClient(Validation validation, HttpContext httpContext, string? serviceAccountId)
    {
        if (httpContext.RequirePrincipal().IssuingOwner is not { } own)
        {
            return (serviceAccountId, serviceAccountId);
        }

        if (serviceAccountId is not null && !string.Equals(serviceAccountId, own, StringComparison.Ordinal))
        {
            validation.Add("serviceAccountId", "must_be_own");
        }

        return (own.StartsWith("sa_", StringComparison.Ordinal) ? own : null, own);
    }

    /// <summary>
    /// The key source rules: a <c>private_key_jwt</c> client needs exactly one of a JWK Set (public
    /// keys only, at most 16 KiB) or an https URL of one; other clients have neither. Returns the JWK Set to store.
    /// </summary>
    private static async Task<string?> KeySourceAsync(
        Validation validation, string method, JsonElement? jwks, string? jwksUri, WebhookUrlPolicy urls, bool creating, CancellationToken cancellationToken)
    {
        var hasJwks = jwks is { ValueKind: not JsonValueKind.Null };
        if (method != ClientAuthMethods.PrivateKeyJwt)
        {
            if (hasJwks)
            {
                validation.Add("jwks", "only a private_key_jwt client has keys");
            }

            if (jwksUri is not null)
            {
                validation.Add("jwksUri", "only a private_key_jwt client has keys");
            }

            return null;
        }

        if (hasJwks == (jwksUri is not null))
        {
            if (creating || hasJwks)
            {
                validation.Add(hasJwks ? "jwksUri" : "jwks", "a private_key_jwt client needs exactly one of jwks or jwksUri");
            }

            return null;
        }

        if (jwksUri is not null)
        {
            if (await urls.CheckAsync(jwksUri, cancellationToken) is { } reason)
            {
                validation.Add("jwksUri", reason);
            }

            return null;
        }

        var text = jwks!.Value.GetRawText();
        if (text.Length > MaxJwksBytes || jwks.Value.ValueKind != JsonValueKind.Object || !jwks.Value.TryGetProperty("keys", out var keys)
            || keys.ValueKind != JsonValueKind.Array || keys.GetArrayLength() == 0)
        {
            validation.Add("jwks", "must be a JWK Set {\"keys\": [...]} of at most 16 KiB with at least one key");
            return null;
        }

        foreach (var key in keys.EnumerateArray())
        {
            if (key.ValueKind != JsonValueKind.Object || key.TryGetProperty("d", out _) || key.TryGetProperty("p", out _) || key.TryGetProperty("k", out _))
            {
                validation.Add("jwks", "must hold public keys only (no d, p or k members)");
                return null;
            }
        }

        try
        {
            var set = new JsonWebKeySet(text);
            if (set.GetSigningKeys().Count == 0)
            {
                validation.Add("jwks", "holds no usable RSA or EC signing key");
                return null;
            }
        }
        catch (ArgumentException)
        {
            validation.Add("jwks", "is not a valid JWK Set");
            return null;
        }

        return text;
    }
}
