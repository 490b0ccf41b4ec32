using BenchmarkDotNet.Running;
using Gatehouse.Benchmarks;

// `dotnet run -c Release -- baseline-server --urls http://127.0.0.1:5090` runs the load-test baseline;
// `oauth-baseline-server` and `openiddict-server` (`--urls … --clients <file>`) are the two comparison
// servers of bench/load/oauth.sh; `latency-probe` times single requests on one connection (bench/load/run.sh, rows f and f0);
// anything else goes to BenchmarkDotNet (e.g. `--filter *`).
if (args.Length > 0 && args[0] == "baseline-server")
{
    BaselineServer.Run(args[1..]);
    return;
}

if (args.Length > 0 && args[0] == "oauth-baseline-server")
{
    OAuthBaselineServer.Run(args[1..]);
    return;
}

if (args.Length > 0 && args[0] == "openiddict-server")
{
    OpenIddictBenchServer.Run(args[1..]);
    return;
}

if (args.Length > 0 && args[0] == "seed")
{
    // seed <dataDir> <masterKeyBase64> <rootKey> <count> <outDir>
    Seed.Run(args[1], args[2], args[3], int.Parse(args[4], System.Globalization.CultureInfo.InvariantCulture), args[5]);
    return;
}

if (args.Length > 0 && args[0] == "latency-probe")
{
    LatencyProbe.Run(args[1..]);
    return;
}

BenchmarkSwitcher.FromAssembly(typeof(BaselineServer).Assembly).Run(args);
