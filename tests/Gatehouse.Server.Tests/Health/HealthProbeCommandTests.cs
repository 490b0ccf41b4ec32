namespace Gatehouse.Server.Tests.Health;

/// <summary><c>Gatehouse.Server healthcheck</c>, the container image's health check: exit 0 when the server is ready, 1 when it cannot be reached.</summary>
public sealed class HealthProbeCommandTests(SharedServer shared)
{
    [Fact]
    public async Task The_healthcheck_command_exits_0_for_a_ready_server_and_1_for_none()
    {
        var ready = await ServerProcess.RunCommandAsync(new Dictionary<string, string?>(), Path.GetTempPath(), "healthcheck", new Uri(shared.Server.BaseAddress, "/health/ready").ToString());
        var none = await ServerProcess.RunCommandAsync(new Dictionary<string, string?>(), Path.GetTempPath(), "healthcheck", $"http://127.0.0.1:{ServerProcess.FreePort()}/health/ready");

        ready.ExitCode.ShouldBe(0, ready.Error);
        none.ExitCode.ShouldBe(1);
        none.Error.ShouldContain("gatehouse: http://127.0.0.1:");
    }
}
