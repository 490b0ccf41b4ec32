using System.ComponentModel.DataAnnotations;
using System.Text.RegularExpressions;
using Gatehouse.Contracts;
using Gatehouse.Contracts.Users;
using Gatehouse.Server.Features.Roles;
using Gatehouse.Server.Platform;
using Gatehouse.Server.Platform.Auth;
using Gatehouse.Server.Platform.Http;
using Gatehouse.Server.Platform.Storage;
using Gatehouse.Server.Platform.Tenancy;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.EntityFrameworkCore;

namespace Gatehouse.Server.Features.Users;

/// <summary>The services a user change needs, injected as one parameter.</summary>
public sealed class UserChangeServices(GatehouseDb db, ChangeSet changes, PasswordHasher hasher, SessionCache sessions, IEnumerable<IOwnedCredentials> owned, TimeProvider clock)
{
    public GatehouseDb Db => db;
    public ChangeSet Changes => changes;
    public PasswordHasher Hasher => hasher;
    public SessionCache Sessions => sessions;
    public IEnumerable<IOwnedCredentials> Owned => owned;
    public TimeProvider Clock => clock;
}

public static partial class UserOperations
{
    /// <summary>The longest <c>q</c>; the OpenAPI document declares the same bound.</summary>
    public const int MaxSearchLength = 200;
    private const int MaxRoles = 50;

    public static Task<Results<ApiCreated<UserView>, ApiError>> Create(
        string orgId, CreateUserRequest request, HttpContext httpContext, UserChangeServices services, CancellationToken cancellationToken) =>
        CreateAsync(orgId, request.Email, request.Name, request.Password, request.Roles, request.Permissions, httpContext, services, cancellationToken);

    /// <summary>Root: a user of any organization, or with <c>orgId: null</c> a platform administrator.</summary>
    public static async Task<Results<ApiCreated<UserView>, ApiError>> CreateAny(
        CreateAdminUserRequest request, HttpContext httpContext, OrgDirectory orgs, UserChangeServices services, CancellationToken cancellationToken)
    {
        if (request.OrgId is { } orgId && !await orgs.ExistsAsync(orgId, cancellationToken))
        {
            return ApiError.Validation("orgId", "no organization with this id exists");
        }

        if (request.OrgId is null && ((request.Roles?.Count ?? 0) > 0 || (request.Permissions?.Count ?? 0) > 0))
        {
            var validation = new Validation();
            if ((request.Roles?.Count ?? 0) > 0)
            {
                validation.Add("roles", "a platform administrator holds every permission: leave roles empty");
            }

            if ((request.Permissions?.Count ?? 0) > 0)
            {
                validation.Add("permissions", "a platform administrator holds every permission: leave permissions empty");
            }

            return validation.ToError();
        }

        return await CreateAsync(request.OrgId, request.Email, request.Name, request.Password, request.Roles, request.Permissions, httpContext, services, cancellationToken);
    }

    private static async Task<Results<ApiCreated<UserView>, ApiError>> CreateAsync(
        string? orgId, string? email, string? name, string? password, List<string>? roles, List<string>? permissions,
        HttpContext httpContext, UserChangeServices services, CancellationToken cancellationToken)
    {
        var db = services.Db;
        var validation = new Validation().Required("name", name, 200).Permissions("permissions", permissions, required: false);
        CheckEmail(validation, email);
        PasswordPolicy.Check(validation, "password", password, required: false);
        await CheckRolesAsync(validation, db, orgId, roles, cancellationToken);
        if (!validation.IsValid)
        {
            return validation.ToError();
        }

        var emailKey = UserScope.EmailKey(orgId, email!);
        if (await db.Set<User>().AnyAsync(u => u.EmailKey == emailKey, cancellationToken))
        {
            return ApiError.Conflict("A user with this email already exists in the organization.");
        }

        var now = services.Clock.GetUtcNow().UtcDateTime;
        var user = new User
        {
            Id = Ids.New("usr", services.Clock.GetUtcNow()),
            OrgId = orgId,
            Email = email!.Trim(),
            EmailKey = emailKey,
            Name = name!.Trim(),
            Roles = (roles ?? []).Distinct(StringComparer.Ordinal).ToList(),
            Permissions = (permissions ?? []).Distinct(StringComparer.Ordinal).ToList(),
            CreatedAt = now,
            UpdatedAt = now,
            PasswordChangedAt = password is null ? null : now,
        };
        if (Escalation.Authorize(httpContext, before: null, after: await GrantAsync(db, user, cancellationToken)) is { } forbidden)
        {
            return forbidden;
        }

        if (password is not null)
        {
            user.PasswordHash = await services.Hasher.HashAsync(password, cancellationToken);
        }

        db.Add(user);
        services.Changes.Record(UserActions.Create, orgId, user.Id, AuditChanges(user));
        try
        {
            await services.Changes.CommitAsync(cancellationToken);
        }
        catch (DbUpdateException)
        {
            // Two creations of one address raced; the unique index let one through.
            db.Entry(user).State = EntityState.Detached;
            if (await db.Set<User>().AsNoTracking().AnyAsync(u => u.EmailKey == emailKey, CancellationToken.None))
            {
                return ApiError.Conflict("A user with this email already exists in the organization.");
            }

            throw;
        }

        return new ApiCreated<UserView>(UserView.From(user));
    }

