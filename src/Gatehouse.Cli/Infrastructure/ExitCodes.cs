namespace Gatehouse.Cli.Infrastructure;

/// <summary>What the process tells a script (docs/cli.md lists them).</summary>
public static class ExitCodes
{
    public const int Ok = 0;

    /// <summary>The server refused or failed the request, or could not be reached.</summary>
    public const int Error = 1;

    /// <summary>The command line itself is wrong: an unknown command or option, a missing argument, no server to talk to.</summary>
    public const int Usage = 2;

    /// <summary>The resource does not exist (or belongs to another organization: the API does not say which).</summary>
    public const int NotFound = 3;

    /// <summary>The credential is missing, not valid, or lacks the permission.</summary>
    public const int Forbidden = 4;
}

/// <summary>A mistake in how the command was called, reported with exit code 2.</summary>
public sealed class UsageException(string message) : Exception(message);
