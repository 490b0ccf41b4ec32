using Gatehouse.Server.Platform.Storage;

namespace Gatehouse.Server.Platform.Tenancy;

/// <summary>
/// An organization's id. Org-scoped code passes this type, so an org id cannot be swapped with
/// another id of the same text type by mistake where ownership is decided.
/// </summary>
public readonly record struct OrgId(string Value)
{
    /// <summary>The route's <c>{orgId}</c> and the principal's organization become an <see cref="OrgId"/> where ownership is checked.</summary>
    public static implicit operator OrgId(string value) => new(value);

    public static implicit operator string(OrgId id) => id.Value;

    public override string ToString() => Value;
}

/// <summary>An entity that belongs to exactly one organization.</summary>
public interface IOrgOwned
{
    string OrgId { get; }
}

/// <summary>
/// The one way features read and write an organization's rows: every query of an org-owned entity
/// starts from <see cref="Owned{T}"/>, so isolation rests on one filter instead of one per query
/// (an architecture test fails on a hand-written <c>OrgId ==</c> in a feature's queries).
/// </summary>
public static class OrgOwnership
{
    public static IQueryable<T> Owned<T>(this GatehouseDb db, OrgId org)
        where T : class, IOrgOwned
    {
        var id = org.Value;
        return db.Set<T>().Where(e => e.OrgId == id);
    }
}
