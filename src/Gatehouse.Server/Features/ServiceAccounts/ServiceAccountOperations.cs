using Gatehouse.Contracts;
using Gatehouse.Contracts.ApiKeys;
using Gatehouse.Contracts.ServiceAccounts;
using Gatehouse.Server.Features.ApiKeys;
using Gatehouse.Server.Features.Roles;
using Gatehouse.Server.Platform;
using Gatehouse.Server.Platform.Auth;
using Gatehouse.Server.Platform.Http;
using Gatehouse.Server.Platform.Storage;
using Gatehouse.Server.Platform.Tenancy;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;

namespace Gatehouse.Server.Features.ServiceAccounts;

public static class ServiceAccountOperations
{
    /// <summary>How many offending key ids a refused narrowing names.</summary>
    private const int MaxNamedKeys = 20;

    public static Task<Results<ApiCreated<CreatedServiceAccount>, ApiError>> Create(
        string orgId, CreateServiceAccountRequest request, HttpContext httpContext, GatehouseDb db, ChangeSet changes, OwnedApiKeys keys,
        TimeProvider clock, CancellationToken cancellationToken) =>
        CreateAsync(orgId, request.Name, request.Description, request.Permissions, httpContext, db, changes, keys, clock, cancellationToken);

    /// <summary>Root only: the organization is named in the body (seed 001's admin call).</summary>
    public static async Task<Results<ApiCreated<CreatedServiceAccount>, ApiError>> CreateForAdmin(
        AdminCreateServiceAccountRequest request, HttpContext httpContext, GatehouseDb db, ChangeSet changes, OwnedApiKeys keys, OrgDirectory orgs,
        TimeProvider clock, CancellationToken cancellationToken)
    {
        var validation = new Validation().Required("orgId", request.OrgId, 64);
        if (!validation.IsValid)
        {
            return validation.ToError();
        }

        if (!await orgs.ExistsAsync(request.OrgId!, cancellationToken))
        {
            return ApiError.Validation("orgId", "no organization with this id exists");
        }

        return await CreateAsync(request.OrgId!, request.Name, request.Description, request.Permissions, httpContext, db, changes, keys, clock, cancellationToken);
    }

    private static async Task<Results<ApiCreated<CreatedServiceAccount>, ApiError>> CreateAsync(
        string orgId, string? name, string? description, List<string>? requestedPermissions, HttpContext httpContext, GatehouseDb db, ChangeSet changes,
        OwnedApiKeys keys, TimeProvider clock, CancellationToken cancellationToken)
    {
        var validation = new Validation().Required("name", name, 100).Optional("description", description, 1000)
            .Permissions("permissions", requestedPermissions, required: true);
        if (!validation.IsValid)
        {
            return validation.ToError();
        }

        // The new account's key would belong to the account, not to the caller's owner: its power
        // would outlive the owner being disabled or deleted (decision 0011).
        if (httpContext.RequirePrincipal().IssuingOwner is not null)
        {
            return new ApiError(ErrorCodes.Forbidden, "A credential that belongs to a user or service account cannot create service accounts.",
                new Dictionary<string, object?> { ["reason"] = "owned_credential" });
        }

        var trimmed = name!.Trim();
        if (await db.Owned<ServiceAccount>(orgId).AnyAsync(a => a.Name == trimmed, cancellationToken))
        {
            return ApiError.Conflict($"A service account named '{trimmed}' already exists.");
        }

        var now = clock.GetUtcNow().UtcDateTime;
        var account = new ServiceAccount
        {
            Id = Ids.New("sa", clock.GetUtcNow()),
            OrgId = orgId,
            Name = trimmed,
            Description = description,
            Permissions = requestedPermissions!.Distinct(StringComparer.Ordinal).ToList(),
            CreatedAt = now,
            UpdatedAt = now,
        };

        db.Add(account);
        changes.Record(ServiceAccountActions.Create, orgId, account.Id, new { account.Name, account.Permissions });

        // The first key holds exactly the account's permissions; issuing it runs the key rules and
        // the escalation check (the caller must hold them, and the key is handed to the caller).
        // On a refusal nothing is committed: the tracked account dies with the request.
        var (error, issued) = await keys.IssueAsync(orgId, new CreateApiKeyRequest { Name = account.Name, Permissions = account.Permissions, OwnerId = account.Id },
            httpContext, changes, cancellationToken);
        if (error is not null)
        {
            return error;
        }

        await changes.CommitAsync(cancellationToken);
        return new ApiCreated<CreatedServiceAccount>(new CreatedServiceAccount(ServiceAccountView.From(account), issued!));
    }

