using System.Text.RegularExpressions;
using Gatehouse.Contracts;
using Gatehouse.Contracts.Roles;
using Gatehouse.Server.Platform;
using Gatehouse.Server.Platform.Auth;
using Gatehouse.Server.Platform.Http;
using Gatehouse.Server.Platform.Storage;
using Gatehouse.Server.Platform.Tenancy;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;

namespace Gatehouse.Server.Features.Roles;

public static partial class RoleOperations
{
    public static async Task<Results<ApiCreated<RoleView>, ApiError>> Create(
        string orgId, CreateRoleRequest request, HttpContext httpContext, GatehouseDb db, ChangeSet changes, IEnumerable<IRoleHolders> holders, TimeProvider clock, CancellationToken cancellationToken)
    {
        var validation = new Validation().Required("name", request.Name, 100).Optional("description", request.Description, 1000)
            .Permissions("permissions", request.Permissions, required: true);
        CheckName(validation, request.Name);
        if (!validation.IsValid)
        {
            return validation.ToError();
        }

        if (await db.Owned<Role>(orgId).AnyAsync(r => r.Name == request.Name, cancellationToken))
        {
            return ApiError.Conflict($"A role named '{request.Name}' already exists.");
        }

        // Keys may still name a role of this name (it was deleted): they gain its permissions now.
        var permissions = request.Permissions!.Distinct(StringComparer.Ordinal).ToList();
        if (await AuthorizeAsync(httpContext, db, holders, orgId, [request.Name!], before: null, after: permissions, cancellationToken) is { } forbidden)
        {
            return forbidden;
        }

        var now = clock.GetUtcNow().UtcDateTime;
        var role = new Role
        {
            Id = Ids.New("role", clock.GetUtcNow()),
            OrgId = orgId,
            Name = request.Name!,
            Description = request.Description,
            Permissions = permissions,
            CreatedAt = now,
            UpdatedAt = now,
        };
        db.Add(role);
        changes.Record(RoleActions.Create, orgId, role.Id, new { role.Name, role.Permissions });
        await changes.CommitAsync(cancellationToken);
        return new ApiCreated<RoleView>(RoleView.From(role));
    }

    public static async Task<Results<ApiPage<RoleView>, ApiError>> List(string orgId, [AsParameters] PageParameters paging, GatehouseDb db, CancellationToken cancellationToken)
    {
        if (!paging.TryParse(out var page, out var error))
        {
            return error!;
        }

        var (roles, pagination) = await db.Owned<Role>(orgId).ToPageAsync(page, cancellationToken);
        return new ApiPage<RoleView>([.. roles.Select(RoleView.From)], pagination);
    }

    public static async Task<Results<ApiOk<RoleView>, ApiError>> Get(string orgId, string roleId, GatehouseDb db, CancellationToken cancellationToken)
    {
        var role = await db.Owned<Role>(orgId).FirstOrDefaultAsync(r => r.Id == roleId, cancellationToken);
        return role is null ? ApiError.NotFound("role") : new ApiOk<RoleView>(RoleView.From(role));
    }

