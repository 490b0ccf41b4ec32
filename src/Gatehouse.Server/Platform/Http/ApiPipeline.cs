using System.Data.Common;
using System.Text.Json;
using Gatehouse.Contracts;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.EntityFrameworkCore;

namespace Gatehouse.Server.Platform.Http;

/// <summary>
/// The outermost middleware: assigns the request id, turns every unexpected exception into
/// 500 INTERNAL_ERROR (or 503 when the database is unreachable) with nothing but the request id,
/// and gives unmatched /api/v1 requests (404, 405) the envelope.
/// </summary>
public sealed class ApiPipeline(RequestDelegate next, TimeProvider clock, ILogger<ApiPipeline> logger)
{
    public async Task InvokeAsync(HttpContext context)
    {
        var requestId = RequestIds.Assign(context, clock);
        context.Response.Headers[RequestIds.Header] = requestId;
        // Log lines name the request through RequestLogScopeProvider, which reads this.
        using var current = CurrentRequest.Enter(context);
        try
        {
            await next(context);
            var enveloped = IsEnvelopedPath(context.Request.Path);
            if (!context.Response.HasStarted && (enveloped || IsBarePath(context.Request.Path)))
            {
                // The framework answered without a body (no route, wrong method, wrong media type):
                // give it the envelope like every other /api/v1 response.
                var error = context.Response.StatusCode switch
                {
                    StatusCodes.Status404NotFound => ApiError.NotFound("route"),
                    StatusCodes.Status405MethodNotAllowed => new ApiError(ErrorCodes.MethodNotAllowed, $"{context.Request.Method} is not allowed on this route."),
                    StatusCodes.Status413PayloadTooLarge => new ApiError(ErrorCodes.PayloadTooLarge, "The request body is larger than the configured limit."),
                    StatusCodes.Status415UnsupportedMediaType => new ApiError(ErrorCodes.UnsupportedMediaType, "The request body must be application/json."),
                    StatusCodes.Status400BadRequest => ApiError.Invalid("The request is malformed."),
                    StatusCodes.Status503ServiceUnavailable => new ApiError(ErrorCodes.ServiceUnavailable, "The request could not be completed in time; retry later."),
                    _ => null,
                };
                if (error is not null)
                {
                    await EnvelopeWriter.WriteErrorAsync(context, error, enveloped ? null : ResponseProfile.BareSnakeCase);
                }
            }
        }
        catch (BadHttpRequestException ex)
        {
            await WriteIfPossible(context, TranslateBadRequest(ex));
        }
        catch (JsonException ex)
        {
            await WriteIfPossible(context, MalformedJson(ex));
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            // The client went away; there is nobody to answer.
        }
        catch (Tenancy.OrganizationGoneException)
        {
            await WriteIfPossible(context, ApiError.NotFound("organization"));
        }
        catch (Exception ex) when (IsConcurrentChange(ex) is { } conflict)
        {
            // Expected under concurrency (two requests changing one row): a retry sees the winner's result.
            logger.LogInformation("A concurrent change was answered 409: {Reason}", ex.GetType().Name);
            await WriteIfPossible(context, conflict);
        }
        catch (Exception ex) when (IsDatabaseUnavailable(ex))
        {
            logger.LogError(ex, "The database is unavailable");
            await WriteIfPossible(context, new ApiError(ErrorCodes.ServiceUnavailable, "A dependency is unavailable; retry later."));
        }
        catch (Exception ex)
        {
            logger.LogError(ex, "Unhandled exception");
            await WriteIfPossible(context, new ApiError(ErrorCodes.InternalError, $"An internal error occurred (request {requestId})."));
        }
    }

    public static bool IsEnvelopedPath(PathString path) => path.StartsWithSegments("/api/v1", StringComparison.OrdinalIgnoreCase);

    /// <summary>Seed 003's base path (<c>/v1</c>): its routes answer bare, so do its unknown routes and wrong methods.</summary>
    public static bool IsBarePath(PathString path) => path.StartsWithSegments("/v1", StringComparison.OrdinalIgnoreCase);

    internal static ApiError TranslateBadRequest(BadHttpRequestException ex)
    {
        if (ex.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return new ApiError(ErrorCodes.PayloadTooLarge, "The request body is larger than the configured limit.");
        }

        if (ex.StatusCode == StatusCodes.Status415UnsupportedMediaType)
        {
            return new ApiError(ErrorCodes.UnsupportedMediaType, "The request body must be application/json.");
        }

        if (ex.InnerException is JsonException json)
        {
            return MalformedJson(json);
        }

        if (ex.Message.Contains("body was not provided", StringComparison.OrdinalIgnoreCase)
            || ex.Message.Contains("Implicit body inferred", StringComparison.OrdinalIgnoreCase))
        {
            return ApiError.Invalid("A JSON request body is required.");
        }

        return ApiError.Invalid("The request is malformed.");
    }

    private static ApiError MalformedJson(JsonException ex)
    {
        if (JsonDefaults.RejectedMember(ex) is { } rejected)
        {
            return RejectedFields([rejected]);
        }

        var where = string.IsNullOrEmpty(ex.Path) || ex.Path == "$" ? "" : $" at {ex.Path}";
        var what = ex.Message.Contains("could not be converted", StringComparison.Ordinal) ? "has the wrong type" : "is not valid JSON";
        var message = what == "has the wrong type" ? $"The field{where} has the wrong type." : $"The request body{where} is not valid JSON.";
        var details = new Dictionary<string, object?>();
        if (ex.Path is { Length: > 0 } path)
        {
            details["path"] = path;
        }

        if (ex.BytePositionInLine is { } position)
        {
            details["line"] = ex.LineNumber ?? 0;
            details["position"] = position;
        }

        return ApiError.Invalid(message, details);
    }

