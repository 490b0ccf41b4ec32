using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace Gatehouse.Server.Tests.Cluster;

/// <summary>The tests that share one three-node cluster: they run one after another, never beside each other.</summary>
[CollectionDefinition(Name)]
public sealed class ClusterCollection : ICollectionFixture<ClusterFixture>
{
    public const string Name = "Three nodes behind haproxy";
}

/// <summary>One server process of the cluster, with a root client bound to it alone (no balancer in between).</summary>
public sealed class ClusterNode(int index, int port, IReadOnlyDictionary<string, string?> environment)
{
    public int Index { get; } = index;
    public int Port { get; } = port;
    public IReadOnlyDictionary<string, string?> Environment { get; } = environment;
    public ServerProcess Process { get; set; } = null!;
    public ApiClient Root { get; } = new(new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(30) }, GatehouseServer.RootKey);

    public string Name => $"node{Index}";

    /// <summary>SIGKILL: no shutdown hooks; its claims and leases simply stop being renewed.</summary>
    public void Kill() => Process.KillHard();

    public ApiClient Client(string key) => new(new HttpClient { BaseAddress = Root.Http.BaseAddress, Timeout = TimeSpan.FromSeconds(30) }, key);
}

/// <summary>
/// Three server processes on one fresh PostgreSQL database, started at the same moment (their
/// migrations race, which is one of the things under test), each with its own data dir and the
/// same master key and root key, behind a real haproxy: round-robin, no stickiness, health-checked
/// on <c>/health/ready</c>. PostgreSQL only: without <c>GATEHOUSE_TEST_PROVIDER=postgres</c> nothing
/// starts and every test skips.
/// </summary>
public sealed class ClusterFixture : IAsyncLifetime
{
    public const int NodeCount = 3;
    private const string HaproxyPath = "/usr/sbin/haproxy";

    private readonly string _workDir = Path.Combine(Path.GetTempPath(), "gatehouse-cluster", Guid.NewGuid().ToString("N"));
    private static readonly Lock ReportLock = new();
    private Process? _haproxy;
    private HttpClient _stats = null!;
    private readonly StringBuilder _haproxyOutput = new();

    public TestDatabase Database { get; private set; } = null!;
    public IReadOnlyList<ClusterNode> Nodes { get; private set; } = [];

    /// <summary>A root client through haproxy.</summary>
    public ApiClient Root { get; private set; } = null!;
    public Uri BalancerAddress { get; private set; } = null!;

    /// <summary>Which nodes became healthy when all three started at once (the migration race).</summary>
    public IReadOnlyList<bool> StartedHealthy { get; private set; } = [];

    /// <summary>True when the long mode was asked for (<c>GATEHOUSE_CLUSTER_LONG=1</c>): more samples, same assertions.</summary>
    public static bool LongMode => Environment.GetEnvironmentVariable("GATEHOUSE_CLUSTER_LONG") is "1" or "true";

    public ApiClient Client(string key) => new(new HttpClient { BaseAddress = BalancerAddress, Timeout = TimeSpan.FromSeconds(30) }, key);

