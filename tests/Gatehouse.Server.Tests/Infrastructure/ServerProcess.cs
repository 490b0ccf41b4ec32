using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Gatehouse.Server.Tests.Infrastructure;

/// <summary>
/// The server as a separate OS process (`dotnet Gatehouse.Server.dll`), for what an in-process
/// host cannot show: exit codes, start-up messages, and surviving <c>kill -9</c>.
/// </summary>
public sealed class ServerProcess : IAsyncDisposable
{
    private const string Healthy = "healthy";
    private const string Exited = "exited";

    private readonly Process _process;
    private readonly StringBuilder _stdout = new();
    private readonly StringBuilder _stderr = new();

    private ServerProcess(Process process, Uri baseAddress)
    {
        _process = process;
        BaseAddress = baseAddress;
        process.OutputDataReceived += (_, e) => Append(_stdout, e.Data);
        process.ErrorDataReceived += (_, e) => Append(_stderr, e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    public Uri BaseAddress { get; }
    public int Id => _process.Id;
    public bool HasExited => _process.HasExited;

    public string StandardOutput
    {
        get
        {
            lock (_stdout)
            {
                return _stdout.ToString();
            }
        }
    }

    public string StandardError
    {
        get
        {
            lock (_stderr)
            {
                return _stderr.ToString();
            }
        }
    }

    public static string ServerAssembly
    {
        get
        {
            var configuration = AppContext.BaseDirectory.Contains("/Release/", StringComparison.Ordinal) ? "Release" : "Debug";
            var root = new DirectoryInfo(AppContext.BaseDirectory);
            while (root is not null && !File.Exists(Path.Combine(root.FullName, "Gatehouse.slnx")))
            {
                root = root.Parent;
            }

            return Path.Combine(root!.FullName, "src", "Gatehouse.Server", "bin", configuration, "net10.0", "Gatehouse.Server.dll");
        }
    }

    /// <summary>Runs the server binary with <paramref name="arguments"/> (a command such as <c>root-key list</c>) to its exit.</summary>
    public static async Task<(int ExitCode, string Output, string Error)> RunCommandAsync(IReadOnlyDictionary<string, string?> environment, string workingDirectory, params string[] arguments)
    {
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory,
        };
        info.ArgumentList.Add(ServerAssembly);
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        foreach (var name in info.Environment.Keys.Where(k => k.StartsWith("GATEHOUSE_", StringComparison.Ordinal)).ToList())
        {
            info.Environment.Remove(name);
        }

        foreach (var (name, value) in environment)
        {
            info.Environment[name] = value;
        }

        using var process = Process.Start(info) ?? throw new InvalidOperationException("dotnet did not start");
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await output, await error);
    }

    public static ServerProcess Start(IReadOnlyDictionary<string, string?> environment, int? port = null)
    {
        port ??= FreePort();
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = Path.GetTempPath(),
        };
        info.ArgumentList.Add(ServerAssembly);
        info.ArgumentList.Add("--urls");
        info.ArgumentList.Add($"http://127.0.0.1:{port}");
        foreach (var name in info.Environment.Keys.Where(k => k.StartsWith("GATEHOUSE_", StringComparison.Ordinal)).ToList())
        {
            info.Environment.Remove(name);
        }

        foreach (var (name, value) in environment)
        {
            info.Environment[name] = value;
        }

        var process = Process.Start(info) ?? throw new InvalidOperationException("dotnet did not start");
        return new ServerProcess(process, new Uri($"http://127.0.0.1:{port}"));
    }

    /// <summary>
    /// One node of a cluster on <paramref name="database"/>: a server process with a data dir of its
    /// own, the shared master key and the suite's root key, plus <paramref name="settings"/>; returns
    /// once it is healthy.
    /// </summary>
    public static async Task<ServerProcess> StartNodeAsync(TestDatabase database, string masterKey, IReadOnlyDictionary<string, string?> settings)
    {
        var dataDir = Path.Combine(Path.GetTempPath(), "gatehouse-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dataDir);
        var environment = new Dictionary<string, string?>(settings)
        {
            ["GATEHOUSE_DATA_DIR"] = dataDir,
            ["GATEHOUSE_DATABASE_URL"] = database.Url,
            ["GATEHOUSE_MASTER_KEY"] = masterKey,
            ["GATEHOUSE_ROOT_KEY"] = GatehouseServer.RootKey,
        };
        var node = Start(environment);
        (await node.WaitHealthyAsync(TimeSpan.FromSeconds(90))).ShouldBeTrue(node.StandardError);
        return node;
    }

    /// <summary>A client of this process with the suite's root key.</summary>
    public ApiClient Root() => new(new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(60) }, GatehouseServer.RootKey);

    /// <summary>
    /// Waits until /health answers 200 (true) or the process exits (false); fails when neither
    /// happens in <paramref name="timeout"/>.
    /// </summary>
    public async Task<bool> WaitHealthyAsync(TimeSpan timeout)
    {
        using var http = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(2) };
        var state = await Eventually.ValueAsync(() => HealthAsync(http), s => s is Healthy or Exited,
            $"the server process {Id} to answer 200 on /health", timeout, s => s + "; stderr: " + StandardError);
        return state == Healthy;
    }

    /// <summary>One look at the process: healthy, exited, or what /health did instead.</summary>
    private async Task<string> HealthAsync(HttpClient http)
    {
        if (_process.HasExited)
        {
            return Exited;
        }

        try
        {
            var status = (await http.GetAsync("/health")).StatusCode;
            return status == HttpStatusCode.OK ? Healthy : $"/health answered {(int)status}";
        }
        catch (HttpRequestException ex)
        {
            return "not listening yet: " + ex.Message;
        }
        catch (TaskCanceledException)
        {
            return "/health did not answer within 2 s";
        }
    }

    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cancellation = new CancellationTokenSource(timeout);
        await _process.WaitForExitAsync(cancellation.Token);
        _process.WaitForExit();
        return _process.ExitCode;
    }

    /// <summary>SIGKILL: no shutdown hooks, no flushing — what a crash or the OOM killer does.</summary>
    public void KillHard()
    {
        _process.Kill(entireProcessTree: true);
        _process.WaitForExit();
    }

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
    }

    private static void Append(StringBuilder builder, string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (builder)
        {
            builder.AppendLine(line);
        }
    }
}