    public static async Task<Results<ApiPage<ServiceAccountView>, ApiError>> List(string orgId, [AsParameters] PageParameters paging, GatehouseDb db, CancellationToken cancellationToken)
    {
        if (!paging.TryParse(out var page, out var error))
        {
            return error!;
        }

        var (accounts, pagination) = await db.Owned<ServiceAccount>(orgId).AsNoTracking().ToPageAsync(page, cancellationToken);
        return new ApiPage<ServiceAccountView>([.. accounts.Select(ServiceAccountView.From)], pagination);
    }

    public static async Task<Results<ApiOk<ServiceAccountView>, ApiError>> Get(string orgId, string serviceAccountId, GatehouseDb db, CancellationToken cancellationToken)
    {
        var account = await db.Owned<ServiceAccount>(orgId).AsNoTracking().FirstOrDefaultAsync(a => a.Id == serviceAccountId, cancellationToken);
        return account is null ? ApiError.NotFound("service account") : new ApiOk<ServiceAccountView>(ServiceAccountView.From(account));
    }

    public static async Task<Results<ApiOk<ServiceAccountView>, ApiError>> Update(
        string orgId, string serviceAccountId, UpdateServiceAccountRequest request, HttpContext httpContext, GatehouseDb db, ChangeSet changes,
        OwnedApiKeys keys, IEnumerable<IOwnedCredentials> ownedCredentials, TimeProvider clock, CancellationToken cancellationToken)
    {
        var validation = new Validation().Optional("description", request.Description, 1000).Permissions("permissions", request.Permissions, required: false);
        if (request.Name is not null)
        {
            validation.Required("name", request.Name, 100);
        }

        if (!validation.IsValid)
        {
            return validation.ToError();
        }

        var account = await db.Owned<ServiceAccount>(orgId).FirstOrDefaultAsync(a => a.Id == serviceAccountId, cancellationToken);
        if (account is null)
        {
            return ApiError.NotFound("service account");
        }

        var newPermissions = request.Permissions?.Distinct(StringComparer.Ordinal).ToList();
        if (Escalation.Authorize(httpContext, new Grant(account.Permissions), new Grant(newPermissions ?? account.Permissions)) is { } forbidden)
        {
            return forbidden;
        }

        var owned = await keys.EffectivePermissionsAsync(orgId, account.Id, cancellationToken);
        var disabledChanges = request.Disabled is { } disabled && disabled != account.Disabled;
        // Stopping or resuming the account stops or resumes each of its keys: the caller must be able to touch every one.
        if (disabledChanges && Escalation.Holds(httpContext, owned.Select(k => k.Permissions)) is { } cannotTouchKeys)
        {
            return cannotTouchKeys;
        }

        var changed = new List<string>();
        if (request.Name is { } name && name.Trim() != account.Name)
        {
            var trimmed = name.Trim();
            if (await db.Owned<ServiceAccount>(orgId).AnyAsync(a => a.Name == trimmed && a.Id != account.Id, cancellationToken))
            {
                return ApiError.Conflict($"A service account named '{trimmed}' already exists.");
            }

            account.Name = trimmed;
            changed.Add("name");
        }

        if (request.Description is { } description && description != account.Description)
        {
            account.Description = description;
            changed.Add("description");
        }

        if (newPermissions is not null && !newPermissions.SequenceEqual(account.Permissions))
        {
            // The account's permissions are its keys' ceiling. Narrowing it below what a live key
            // holds is refused rather than silently rewriting keys: revoke or narrow those first.
            var exceeding = owned.Where(k => k.Permissions.Any(p => !Permission.Grants(newPermissions, p))).Select(k => k.KeyId).ToList();
            if (exceeding.Count > 0)
            {
                return new ApiError(ErrorCodes.Conflict,
                    $"{exceeding.Count} live API key(s) of the service account hold permissions outside the new set; narrow or revoke them first.",
                    new Dictionary<string, object?> { ["keyIds"] = exceeding.Take(MaxNamedKeys).ToList(), ["count"] = exceeding.Count });
            }

            account.Permissions = newPermissions;
            changed.Add("permissions");
        }

        if (disabledChanges)
        {
            account.Disabled = request.Disabled!.Value;
            changed.Add("disabled");
        }

        if (changed.Count == 0)
        {
            return new ApiOk<ServiceAccountView>(ServiceAccountView.From(account));
        }

        account.UpdatedAt = clock.GetUtcNow().UtcDateTime;
        changes.Record(ServiceAccountActions.Update, orgId, account.Id, new { fields = changed, account.Name, account.Permissions, account.Disabled });
        // The account and every credential it owns change in one transaction: a crash leaves both as they were, or both changed.
        await changes.RunAsync(async ct =>
        {
            if (disabledChanges)
            {
                foreach (var credentials in ownedCredentials)
                {
                    await credentials.SetOwnerSuspendedAsync(changes, orgId, account.Id, account.Disabled, ct);
                }
            }
        }, cancellationToken);
        return new ApiOk<ServiceAccountView>(ServiceAccountView.From(account));
    }

