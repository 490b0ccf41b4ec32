using Gatehouse.Client;
using Spectre.Console.Cli;

namespace Gatehouse.Cli.Infrastructure;

/// <summary>Turns what went wrong into a line on standard error and the documented exit code.</summary>
public static class Errors
{
    public static int Report(Exception exception, TextWriter error)
    {
        switch (exception)
        {
            case UsageException or CommandParseException or CommandRuntimeException:
                error.WriteLine($"gatehouse: {exception.Message}");
                error.WriteLine("Run `gatehouse --help` (or add --help to a command) for its usage.");
                return ExitCodes.Usage;
            case GatehouseApiException api:
                error.WriteLine($"gatehouse: {api.Code}: {api.Message}" + (api.RequestId is null ? "" : $" (request {api.RequestId})"));
                if (api is GatehouseValidationException { Fields.Count: > 0 } validation)
                {
                    foreach (var field in validation.Fields)
                    {
                        error.WriteLine($"  {field.Field}: {field.Reason}");
                    }
                }

                return api switch
                {
                    GatehouseNotFoundException => ExitCodes.NotFound,
                    GatehouseForbiddenException or GatehouseAuthenticationException => ExitCodes.Forbidden,
                    _ => ExitCodes.Error,
                };
            case GatehouseUnavailableException unavailable:
                error.WriteLine($"gatehouse: {unavailable.Message}");
                return ExitCodes.Error;
            case OperationCanceledException:
                return ExitCodes.Error;
            default:
                // Never a stack trace for a person at a terminal: the type and message say enough.
                error.WriteLine($"gatehouse: {exception.GetType().Name}: {exception.Message}");
                return ExitCodes.Error;
        }
    }
}