    public async ValueTask InitializeAsync()
    {
        if (!TestDatabase.PostgresRequested)
        {
            return;
        }

        if (!File.Exists(HaproxyPath))
        {
            throw new InvalidOperationException(
                $"The cluster tests need haproxy at {HaproxyPath} (Debian package 'haproxy', installed by .ci/run): apt-get install haproxy");
        }

        Directory.CreateDirectory(_workDir);
        Database = await TestDatabase.CreateAsync();
        var masterKey = Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));
        var settings = ClusterSettings();
        var nodes = new List<ClusterNode>();
        for (var i = 0; i < NodeCount; i++)
        {
            var dataDir = Path.Combine(_workDir, $"node{i}");
            Directory.CreateDirectory(dataDir);
            var environment = new Dictionary<string, string?>(settings)
            {
                ["GATEHOUSE_DATA_DIR"] = dataDir,
                ["GATEHOUSE_DATABASE_URL"] = Database.Url,
                ["GATEHOUSE_MASTER_KEY"] = masterKey,
                ["GATEHOUSE_ROOT_KEY"] = GatehouseServer.RootKey,
            };
            nodes.Add(new ClusterNode(i, ServerProcess.FreePort(), environment));
        }

        // All three at once: the first start of an empty database is when migrations would collide.
        foreach (var node in nodes)
        {
            node.Process = ServerProcess.Start(node.Environment, node.Port);
        }

        Nodes = nodes;
        StartedHealthy = await Task.WhenAll(nodes.Select(n => n.Process.WaitHealthyAsync(TimeSpan.FromSeconds(120))));
        var port = ServerProcess.FreePort();
        BalancerAddress = new Uri($"http://127.0.0.1:{port}");
        var statsPort = ServerProcess.FreePort();
        _stats = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{statsPort}"), Timeout = TimeSpan.FromSeconds(5) };
        StartHaproxy(port, statsPort);
        Root = new ApiClient(new HttpClient { BaseAddress = BalancerAddress, Timeout = TimeSpan.FromSeconds(30) }, GatehouseServer.RootKey);
        if (StartedHealthy.All(h => h))
        {
            await WaitBalancedAsync();
        }
    }

    /// <summary>Short settings that make the cluster's background work fast enough for a test.</summary>
    private static Dictionary<string, string?> ClusterSettings() => new()
    {
        ["Gatehouse__Webhooks__AllowInsecure"] = "true",
        // A job lease of a killed node lapses within seconds instead of 30.
        ["Gatehouse__Jobs__LeaseSeconds"] = "3",
        // Only the tests' triggers re-encrypt, so a triggered pass always has work.
        ["Gatehouse__Vault__ReencryptInBackground"] = "false",
        // The harness itself makes thousands of calls with the root key; the rate-limit tests use their own policies.
        ["Gatehouse__RateLimits__AdminPerMinute"] = "10000000",
        ["Gatehouse__RateLimits__PerMinute"] = "10000000",
        ["Gatehouse__RateLimits__PerFiveMinutes"] = "10000000",
        ["Gatehouse__RateLimits__PerDay"] = "10000000",
        // A killed node's webhook claims and idempotent requests are free again within seconds.
        ["Gatehouse__Webhooks__ClaimLeaseSeconds"] = "5",
        ["Gatehouse__Cluster__NodeTimeoutSeconds"] = "5",
        ["Gatehouse__Cluster__HeartbeatSeconds"] = "1",
    };

    private void StartHaproxy(int port, int statsPort)
    {
        // Round-robin without stickiness, so consecutive requests land on different nodes. A request
        // that meets a dead node before the health check marks it down is sent again to another one
        // (retries + redispatch); only connection-level failures are retried, never a status the
        // server chose, so a 5xx of Gatehouse itself still reaches the test.
        var servers = string.Join('\n', Nodes.Select(n => $"    server {n.Name} 127.0.0.1:{n.Port} check"));
        var config = $"""
            global
                maxconn 2000

            defaults
                mode http
                timeout connect 1s
                timeout client 60s
                timeout server 60s
                timeout check 1s
                retries 3
                option redispatch 1
                retry-on conn-failure empty-response junk-response

            frontend stats
                bind 127.0.0.1:{statsPort}
                stats enable
                stats uri /stats

            frontend gatehouse
                bind 127.0.0.1:{port}
                default_backend nodes

            backend nodes
                balance roundrobin
                option httpchk GET /health/ready
                http-check expect status 200
                default-server inter 300ms fall 2 rise 1
            {servers}
            """;
        var path = Path.Combine(_workDir, "haproxy.cfg");
        File.WriteAllText(path, config + "\n");
        var info = new ProcessStartInfo(HaproxyPath)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add("-f");
        info.ArgumentList.Add(path);
        info.ArgumentList.Add("-db");
        _haproxy = Process.Start(info) ?? throw new InvalidOperationException("haproxy did not start");
        _haproxy.OutputDataReceived += (_, e) => AppendHaproxy(e.Data);
        _haproxy.ErrorDataReceived += (_, e) => AppendHaproxy(e.Data);
        _haproxy.BeginOutputReadLine();
        _haproxy.BeginErrorReadLine();
    }

    private void AppendHaproxy(string? line)
    {
        if (line is not null)
        {
            lock (_haproxyOutput)
            {
                _haproxyOutput.AppendLine(line);
            }
        }
    }

    public string HaproxyOutput
    {
        get
        {
            lock (_haproxyOutput)
            {
                return _haproxyOutput.ToString();
            }
        }
    }

    /// <summary>Waits until haproxy forwards requests and its health checks hold every running node UP (read from its stats page).</summary>
    public async Task WaitBalancedAsync()
    {
        var running = Nodes.Where(n => !n.Process.HasExited).Select(n => n.Name).ToHashSet();
        await Eventually.ValueAsync(async () =>
        {
            if (_haproxy is null || _haproxy.HasExited)
            {
                throw new InvalidOperationException("haproxy exited: " + HaproxyOutput);
            }

            return await ServerStatesAsync();
        }, states => running.All(n => states.GetValueOrDefault(n) == "UP"), "haproxy to hold every running node UP", TimeSpan.FromSeconds(60),
            states => string.Join(", ", states.Select(s => $"{s.Key}={s.Value}")) + "; haproxy: " + HaproxyOutput);
    }

    /// <summary>haproxy's view of each node (UP, DOWN, …), from the CSV of its stats page.</summary>
    public async Task<Dictionary<string, string>> ServerStatesAsync()
    {
        try
        {
            var csv = await _stats.GetStringAsync("/stats;csv");
            var lines = csv.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            var header = lines[0].TrimStart('#', ' ').Split(',');
            var (proxy, server, status) = (Array.IndexOf(header, "pxname"), Array.IndexOf(header, "svname"), Array.IndexOf(header, "status"));
            return lines.Skip(1).Select(l => l.Split(','))
                .Where(f => f[proxy] == "nodes" && f[server] is not ("BACKEND" or "FRONTEND"))
                .ToDictionary(f => f[server], f => f[status]);
        }
        catch (HttpRequestException)
        {
            return [];
        }
    }

    /// <summary>Starts a killed node again on the same port and data dir, and waits until haproxy has it back.</summary>
    public async Task RestartAsync(ClusterNode node)
    {
        if (!node.Process.HasExited)
        {
            return;
        }

        await node.Process.DisposeAsync();
        node.Process = ServerProcess.Start(node.Environment, node.Port);
        (await node.Process.WaitHealthyAsync(TimeSpan.FromSeconds(120))).ShouldBeTrue(node.Process.StandardError);
        await WaitBalancedAsync();
    }

    public async ValueTask DisposeAsync()
    {
        if (_haproxy is not null)
        {
            if (!_haproxy.HasExited)
            {
                _haproxy.Kill(entireProcessTree: true);
                await _haproxy.WaitForExitAsync();
            }

            _haproxy.Dispose();
        }

        _stats?.Dispose();

        foreach (var node in Nodes)
        {
            if (node.Process is not null)
            {
                await node.Process.DisposeAsync();
            }
        }

        if (Database is not null)
        {
            await Database.DisposeAsync();
        }

        try
        {
            Directory.Delete(_workDir, recursive: true);
        }
        catch (IOException)
        {
            // A node may still be closing a file; the temp dir is cleaned by the OS eventually.
        }
    }

    /// <summary>Where the figures go: TestContext diagnostics, and a Markdown file under <c>GATEHOUSE_CLUSTER_RESULTS</c> when set.</summary>
    public static void Report(string section, string text)
    {
        TestContext.Current.SendDiagnosticMessage($"[cluster] {section}: {text}");
        TestContext.Current.TestOutputHelper?.WriteLine($"{section}: {text}");
        var file = Environment.GetEnvironmentVariable("GATEHOUSE_CLUSTER_RESULTS");
        if (!string.IsNullOrEmpty(file))
        {
            lock (ReportLock)
            {
                File.AppendAllText(file, string.Create(CultureInfo.InvariantCulture, $"- **{section}**: {text}\n"));
            }
        }
    }
}