    /// <summary>Revokes everything the account owns and deletes it, in one transaction.</summary>
    public static async Task<Results<ApiOk<Deleted>, ApiError>> Delete(
        string orgId, string serviceAccountId, HttpContext httpContext, GatehouseDb db, ChangeSet changes, OwnedApiKeys keys,
        IEnumerable<IOwnedCredentials> ownedCredentials, CancellationToken cancellationToken)
    {
        var account = await db.Owned<ServiceAccount>(orgId).FirstOrDefaultAsync(a => a.Id == serviceAccountId, cancellationToken);
        if (account is null)
        {
            return ApiError.NotFound("service account");
        }

        // Deleting revokes every key of the account: the caller must hold all the account and each key could do.
        var owned = await keys.EffectivePermissionsAsync(orgId, account.Id, cancellationToken);
        if ((Escalation.Authorize(httpContext, new Grant(account.Permissions), after: null) ?? Escalation.Holds(httpContext, owned.Select(k => k.Permissions))) is { } forbidden)
        {
            return forbidden;
        }

        await changes.RunAsync(async ct =>
        {
            var revoked = 0;
            foreach (var credentials in ownedCredentials)
            {
                revoked += await credentials.RevokeOwnedAsync(changes, orgId, account.Id, ct);
            }

            db.Remove(account);
            changes.Record(ServiceAccountActions.Delete, orgId, account.Id, new { account.Name, revokedCredentials = revoked });
        }, cancellationToken);
        return new ApiOk<Deleted>(new Deleted(account.Id));
    }

    /// <summary>
    /// <c>POST …/api-keys</c> with <c>ownerId</c> fixed to the account, capped by its permissions
    /// (own and roles'), refused while it is disabled.
    /// </summary>
    public static async Task<Results<ApiCreated<IssuedApiKey>, ApiError>> CreateKey(
        string orgId, string serviceAccountId, CreateApiKeyRequest request, HttpContext httpContext, GatehouseDb db, ChangeSet changes, OwnedApiKeys keys,
        RoleDirectory roles, CancellationToken cancellationToken)
    {
        var account = await db.Owned<ServiceAccount>(orgId).AsNoTracking().FirstOrDefaultAsync(a => a.Id == serviceAccountId, cancellationToken);
        if (account is null)
        {
            return ApiError.NotFound("service account");
        }

        if (request.OwnerId is not null && request.OwnerId != account.Id)
        {
            return ApiError.Validation("ownerId", "must be absent or this service account's id");
        }

        var granted = (request.Permissions ?? []).Where(p => p is not null)
            .Concat(request.Roles is { Count: > 0 } names ? await roles.ExpandAsync(orgId, names, cancellationToken) : []);
        if (granted.FirstOrDefault(p => !Permission.Grants(account.Permissions, p)) is { } beyond)
        {
            return ApiError.Validation("permissions", $"'{beyond}' is not granted by the service account's permissions");
        }

        if (account.Disabled)
        {
            return ApiError.Conflict("The service account is disabled; enable it before issuing keys.");
        }

        var (error, issued) = await keys.IssueAsync(orgId, request with { OwnerId = account.Id }, httpContext, changes, cancellationToken);
        if (error is not null)
        {
            return error;
        }

        await changes.CommitAsync(cancellationToken);
        return new ApiCreated<IssuedApiKey>(issued!);
    }
}