    public static async Task<Results<ApiOk<RoleView>, ApiError>> Update(
        string orgId, string roleId, UpdateRoleRequest request, HttpContext httpContext, GatehouseDb db, ChangeSet changes, IEnumerable<IRoleHolders> holders,
        TimeProvider clock, CancellationToken cancellationToken)
    {
        var validation = new Validation().Optional("description", request.Description, 1000).Permissions("permissions", request.Permissions, required: false);
        if (request.Name is not null)
        {
            validation.Required("name", request.Name, 100);
            CheckName(validation, request.Name);
        }

        if (!validation.IsValid)
        {
            return validation.ToError();
        }

        var role = await db.Owned<Role>(orgId).FirstOrDefaultAsync(r => r.Id == roleId, cancellationToken);
        if (role is null)
        {
            return ApiError.NotFound("role");
        }

        // Holders of the old name lose the role, holders of a new name gain it; all of them change.
        var newPermissions = request.Permissions?.Distinct(StringComparer.Ordinal).ToList();
        string[] affectedNames = request.Name is { } newName && newName != role.Name ? [role.Name, newName] : [role.Name];
        if (await AuthorizeAsync(httpContext, db, holders, orgId, affectedNames, role.Permissions, newPermissions ?? role.Permissions, cancellationToken) is { } forbidden)
        {
            return forbidden;
        }

        var changed = new List<string>();
        if (request.Name is { } name && name != role.Name)
        {
            if (await db.Owned<Role>(orgId).AnyAsync(r => r.Name == name, cancellationToken))
            {
                return ApiError.Conflict($"A role named '{name}' already exists.");
            }

            role.Name = name;
            changed.Add("name");
        }

        if (request.Description is { } description && description != role.Description)
        {
            role.Description = description;
            changed.Add("description");
        }

        if (newPermissions is not null)
        {
            role.Permissions = newPermissions;
            changed.Add("permissions");
        }

        if (changed.Count > 0)
        {
            role.UpdatedAt = clock.GetUtcNow().UtcDateTime;
            changes.Record(RoleActions.Update, orgId, role.Id, new { fields = changed, role.Permissions });
            await changes.CommitAsync(cancellationToken);
        }

        return new ApiOk<RoleView>(RoleView.From(role));
    }

    public static async Task<Results<ApiOk<Deleted>, ApiError>> Delete(
        string orgId, string roleId, HttpContext httpContext, GatehouseDb db, ChangeSet changes, IEnumerable<IRoleHolders> holders, CancellationToken cancellationToken)
    {
        var role = await db.Owned<Role>(orgId).FirstOrDefaultAsync(r => r.Id == roleId, cancellationToken);
        if (role is null)
        {
            return ApiError.NotFound("role");
        }

        if (await AuthorizeAsync(httpContext, db, holders, orgId, [role.Name], role.Permissions, after: null, cancellationToken) is { } forbidden)
        {
            return forbidden;
        }

        db.Remove(role);
        changes.Record(RoleActions.Delete, orgId, role.Id, new { role.Name });
        await changes.CommitAsync(cancellationToken);
        return new ApiOk<Deleted>(new Deleted(role.Id));
    }

    /// <summary>
    /// A role change is checked like a key change (the caller holds what the role granted and will
    /// grant), and it changes every credential holding the role: the caller must be able to change
    /// each of those too, so a role cannot raise — or strip — a key the caller could not.
    /// </summary>
    private static async Task<ApiError?> AuthorizeAsync(
        HttpContext httpContext, GatehouseDb db, IEnumerable<IRoleHolders> holders, string orgId, IReadOnlyList<string> roleNames,
        IReadOnlyCollection<string>? before, IReadOnlyCollection<string>? after, CancellationToken cancellationToken)
    {
        if (Escalation.Authorize(httpContext, before is null ? null : new Grant(before), after is null ? null : new Grant(after)) is { } forbidden)
        {
            return forbidden;
        }

        if (httpContext.RequirePrincipal().IsRoot)
        {
            return null;
        }

        var affected = new List<IReadOnlyCollection<string>>();
        foreach (var holder in holders)
        {
            foreach (var name in roleNames)
            {
                affected.AddRange(await holder.EffectivePermissionsAsync(db, orgId, name, cancellationToken));
            }
        }

        return Escalation.Holds(httpContext, affected);
    }

    private static void CheckName(Validation validation, string? name)
    {
        if (!string.IsNullOrWhiteSpace(name) && !RoleName().IsMatch(name))
        {
            validation.Add("name", "must match [a-zA-Z0-9_.:-]{1,100}");
        }
    }

    [GeneratedRegex("^[a-zA-Z0-9_.:-]{1,100}$")]
    private static partial Regex RoleName();
}