    /// <summary>Users of the organization, newest first; filters <c>email</c> (exact, case-insensitive) and <c>q</c> (part of the name or email).</summary>
    public static async Task<Results<ApiPage<UserView>, ApiError>> List(
        string orgId, [AsParameters] PageParameters paging, [FromQuery] string? email, [FromQuery, MaxLength(MaxSearchLength)] string? q, GatehouseDb db, CancellationToken cancellationToken) =>
        await ListAsync(db.UsersOf(orgId), paging, email is null ? null : UserScope.EmailKey(orgId, email), q, cancellationToken);

    /// <summary>Users of every organization (root); filters <c>orgId</c> (<c>platform</c>: the platform administrators), <c>email</c> and <c>q</c>.</summary>
    public static async Task<Results<ApiPage<UserView>, ApiError>> ListAll(
        [AsParameters] PageParameters paging, [FromQuery] string? orgId, [FromQuery] string? email, [FromQuery, MaxLength(MaxSearchLength)] string? q, GatehouseDb db, CancellationToken cancellationToken)
    {
        var users = orgId switch
        {
            null => db.Set<User>(),
            UserScope.PlatformScope => db.UsersOf(null),
            _ => db.UsersOf(orgId),
        };
        if (email is not null && orgId is null)
        {
            // Every organization: match the address part of the key, whatever its scope.
            var suffix = "/" + UserScope.NormalizeEmail(email);
            users = users.Where(u => u.EmailKey.EndsWith(suffix));
            email = null;
        }

        return await ListAsync(users, paging, email is null ? null : UserScope.EmailKey(orgId == UserScope.PlatformScope ? null : orgId, email), q, cancellationToken);
    }

    private static async Task<Results<ApiPage<UserView>, ApiError>> ListAsync(
        IQueryable<User> users, PageParameters paging, string? emailKey, string? q, CancellationToken cancellationToken)
    {
        if (!paging.TryParse(out var page, out var error))
        {
            return error!;
        }

        if (emailKey is not null)
        {
            users = users.Where(u => u.EmailKey == emailKey);
        }

        if (q is { Length: > 0 } text)
        {
            if (text.Length > MaxSearchLength)
            {
                return PageQuery.Bad("q", $"must be at most {MaxSearchLength} characters");
            }

            var lower = text.ToLowerInvariant();
            users = users.Where(u => u.Name.Contains(text) || u.EmailKey.Contains(lower));
        }

        var (found, pagination) = await users.AsNoTracking().ToPageAsync(page, cancellationToken);
        return new ApiPage<UserView>([.. found.Select(UserView.From)], pagination);
    }

    public static async Task<Results<ApiOk<UserView>, ApiError>> Get(string orgId, string userId, GatehouseDb db, CancellationToken cancellationToken)
    {
        var user = await db.UsersOf(orgId).AsNoTracking().FirstOrDefaultAsync(u => u.Id == userId, cancellationToken);
        return user is null ? ApiError.NotFound("user") : new ApiOk<UserView>(UserView.From(user));
    }

