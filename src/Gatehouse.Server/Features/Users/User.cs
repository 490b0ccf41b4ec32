using Gatehouse.Contracts.Users;
using Gatehouse.Server.Platform.Http;
using Gatehouse.Server.Platform.Storage;
using Gatehouse.Server.Platform.Tenancy;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Gatehouse.Server.Features.Users;

/// <summary>
/// A person who logs in. A user belongs to one organization, or to none: a platform administrator,
/// who acts like the root key. That is why users are not <see cref="IOrgOwned"/> (its organization
/// is never absent); <see cref="UserScope"/> is their one organization filter instead.
/// </summary>
public sealed class User : ICreatedEntity, IVersioned
{
    /// <inheritdoc />
    public long Version { get; set; }

    public required string Id { get; init; }
    public string? OrgId { get; init; }
    public required string Email { get; set; }

    /// <summary><see cref="UserScope.EmailKey"/>: unique, so an address is taken once per organization.</summary>
    public required string EmailKey { get; set; }

    public required string Name { get; set; }

    /// <summary>The versioned Argon2id string (<see cref="PasswordHasher"/>); null: no password login.</summary>
    public string? PasswordHash { get; set; }

    public List<string> Roles { get; set; } = [];
    public List<string> Permissions { get; set; } = [];
    public bool Disabled { get; set; }
    public DateTime CreatedAt { get; init; }
    public DateTime UpdatedAt { get; set; }
    public DateTime? LastLoginAt { get; set; }
    public DateTime? PasswordChangedAt { get; set; }

    public bool IsPlatformAdministrator => OrgId is null;
}

/// <summary>One login of a user. Only the keyed hash of its token is stored.</summary>
public sealed class UserSession : ICreatedEntity
{
    public required string Id { get; init; }
    public string? OrgId { get; init; }
    public required string UserId { get; init; }
    public required string Hash { get; init; }
    public DateTime CreatedAt { get; init; }
    public DateTime LastSeenAt { get; set; }

    /// <summary>The absolute end, whatever the activity.</summary>
    public DateTime ExpiresAt { get; init; }

    public int IdleTimeoutSeconds { get; init; }
    public string? Ip { get; init; }
    public string? UserAgent { get; init; }

    /// <summary>When it was ended (logout, password change, the user disabled or deleted, an administrator).</summary>
    public DateTime? EndedAt { get; set; }

    public bool IsActive(DateTime now) => EndedAt is null && now < ExpiresAt && now < LastSeenAt.AddSeconds(IdleTimeoutSeconds);
}

/// <summary>The organization filter of users and sessions, and the normal form of an email address.</summary>
internal static class UserScope
{
    public const string PlatformScope = "platform";

    public static IQueryable<User> UsersOf(this GatehouseDb db, string? orgId) =>
        orgId is null ? db.Set<User>().Where(u => u.OrgId == null) : db.Set<User>().Where(u => u.OrgId == orgId);

    public static IQueryable<UserSession> SessionsOf(this GatehouseDb db, string? orgId, string userId) =>
        orgId is null
            ? db.Set<UserSession>().Where(s => s.OrgId == null && s.UserId == userId)
            : db.Set<UserSession>().Where(s => s.OrgId == orgId && s.UserId == userId);

    /// <summary>Trimmed and lower-cased (invariant): <c>Ada@Example.org</c> and <c>ada@example.org </c> are one address.</summary>
    public static string NormalizeEmail(string email) => email.Trim().ToLowerInvariant();

    public static string EmailKey(string? orgId, string email) => $"{orgId ?? PlatformScope}/{NormalizeEmail(email)}";
}

internal static class UserViewMapping
{
    extension(UserView)
    {
        public static UserView From(User user) => new(
            user.Id, user.OrgId, user.Email, user.Name, user.Roles, user.Permissions, user.Disabled, user.PasswordHash is not null,
            user.CreatedAt, user.UpdatedAt, user.LastLoginAt);
    }

    extension(SessionView)
    {
        public static SessionView From(UserSession session, DateTime now) => new(
            session.Id, session.UserId, session.OrgId, session.CreatedAt, session.LastSeenAt, session.ExpiresAt, session.IdleTimeoutSeconds,
            session.Ip, session.UserAgent, session.EndedAt, session.IsActive(now));
    }
}

internal sealed class UserMapping : IEntityTypeConfiguration<User>
{
    public void Configure(EntityTypeBuilder<User> builder)
    {
        builder.ToTable("users");
        builder.HasKey(u => u.Id);
        builder.HasIndex(u => u.EmailKey).IsUnique();
        builder.Property(u => u.Roles).HasJsonConversion();
        builder.Property(u => u.Permissions).HasJsonConversion();
        builder.Ignore(u => u.IsPlatformAdministrator);
    }
}

internal sealed class UserSessionMapping : IEntityTypeConfiguration<UserSession>
{
    public void Configure(EntityTypeBuilder<UserSession> builder)
    {
        builder.ToTable("user_sessions");
        builder.HasKey(s => s.Id);
        builder.HasIndex(s => s.Hash).IsUnique();
    }
}

/// <summary>Users and their sessions are erased with their organization and counted in its stats.</summary>
internal sealed class UserOrgData(SessionCache cache) : IOrgDataEraser, IOrgStatsContributor
{
    public async Task EraseAsync(GatehouseDb db, string orgId, CancellationToken cancellationToken)
    {
        await db.Set<UserSession>().Where(s => s.OrgId == orgId).ExecuteDeleteAsync(cancellationToken);
        await db.Owned<UserIdentity>(orgId).ExecuteDeleteAsync(cancellationToken);
        await db.Owned<SsoLoginState>(orgId).ExecuteDeleteAsync(cancellationToken);
        await db.Owned<SsoSettings>(orgId).ExecuteDeleteAsync(cancellationToken);
        await db.UsersOf(orgId).ExecuteDeleteAsync(cancellationToken);
    }

    public Task AfterEraseCommittedAsync(string orgId)
    {
        cache.EvictOrg(orgId);
        return Task.CompletedTask;
    }

    public async Task ContributeAsync(GatehouseDb db, string orgId, IDictionary<string, object> stats, CancellationToken cancellationToken) =>
        stats["users"] = await db.UsersOf(orgId).LongCountAsync(cancellationToken);
}
