using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Konscious.Security.Cryptography;

namespace Gatehouse.Server.Features.Users;

/// <summary>The Argon2id cost of new password hashes (see docs/decisions/0010-password-hashing-and-sessions.md).</summary>
public readonly record struct Argon2Cost(int MemoryKiB, int Iterations, int Parallelism);

/// <summary>
/// Hashes and checks passwords with Argon2id, in the PHC string format
/// <c>$argon2id$v=19$m=19456,t=2,p=1$&lt;salt&gt;$&lt;hash&gt;</c>: every stored hash names its own
/// cost, so the cost can be raised later and old hashes still verify (and are rehashed at the next
/// successful login, see <see cref="NeedsRehash"/>).
/// Hashing is deliberately slow and memory-hungry, so it never runs on a request thread unbounded:
/// at most one hash per core runs at a time and the rest queue, so a login flood waits in line
/// instead of starving every other request (verify above all) of thread-pool threads.
/// </summary>
public sealed class PasswordHasher : IDisposable
{
    private const int SaltBytes = 16;
    private const int HashBytes = 32;
    private const string Prefix = "$argon2id$v=19$";

    private readonly SemaphoreSlim _slots = new(Environment.ProcessorCount, Environment.ProcessorCount);
    private readonly Lazy<string> _dummy;

    public PasswordHasher(UsersOptions options)
    {
        Cost = new Argon2Cost(options.PasswordMemoryKiB, options.PasswordIterations, 1);
        // A hash of a password nobody knows, at the current cost: an unknown email is checked against
        // it so that answering "no such user" takes as long as "wrong password".
        _dummy = new Lazy<string>(() => Compute(RandomNumberGenerator.GetHexString(32), RandomNumberGenerator.GetBytes(SaltBytes), Cost));
    }

    public Argon2Cost Cost { get; }

    /// <summary>How many hashes are waiting for a slot (for the metrics).</summary>
    public int Waiting => Environment.ProcessorCount - _slots.CurrentCount;

    public Task<string> HashAsync(string password, CancellationToken cancellationToken) =>
        RunBoundedAsync(() => Compute(password, RandomNumberGenerator.GetBytes(SaltBytes), Cost), cancellationToken);

    /// <summary>Checks <paramref name="password"/> against <paramref name="stored"/>; a null stored hash is checked against the dummy and fails.</summary>
    public Task<bool> VerifyAsync(string password, string? stored, CancellationToken cancellationToken) =>
        RunBoundedAsync(() =>
        {
            if (stored is null)
            {
                // The same work as a real check, and a failure whatever the outcome.
                _ = VerifyAgainst(password, _dummy.Value);
                return false;
            }

            return VerifyAgainst(password, stored);
        }, cancellationToken);

    /// <summary>True when <paramref name="stored"/> was made at a cost other than the current one.</summary>
    public bool NeedsRehash(string stored) =>
        !TryParse(stored, out var cost, out _, out _) || cost != Cost;

    private static bool VerifyAgainst(string password, string stored)
    {
        if (!TryParse(stored, out var cost, out var salt, out var expected))
        {
            return false;
        }

        var actual = Derive(password, salt, cost, expected.Length);
        return CryptographicOperations.FixedTimeEquals(actual, expected);
    }

    private async Task<T> RunBoundedAsync<T>(Func<T> work, CancellationToken cancellationToken)
    {
        await _slots.WaitAsync(cancellationToken);
        try
        {
            return await Task.Run(work, cancellationToken);
        }
        finally
        {
            _slots.Release();
        }
    }

    private static string Compute(string password, byte[] salt, Argon2Cost cost)
    {
        var hash = Derive(password, salt, cost, HashBytes);
        return string.Create(CultureInfo.InvariantCulture,
            $"{Prefix}m={cost.MemoryKiB},t={cost.Iterations},p={cost.Parallelism}${Unpadded(salt)}${Unpadded(hash)}");
    }

    private static byte[] Derive(string password, byte[] salt, Argon2Cost cost, int length)
    {
        using var argon = new Argon2id(Encoding.UTF8.GetBytes(password))
        {
            Salt = salt,
            MemorySize = cost.MemoryKiB,
            Iterations = cost.Iterations,
            DegreeOfParallelism = cost.Parallelism,
        };
        return argon.GetBytes(length);
    }

    internal static bool TryParse(string stored, out Argon2Cost cost, out byte[] salt, out byte[] hash)
    {
        cost = default;
        salt = [];
        hash = [];
        if (!stored.StartsWith(Prefix, StringComparison.Ordinal))
        {
            return false;
        }

        var parts = stored[Prefix.Length..].Split('$');
        if (parts.Length != 3)
        {
            return false;
        }

        int m = 0, t = 0, p = 0;
        foreach (var pair in parts[0].Split(','))
        {
            var (name, value) = pair.Split('=') is [var n, var v] ? (n, v) : ("", "");
            if (!int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var number) || number <= 0)
            {
                return false;
            }

            switch (name)
            {
                case "m": m = number; break;
                case "t": t = number; break;
                case "p": p = number; break;
                default: return false;
            }
        }

        if (m == 0 || t == 0 || p == 0 || !TryUnpadded(parts[1], out salt) || !TryUnpadded(parts[2], out hash) || hash.Length < 16)
        {
            return false;
        }

        cost = new Argon2Cost(m, t, p);
        return true;
    }

    private static string Unpadded(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=');

    private static bool TryUnpadded(string text, out byte[] bytes)
    {
        var padded = text.PadRight(text.Length + (4 - text.Length % 4) % 4, '=');
        bytes = new byte[padded.Length];
        if (!Convert.TryFromBase64String(padded, bytes, out var written))
        {
            bytes = [];
            return false;
        }

        bytes = bytes[..written];
        return true;
    }

    public void Dispose() => _slots.Dispose();
}
