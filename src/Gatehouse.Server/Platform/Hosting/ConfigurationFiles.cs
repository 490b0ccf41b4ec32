using Microsoft.Extensions.Configuration.Json;

namespace Gatehouse.Server.Platform.Hosting;

/// <summary>
/// Where settings and the data dir come from. An operator's own file (<c>GATEHOUSE_CONFIG</c>)
/// sits between the shipped appsettings.json and the environment. A relative <c>DataDir</c> is
/// relative to the file that says it (the shipped default <c>./data</c> is beside the server's
/// binaries), or to the working directory when it is given in the environment or on the command
/// line: starting the same install from another directory opens the same database.
/// </summary>
public static class ConfigurationFiles
{
    public const string ConfigVariable = "GATEHOUSE_CONFIG";

    public static void AddExternal(ConfigurationManager configuration)
    {
        var configured = Environment.GetEnvironmentVariable(ConfigVariable);
        if (string.IsNullOrWhiteSpace(configured))
        {
            return;
        }

        var path = Path.GetFullPath(configured);
        if (!File.Exists(path))
        {
            throw new StartupException($"{ConfigVariable} names {path}, which does not exist");
        }

        try
        {
            configuration.AddJsonFile(path, optional: false, reloadOnChange: false);
        }
        catch (Exception ex) when (ex is InvalidDataException or FormatException or IOException or UnauthorizedAccessException)
        {
            throw new StartupException($"the configuration file {path} cannot be read: {ex.Message}", ex);
        }
    }

    /// <summary>The absolute data dir for <paramref name="dataDir"/>, as the type's summary describes.</summary>
    public static string ResolveDataDir(IConfiguration configuration, string dataDir)
    {
        if (Path.IsPathRooted(dataDir))
        {
            return Path.GetFullPath(dataDir);
        }

        var source = configuration is IConfigurationRoot root
            ? root.Providers.Reverse().FirstOrDefault(p => p.TryGet("Gatehouse:DataDir", out _))
            : null;
        var baseDirectory = source switch
        {
            JsonConfigurationProvider { Source: { FileProvider: Microsoft.Extensions.FileProviders.PhysicalFileProvider files, Path: { } file } } =>
                Path.GetDirectoryName(Path.Combine(files.Root, file)) ?? AppContext.BaseDirectory,
            null => AppContext.BaseDirectory,
            _ => Directory.GetCurrentDirectory(),
        };
        return Path.GetFullPath(Path.Combine(baseDirectory, dataDir));
    }
}