    /// <summary>400 for members or query parameters the route does not accept (<c>unknown</c>), got twice (<c>duplicate</c>) or cannot store (<c>invalid</c>: a NUL character).</summary>
    public static ApiError RejectedFields(IReadOnlyList<FieldError> fields)
    {
        var first = fields[0];
        var what = first.Reason switch
        {
            "duplicate" => "is given more than once",
            "invalid" => "must not contain the NUL character (U+0000)",
            _ => "is not accepted by this route",
        };
        var message = fields.Count == 1 ? $"'{first.Field}' {what}." : $"{fields.Count} fields are not accepted: {string.Join(", ", fields.Select(f => $"'{f.Field}' ({f.Reason})"))}.";
        return ApiError.Invalid(message, new Dictionary<string, object?> { ["field"] = first.Field, ["fields"] = fields });
    }

    /// <summary>
    /// The one answer to losing a race, whichever route lost it: a row changed or deleted since it
    /// was read (a version check or an update of a vanished row), or a unique key or reference
    /// taken or removed by a concurrent request. 409, with no database text.
    /// </summary>
    internal static ApiError? IsConcurrentChange(Exception ex)
    {
        if (ex is DbUpdateConcurrencyException)
        {
            return ApiError.Conflict("The resource was changed or deleted by a concurrent request; read it again and retry.");
        }

        for (var current = ex; current is not null; current = current.InnerException)
        {
            // PostgreSQL chose this transaction as a deadlock victim or could not serialize it: it was
            // rolled back whole, so nothing changed and the same request can simply be sent again.
            if (current is Npgsql.PostgresException { SqlState: Npgsql.PostgresErrorCodes.DeadlockDetected or Npgsql.PostgresErrorCodes.SerializationFailure })
            {
                return ApiError.Conflict("The request collided with a concurrent change and was rolled back; retry it.");
            }

            // lock_timeout (Gatehouse:Database:LockTimeoutSeconds): another transaction held the row
            // or table too long; this one was rolled back, and a retry can succeed once it lets go.
            if (current is Npgsql.PostgresException { SqlState: Npgsql.PostgresErrorCodes.LockNotAvailable })
            {
                return ApiError.Conflict("The request waited too long for a resource a concurrent request holds and was rolled back; retry it.");
            }
        }

        for (var current = ex.InnerException; ex is DbUpdateException && current is not null; current = current.InnerException)
        {
            var violated = current switch
            {
                // SQLITE_CONSTRAINT_UNIQUE, _PRIMARYKEY, _FOREIGNKEY.
                Microsoft.Data.Sqlite.SqliteException sqlite => sqlite.SqliteExtendedErrorCode is 2067 or 1555 or 787,
                Npgsql.PostgresException postgres => postgres.SqlState is Npgsql.PostgresErrorCodes.UniqueViolation or Npgsql.PostgresErrorCodes.ForeignKeyViolation,
                _ => false,
            };
            if (violated)
            {
                return ApiError.Conflict("The request conflicts with a concurrent change (a name or key already taken, or a resource removed); read again and retry.");
            }
        }

        return null;
    }

    private static bool IsDatabaseUnavailable(Exception ex)
    {
        for (var current = ex; current is not null; current = current.InnerException)
        {
            switch (current)
            {
                case DatabaseUnavailableException:
                case Npgsql.PostgresException postgres when IsConnectionState(postgres.SqlState):
                    return true;
                case Npgsql.NpgsqlException { IsTransient: true }:
                case Npgsql.NpgsqlException and not Npgsql.PostgresException:
                case System.Net.Sockets.SocketException:
                case TimeoutException:
                    return true;
                case Microsoft.Data.Sqlite.SqliteException sqlite when sqlite.SqliteErrorCode is 5 or 6 or 10 or 14:
                    return true; // BUSY, LOCKED, IOERR, CANTOPEN
                case DbUpdateException or DbException:
                    continue;
            }
        }

        return false;
    }

    /// <summary>Connection exceptions (08…), operator intervention (57P…), too many connections, database not accepting connections.</summary>
    private static bool IsConnectionState(string sqlState) =>
        sqlState.StartsWith("08", StringComparison.Ordinal) || sqlState.StartsWith("57P", StringComparison.Ordinal) || sqlState is "53300" or "55000";

    private async Task WriteIfPossible(HttpContext context, ApiError error)
    {
        if (context.Response.HasStarted)
        {
            context.Abort();
            return;
        }

        context.Response.Clear();
        context.Response.Headers[RequestIds.Header] = RequestIds.Get(context);
        SecurityHeaders.Apply(context);
        if (context.Features.Get<IHttpResponseBodyFeature>() is null)
        {
            return;
        }

        try
        {
            await error.ExecuteAsync(context);
        }
        catch (Exception ex)
        {
            logger.LogWarning(ex, "Could not write the error response");
        }
    }
}

/// <summary>The request id on every log line of a request (see <see cref="RequestLogScopeProvider"/>).</summary>
internal sealed class RequestLogScope(string requestId) : IReadOnlyList<KeyValuePair<string, object?>>
{
    public int Count => 1;

    public KeyValuePair<string, object?> this[int index] =>
        index == 0 ? new("RequestId", requestId) : throw new ArgumentOutOfRangeException(nameof(index));

    public IEnumerator<KeyValuePair<string, object?>> GetEnumerator()
    {
        yield return this[0];
    }

    System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();

    public override string ToString() => $"RequestId:{requestId}";
}

/// <summary>Thrown when a dependency (the database, or the audit store) cannot take the write: answered as 503.</summary>
public sealed class DatabaseUnavailableException(string message, Exception? inner = null) : Exception(message, inner);
