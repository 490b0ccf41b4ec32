using System.Text.Json;
using System.Text.Json.Serialization;
using Spectre.Console;

namespace Gatehouse.Cli.Infrastructure;

/// <summary>
/// Writes results as a table for people or as JSON for scripts. Tables never show a secret; the
/// commands that return one print it apart, and only when asked (<c>--show-secret</c>).
/// </summary>
public static class Output
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    private static readonly JsonSerializerOptions JsonLine = new(Json) { WriteIndented = false };

    /// <summary>
    /// The value as its declared type <typeparamref name="T"/>: a key with its secret passed as the
    /// view without one writes no secret.
    /// </summary>
    public static void WriteJson<T>(T value) => Console.Out.WriteLine(JsonSerializer.Serialize<T>(value, Json));

    /// <summary>One value per line (NDJSON), for streams such as <c>audit tail</c>.</summary>
    public static void WriteJsonLine<T>(T value) => Console.Out.WriteLine(JsonSerializer.Serialize<T>(value, JsonLine));

    /// <summary>Rows of a list: one column per header.</summary>
    public static void WriteTable(IReadOnlyList<string> headers, IEnumerable<IReadOnlyList<string?>> rows)
    {
        var table = new Table().Border(TableBorder.Rounded);
        foreach (var header in headers)
        {
            table.AddColumn(new TableColumn(Markup.Escape(header)));
        }

        foreach (var row in rows)
        {
            table.AddRow(row.Select(cell => Markup.Escape(cell ?? "")).ToArray());
        }

        AnsiConsole.Write(table);
    }

    /// <summary>One resource: a two-column table of its fields.</summary>
    public static void WriteFields(IEnumerable<(string Name, string? Value)> fields)
    {
        var grid = new Grid().AddColumn(new GridColumn().NoWrap()).AddColumn();
        foreach (var (name, value) in fields)
        {
            grid.AddRow(new Markup($"[bold]{Markup.Escape(name)}[/]"), new Text(value ?? "—"));
        }

        AnsiConsole.Write(grid);
    }

    /// <summary>What a delete or revoke answered: the server's <c>{id}</c> as JSON, or one line for people (<paramref name="verb"/> says which).</summary>
    public static void Removed(GlobalSettings settings, Gatehouse.Contracts.Deleted deleted, string verb)
    {
        if (settings.Output == OutputFormat.Json)
        {
            WriteJson(deleted);
        }
        else
        {
            Success($"{verb} {deleted.Id}.");
        }
    }

    public static void Success(string message) => AnsiConsole.MarkupLine($"[green]✓[/] {Markup.Escape(message)}");

    public static string List(IEnumerable<string>? values) => values is null ? "" : string.Join(", ", values);

    public static string? Time(DateTime? value) => value?.ToString("yyyy-MM-dd HH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture);
}
