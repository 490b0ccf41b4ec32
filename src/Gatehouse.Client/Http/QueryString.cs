using System.Globalization;
using System.Text;

namespace Gatehouse.Client;

/// <summary>A query string built from the values that are present; absent ones are left out, never sent empty.</summary>
internal sealed class QueryString
{
    private readonly StringBuilder _text = new();

    public void Add(string name, string? value)
    {
        if (value is null)
        {
            return;
        }

        _text.Append(_text.Length == 0 ? '?' : '&').Append(Uri.EscapeDataString(name)).Append('=').Append(Uri.EscapeDataString(value));
    }

    public void Add(string name, int? value) => Add(name, value?.ToString(CultureInfo.InvariantCulture));

    public void Add(string name, bool? value) => Add(name, value is null ? null : value.Value ? "true" : "false");

    public void Add(string name, DateTimeOffset? value) =>
        Add(name, value?.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.FFFFFFF'Z'", CultureInfo.InvariantCulture));

    public override string ToString() => _text.ToString();
}