    public static async Task<Results<ApiOk<UserView>, ApiError>> Update(
        string orgId, string userId, UpdateUserRequest request, HttpContext httpContext, UserChangeServices services, CancellationToken cancellationToken)
    {
        var db = services.Db;
        var validation = new Validation().Permissions("permissions", request.Permissions, required: false);
        if (request.Name is not null)
        {
            validation.Required("name", request.Name, 200);
        }

        await CheckRolesAsync(validation, db, orgId, request.Roles, cancellationToken);
        if (!validation.IsValid)
        {
            return validation.ToError();
        }

        var user = await db.UsersOf(orgId).FirstOrDefaultAsync(u => u.Id == userId, cancellationToken);
        if (user is null)
        {
            return ApiError.NotFound("user");
        }

        var before = await GrantAsync(db, user, cancellationToken);
        var changed = new List<string>();
        if (request.Name is { } name && name.Trim() != user.Name)
        {
            user.Name = name.Trim();
            changed.Add("name");
        }

        if (request.Roles is { } roles)
        {
            user.Roles = roles.Distinct(StringComparer.Ordinal).ToList();
            changed.Add("roles");
        }

        if (request.Permissions is { } permissions)
        {
            user.Permissions = permissions.Distinct(StringComparer.Ordinal).ToList();
            changed.Add("permissions");
        }

        var suspend = request.Disabled is { } disabled && disabled != user.Disabled ? disabled : (bool?)null;
        if (suspend is { } nowDisabled)
        {
            user.Disabled = nowDisabled;
            changed.Add("disabled");
        }

        // Changing a user touches what every one of their sessions can do: the caller must hold it all, before and after.
        if (Escalation.Authorize(httpContext, before, await GrantAsync(db, user, cancellationToken)) is { } forbidden)
        {
            return forbidden;
        }

        if (changed.Count == 0)
        {
            return new ApiOk<UserView>(UserView.From(user));
        }

        var now = services.Clock.GetUtcNow().UtcDateTime;
        user.UpdatedAt = now;
        await services.Changes.RunAsync(async ct =>
        {
            if (suspend is { } disabling)
            {
                if (disabling)
                {
                    await EndSessionsAsync(db, orgId, user.Id, now, exceptSessionId: null, ct);
                }

                foreach (var owned in services.Owned)
                {
                    await owned.SetOwnerSuspendedAsync(services.Changes, orgId, user.Id, disabling, ct);
                }
            }

            services.Changes.Record(UserActions.Update, orgId, user.Id, new { fields = changed, user.Roles, user.Permissions, user.Disabled });
        }, cancellationToken);
        services.Sessions.EvictUser(user.Id);
        return new ApiOk<UserView>(UserView.From(user));
    }

    public static async Task<Results<ApiOk<Deleted>, ApiError>> Delete(
        string orgId, string userId, HttpContext httpContext, UserChangeServices services, CancellationToken cancellationToken)
    {
        var db = services.Db;
        var user = await db.UsersOf(orgId).FirstOrDefaultAsync(u => u.Id == userId, cancellationToken);
        if (user is null)
        {
            return ApiError.NotFound("user");
        }

        if (Escalation.Authorize(httpContext, await GrantAsync(db, user, cancellationToken), after: null) is { } forbidden)
        {
            return forbidden;
        }

        var revoked = await services.Changes.RunAsync(async ct =>
        {
            var count = 0;
            foreach (var owned in services.Owned)
            {
                count += await owned.RevokeOwnedAsync(services.Changes, orgId, user.Id, ct);
            }

            await db.SessionsOf(orgId, user.Id).ExecuteDeleteAsync(ct);
            await db.Owned<UserIdentity>(orgId).Where(i => i.UserId == user.Id).ExecuteDeleteAsync(ct);
            db.Remove(user);
            services.Changes.Record(UserActions.Delete, orgId, user.Id, new { user.Email, revokedCredentials = count });
            return count;
        }, cancellationToken);
        _ = revoked;
        services.Sessions.EvictUser(user.Id);
        return new ApiOk<Deleted>(new Deleted(user.Id));
    }

