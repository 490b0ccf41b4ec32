using System.Globalization;

namespace Gatehouse.Server.Features.WebConsole;

/// <summary>Turning what a form field holds into what a request body wants.</summary>
internal static class ConsoleForms
{
    /// <summary>Comma- or line-separated values, trimmed, empties dropped.</summary>
    public static List<string> List(string? text) =>
        [.. (text ?? "").Split([',', '\n', '\r'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)];

    public static string Join(IEnumerable<string>? values) => string.Join(", ", values ?? []);

    public static string When(DateTime? at) => at is { } value ? value.ToString("yyyy-MM-dd HH:mm 'UTC'", CultureInfo.InvariantCulture) : "—";

    public static string Query(params (string Name, string? Value)[] pairs) =>
        string.Join("&", pairs.Where(p => !string.IsNullOrWhiteSpace(p.Value)).Select(p => $"{p.Name}={Uri.EscapeDataString(p.Value!)}"));
}
