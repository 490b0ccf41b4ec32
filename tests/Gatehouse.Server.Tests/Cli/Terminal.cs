using System.Diagnostics;

namespace Gatehouse.Server.Tests.Cli;

/// <summary>
/// A real terminal for the interactive parts of the command line: a detached <c>tmux</c> session on
/// a server of its own (<c>-L</c>), typed into with <c>send-keys</c> and read with <c>capture-pane</c>.
/// The command runs in a shell that prints its exit code and then waits, so the screen can be read
/// after the command ends.
/// </summary>
public sealed class Terminal : IAsyncDisposable
{
    private const string Session = "cli";
    private readonly string _socket = "gatehouse-tests-" + Guid.NewGuid().ToString("N")[..12];

    private Terminal()
    {
    }

    /// <summary>Starts <paramref name="commandLine"/> (run by bash) in a 160×40 terminal with <paramref name="environment"/>.</summary>
    public static async Task<Terminal> StartAsync(string commandLine, IReadOnlyDictionary<string, string?> environment)
    {
        var terminal = new Terminal();
        var arguments = new List<string> { "new-session", "-d", "-s", Session, "-x", "160", "-y", "40" };
        foreach (var (name, value) in environment)
        {
            arguments.Add("-e");
            arguments.Add($"{name}={value}");
        }

        arguments.Add($"{commandLine}; echo \"[exited $?]\"; sleep 600");
        await terminal.TmuxAsync([.. arguments]);
        return terminal;
    }

    public static string Tool => ExternalTools.FindOnPath("tmux") ?? throw new InvalidOperationException("tmux is not installed (apt-get install tmux): the terminal tests need it.");

    /// <summary>Types <paramref name="keys"/> (tmux key names such as <c>Enter</c> or <c>C-c</c> are keys, other text is typed literally).</summary>
    public Task SendAsync(params string[] keys) => TmuxAsync(["send-keys", "-t", Session, .. keys]);

    public Task TypeAsync(string text) => TmuxAsync("send-keys", "-t", Session, "-l", text);

    /// <summary>The screen as text, one line per row.</summary>
    public Task<string> ScreenAsync() => TmuxAsync("capture-pane", "-p", "-t", Session);

    /// <summary>Reads the screen until it shows <paramref name="text"/>, and returns that screen.</summary>
    public Task<string> WaitForAsync(string text, TimeSpan? timeout = null) =>
        Eventually.ValueAsync(ScreenAsync, screen => screen.Contains(text, StringComparison.Ordinal), $"the terminal to show \"{text}\"", timeout, screen => "\n" + screen);

    private async Task<string> TmuxAsync(params string[] arguments)
    {
        var start = new ProcessStartInfo(Tool) { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add("-L");
        start.ArgumentList.Add(_socket);
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        var output = await process.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken);
        var errors = await process.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
        await process.WaitForExitAsync(TestContext.Current.CancellationToken);
        process.ExitCode.ShouldBe(0, $"tmux {string.Join(' ', arguments)}: {errors}");
        return output;
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await TmuxAsync("kill-server");
        }
        catch (ShouldAssertException)
        {
            // The session had already ended.
        }
    }
}
