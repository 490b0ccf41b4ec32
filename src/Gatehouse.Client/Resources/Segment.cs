namespace Gatehouse.Client;

/// <summary>Ids and names put into a path, escaped so an id can never reach another route.</summary>
internal static class Segment
{
    public static string Of(string value)
    {
        ArgumentException.ThrowIfNullOrEmpty(value);
        return Uri.EscapeDataString(value);
    }

    public static string Org(string orgId) => "orgs/" + Of(orgId);
}
