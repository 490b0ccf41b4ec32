using BenchmarkDotNet.Running;
using Gatehouse.Benchmarks;

// `dotnet run -c Release -- baseline-server --urls http://127.0.0.1:5090` runs the load-test baseline;
// anything else goes to BenchmarkDotNet (e.g. `--filter *`).
if (args.Length > 0 && args[0] == "baseline-server")
{
    BaselineServer.Run(args[1..]);
    return;
}

BenchmarkSwitcher.FromAssembly(typeof(BaselineServer).Assembly).Run(args);
