using System.IO.Compression;
using Gatehouse.Server.Platform.Http;

namespace Gatehouse.Server.Features.Users;

/// <summary>
/// What a new password must be: 12–256 characters and not one of the 100 000 most common passwords
/// of public breach corpora (the list ships inside the server, see Passwords/LICENSE.md). Length
/// and a deny-list, and nothing else, as NIST SP 800-63B advises: composition rules make passwords
/// harder to remember without making them harder to guess.
/// </summary>
public sealed class PasswordPolicy
{
    public const int MinLength = 12;
    public const int MaxLength = 256;
    private const string ListResource = "breached-passwords-top-100000.txt.gz";

    // Loaded on first use, once per process: 100 000 short strings, a few MiB.
    private static readonly Lazy<HashSet<string>> Breached = new(Load);

    /// <summary>How many passwords the deny-list holds.</summary>
    public static int BreachedCount => Breached.Value.Count;

    public static bool IsBreached(string password) => Breached.Value.Contains(password);

    /// <summary>Adds the reasons <paramref name="password"/> is refused to <paramref name="validation"/> under <paramref name="field"/>.</summary>
    public static void Check(Validation validation, string field, string? password, bool required)
    {
        if (password is null)
        {
            if (required)
            {
                validation.Add(field, "required");
            }

            return;
        }

        // Counted in text elements, so a password of accented or emoji characters is measured as typed.
        var length = new System.Globalization.StringInfo(password).LengthInTextElements;
        if (length < MinLength)
        {
            validation.Add(field, $"must be at least {MinLength} characters");
        }
        else if (length > MaxLength || password.Length > MaxLength * 4)
        {
            validation.Add(field, $"must be at most {MaxLength} characters");
        }
        else if (IsBreached(password))
        {
            validation.Add(field, "is one of the most common breached passwords; choose another");
        }
    }

    private static HashSet<string> Load()
    {
        using var stream = typeof(PasswordPolicy).Assembly.GetManifestResourceStream(ListResource)
            ?? throw new InvalidOperationException($"The embedded resource {ListResource} is missing.");
        using var gzip = new GZipStream(stream, CompressionMode.Decompress);
        using var reader = new StreamReader(gzip);
        // Case-insensitive: "Password123456" is as guessable as "password123456".
        var set = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        while (reader.ReadLine() is { } line)
        {
            if (line.Length > 0)
            {
                set.Add(line);
            }
        }

        return set;
    }
}
