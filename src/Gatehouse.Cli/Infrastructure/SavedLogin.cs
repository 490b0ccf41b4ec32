using System.Text.Json;
using System.Text.Json.Serialization;

namespace Gatehouse.Cli.Infrastructure;

/// <summary>
/// Where to reach Gatehouse and with which key, saved by <c>gatehouse login</c>. The file holds a
/// secret, so it is created readable by its owner alone (0600) and rewritten the same way.
/// </summary>
public sealed record SavedLogin
{
    public string? Url { get; init; }
    public string? Key { get; init; }

    /// <summary>The organization commands act on when <c>--org</c> is not given.</summary>
    public string? Org { get; init; }

    private static readonly JsonSerializerOptions FileFormat = new() { WriteIndented = true, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull, PropertyNamingPolicy = JsonNamingPolicy.CamelCase };

    /// <summary><c>GATEHOUSE_CONFIG</c>, else <c>$XDG_CONFIG_HOME/gatehouse/config.json</c>, else <c>~/.config/gatehouse/config.json</c>.</summary>
    public static string DefaultPath()
    {
        var explicitPath = Environment.GetEnvironmentVariable("GATEHOUSE_CONFIG");
        if (!string.IsNullOrWhiteSpace(explicitPath))
        {
            return explicitPath;
        }

        var configHome = Environment.GetEnvironmentVariable("XDG_CONFIG_HOME");
        if (string.IsNullOrWhiteSpace(configHome))
        {
            configHome = Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".config");
        }

        return Path.Combine(configHome, "gatehouse", "config.json");
    }

    public static SavedLogin Load(string path)
    {
        if (!File.Exists(path))
        {
            return new SavedLogin();
        }

        try
        {
            return JsonSerializer.Deserialize<SavedLogin>(File.ReadAllText(path), FileFormat) ?? new SavedLogin();
        }
        catch (JsonException ex)
        {
            throw new UsageException($"{path} is not a gatehouse profile ({ex.Message}); run `gatehouse login` again or delete it.");
        }
    }

    public void Save(string path)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write, Share = FileShare.None };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        using (var stream = new FileStream(path, options))
        {
            JsonSerializer.Serialize(stream, this, FileFormat);
        }

        if (!OperatingSystem.IsWindows())
        {
            // UnixCreateMode applies only to a new file: an existing one keeps its mode unless set here.
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }
    }
}