    /// <summary>The user's sessions, newest first, ended ones included (<c>active</c> tells).</summary>
    public static async Task<Results<ApiPage<SessionView>, ApiError>> ListSessions(
        string orgId, string userId, [AsParameters] PageParameters paging, GatehouseDb db, TimeProvider clock, CancellationToken cancellationToken)
    {
        if (!paging.TryParse(out var page, out var error))
        {
            return error!;
        }

        if (!await db.UsersOf(orgId).AnyAsync(u => u.Id == userId, cancellationToken))
        {
            return ApiError.NotFound("user");
        }

        var (sessions, pagination) = await db.SessionsOf(orgId, userId).AsNoTracking().ToPageAsync(page, cancellationToken);
        var now = clock.GetUtcNow().UtcDateTime;
        return new ApiPage<SessionView>([.. sessions.Select(s => SessionView.From(s, now))], pagination);
    }

    /// <summary>Ends one session of the user; it stops working on its next request.</summary>
    public static async Task<Results<ApiOk<SessionView>, ApiError>> EndSession(
        string orgId, string userId, string sessionId, HttpContext httpContext, UserChangeServices services, CancellationToken cancellationToken)
    {
        var db = services.Db;
        var user = await db.UsersOf(orgId).AsNoTracking().FirstOrDefaultAsync(u => u.Id == userId, cancellationToken);
        var session = user is null ? null : await db.SessionsOf(orgId, userId).FirstOrDefaultAsync(s => s.Id == sessionId, cancellationToken);
        if (user is null || session is null)
        {
            return ApiError.NotFound("session");
        }

        // Ending a session takes away what it could do: only a caller holding all of it may.
        if (Escalation.Authorize(httpContext, await GrantAsync(db, user, cancellationToken), after: null) is { } forbidden)
        {
            return forbidden;
        }

        var now = services.Clock.GetUtcNow().UtcDateTime;
        if (session.EndedAt is null)
        {
            session.EndedAt = now;
            services.Changes.Record(AuthActions.SessionEnd, orgId, session.Id, new { userId, reason = "administrator" });
            await services.Changes.CommitAsync(cancellationToken);
            services.Sessions.EvictSession(session.Id);
        }

        return new ApiOk<SessionView>(SessionView.From(session, now));
    }

    /// <summary>Ends the user's live sessions (all, or all but one) in the caller's transaction.</summary>
    internal static Task<int> EndSessionsAsync(GatehouseDb db, string? orgId, string userId, DateTime now, string? exceptSessionId, CancellationToken cancellationToken) =>
        db.SessionsOf(orgId, userId).Where(s => s.EndedAt == null && s.Id != exceptSessionId)
            .ExecuteUpdateAsync(u => u.SetProperty(s => s.EndedAt, now), cancellationToken);

    /// <summary>What a user can do: own permissions with those of their roles (a platform administrator: everything).</summary>
    internal static async Task<Grant> GrantAsync(GatehouseDb db, User user, CancellationToken cancellationToken) =>
        new(await SessionCredentialResolver.EffectivePermissionsAsync(db, user, cancellationToken)) { Enabled = !user.Disabled };

    private static object AuditChanges(User user) => new { user.Email, user.Name, user.Roles, user.Permissions, user.Disabled, hasPassword = user.PasswordHash is not null };

    private static void CheckEmail(Validation validation, string? email)
    {
        validation.Required("email", email, 254);
        if (!string.IsNullOrWhiteSpace(email) && email.Length <= 254 && !EmailShape().IsMatch(email.Trim()))
        {
            validation.Add("email", "must be an email address (name@domain)");
        }
    }

    private static async Task CheckRolesAsync(Validation validation, GatehouseDb db, string? orgId, List<string>? roles, CancellationToken cancellationToken)
    {
        if (roles is null || roles.Count == 0)
        {
            return;
        }

        if (roles.Count > MaxRoles)
        {
            validation.Add("roles", $"must hold at most {MaxRoles} roles");
            return;
        }

        var existing = orgId is null ? [] : await new RoleDirectory(db).ExistingAsync(orgId, roles, cancellationToken);
        for (var i = 0; i < roles.Count; i++)
        {
            if (roles[i] is null || !existing.Contains(roles[i], StringComparer.Ordinal))
            {
                validation.Add($"roles[{i}]", "no role with this name exists in the organization");
            }
        }
    }

    // One @, something on each side, a dot in the domain, no spaces: the shape, not deliverability.
    [GeneratedRegex(@"^[^@\s]+@[^@\s]+\.[^@\s]+$")]
    private static partial Regex EmailShape();
}
