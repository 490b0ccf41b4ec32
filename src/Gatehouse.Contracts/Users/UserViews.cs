namespace Gatehouse.Contracts.Users;

/// <summary>A user as the API shows it (never the password or its hash).</summary>
public sealed record UserView(
    string Id,
    string? OrgId,
    string Email,
    string Name,
    IReadOnlyList<string> Roles,
    IReadOnlyList<string> Permissions,
    bool Disabled,
    bool HasPassword,
    DateTime CreatedAt,
    DateTime UpdatedAt,
    DateTime? LastLoginAt);

/// <summary>The session a login opened.</summary>
public sealed record LoginSession(string Id, DateTime ExpiresAt);

/// <summary>A successful login: the user, the new session and its token (shown once; also set as a cookie).</summary>
public sealed record LoginResponse(UserView User, LoginSession Session, string Token);

/// <summary>A login session (never its token).</summary>
public sealed record SessionView(
    string Id,
    string UserId,
    string? OrgId,
    DateTime CreatedAt,
    DateTime LastSeenAt,
    DateTime ExpiresAt,
    int IdleTimeoutSeconds,
    string? Ip,
    string? UserAgent,
    DateTime? EndedAt,
    bool Active);

/// <summary>Who the session is: the user, the session and the user's effective permissions.</summary>
public sealed record CurrentSessionResponse(UserView User, SessionView Session, IReadOnlyList<string> Permissions);

/// <summary>What a logout ended.</summary>
public sealed record LogoutResponse(int EndedSessions);

/// <summary>The password was changed; the user's other sessions ended.</summary>
public sealed record PasswordChangedResponse(UserView User, int EndedSessions);
