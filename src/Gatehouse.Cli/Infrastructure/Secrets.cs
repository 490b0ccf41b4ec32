using System.ComponentModel;
using Spectre.Console.Cli;

namespace Gatehouse.Cli.Infrastructure;

/// <summary>Options of commands whose response holds a secret shown once (a new key, a webhook signing secret).</summary>
public class SecretOutputSettings : OrgSettings
{
    [CommandOption("--show-secret")]
    [Description("Print the secret (it cannot be shown again). Without it or --secret-file the secret is not printed anywhere.")]
    public bool ShowSecret { get; init; }

    [CommandOption("--secret-file <PATH>")]
    [Description("Write the secret to this file, readable by you alone (0600), instead of the terminal.")]
    public string? SecretFile { get; init; }
}

public static class Secrets
{
    /// <summary>
    /// Hands a once-shown secret to the person: printed only when asked, or written to a private
    /// file; otherwise a warning that it is gone, so no secret ever lands in a table or a log by default.
    /// </summary>
    public static void Deliver(SecretOutputSettings settings, string label, string secret)
    {
        if (settings.SecretFile is { } path)
        {
            var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
            if (!OperatingSystem.IsWindows())
            {
                options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
            }

            using var writer = new StreamWriter(new FileStream(path, options));
            writer.WriteLine(secret);
            Console.Error.WriteLine($"The {label} was written to {path}.");
        }

        if (settings.ShowSecret && settings.Output == OutputFormat.Table)
        {
            Console.Out.WriteLine();
            Console.Out.WriteLine($"{label}: {secret}");
            Console.Out.WriteLine("Store it now: it cannot be shown again.");
        }
        else if (!settings.ShowSecret && settings.SecretFile is null)
        {
            Console.Error.WriteLine($"The {label} was not shown (pass --show-secret or --secret-file); it cannot be shown again.");
        }
    }
}
