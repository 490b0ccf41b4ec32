namespace Gatehouse.Server.Platform.Storage;

/// <summary>
/// A row that requests change through the API. Every tracked update or delete of it is
/// conditional on the version it was read at and moves the version on, so of two requests that
/// read the same row and then change it, the second fails (409) instead of overwriting the first
/// or modifying a row deleted or revoked in between.
/// </summary>
public interface IVersioned
{
    /// <summary>Moved on by every tracked save that modifies the row (<see cref="GatehouseDb"/>).</summary>
    long Version { get; set; }
}
