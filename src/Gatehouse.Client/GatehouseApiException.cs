using System.Net;
using System.Text.Json;
using Gatehouse.Contracts;

namespace Gatehouse.Client;

/// <summary>
/// The server answered with an error envelope (or, from something in between, with no envelope at
/// all). <see cref="Code"/> is the stable error code of the API (<see cref="ErrorCodes"/>); catch a
/// subtype for the common ones or switch on the code.
/// </summary>
public class GatehouseApiException : Exception
{
    public GatehouseApiException(HttpStatusCode statusCode, string code, string message, string? requestId, JsonElement details, TimeSpan? retryAfter = null)
        : base(message)
    {
        StatusCode = statusCode;
        Code = code;
        RequestId = requestId;
        Details = details;
        RetryAfter = retryAfter;
    }

    public GatehouseApiException()
        : this(HttpStatusCode.InternalServerError, ErrorCodes.InternalError, "The server failed.", null, default)
    {
    }

    public GatehouseApiException(string message)
        : this(HttpStatusCode.InternalServerError, ErrorCodes.InternalError, message, null, default)
    {
    }

    public GatehouseApiException(string message, Exception innerException)
        : base(message, innerException)
    {
        StatusCode = HttpStatusCode.InternalServerError;
        Code = ErrorCodes.InternalError;
    }

    /// <summary>The HTTP status of the response.</summary>
    public HttpStatusCode StatusCode { get; }

    /// <summary><c>NOT_FOUND</c>, <c>FORBIDDEN</c>, <c>VALIDATION_FAILED</c>, <c>RATE_LIMIT_EXCEEDED</c> …; <c>UNEXPECTED_RESPONSE</c> when the body was not an envelope.</summary>
    public string Code { get; }

    /// <summary>The response's request id (<c>meta.requestId</c> or <c>X-Request-Id</c>): quote it to whoever runs the server.</summary>
    public string? RequestId { get; }

    /// <summary><c>error.details</c> as sent (for example <c>fields</c> or <c>required</c>); <c>Undefined</c> when there were none.</summary>
    public JsonElement Details { get; }

    /// <summary>The server's <c>Retry-After</c>, when it sent one.</summary>
    public TimeSpan? RetryAfter { get; }

    /// <summary>The code used when a response carries no error envelope (a proxy's page, an empty body).</summary>
    public const string UnexpectedResponse = "UNEXPECTED_RESPONSE";

    internal static GatehouseApiException Create(HttpStatusCode status, string code, string message, string? requestId, JsonElement details, TimeSpan? retryAfter) => code switch
    {
        ErrorCodes.NotFound => new GatehouseNotFoundException(status, code, message, requestId, details, retryAfter),
        ErrorCodes.Forbidden => new GatehouseForbiddenException(status, code, message, requestId, details, retryAfter),
        ErrorCodes.AuthenticationFailed or ErrorCodes.InvalidApiKey => new GatehouseAuthenticationException(status, code, message, requestId, details, retryAfter),
        ErrorCodes.ValidationFailed or ErrorCodes.InvalidRequest => new GatehouseValidationException(status, code, message, requestId, details, retryAfter),
        ErrorCodes.Conflict => new GatehouseConflictException(status, code, message, requestId, details, retryAfter),
        ErrorCodes.RateLimitExceeded => new GatehouseRateLimitException(status, code, message, requestId, details, retryAfter),
        _ => new GatehouseApiException(status, code, message, requestId, details, retryAfter),
    };
}

/// <summary><c>404 NOT_FOUND</c>: it does not exist, or it belongs to another organization (the API does not say which).</summary>
public sealed class GatehouseNotFoundException(HttpStatusCode statusCode, string code, string message, string? requestId, JsonElement details, TimeSpan? retryAfter)
    : GatehouseApiException(statusCode, code, message, requestId, details, retryAfter);

/// <summary><c>403 FORBIDDEN</c>: the credential lacks a permission (<c>details.required</c> names it).</summary>
public sealed class GatehouseForbiddenException(HttpStatusCode statusCode, string code, string message, string? requestId, JsonElement details, TimeSpan? retryAfter)
    : GatehouseApiException(statusCode, code, message, requestId, details, retryAfter);

/// <summary><c>401 AUTHENTICATION_FAILED</c> or <c>INVALID_API_KEY</c>: no credential, or one that is not valid.</summary>
public sealed class GatehouseAuthenticationException(HttpStatusCode statusCode, string code, string message, string? requestId, JsonElement details, TimeSpan? retryAfter)
    : GatehouseApiException(statusCode, code, message, requestId, details, retryAfter);

/// <summary><c>422 VALIDATION_FAILED</c> or <c>400 INVALID_REQUEST</c>: <see cref="Fields"/> says which fields and why.</summary>
public sealed class GatehouseValidationException(HttpStatusCode statusCode, string code, string message, string? requestId, JsonElement details, TimeSpan? retryAfter)
    : GatehouseApiException(statusCode, code, message, requestId, details, retryAfter)
{
    /// <summary><c>details.fields</c>: each field and the rule it broke (empty when the server named none).</summary>
    public IReadOnlyList<FieldError> Fields { get; } = ReadFields(details);

    private static List<FieldError> ReadFields(JsonElement details)
    {
        var fields = new List<FieldError>();
        if (details.ValueKind == JsonValueKind.Object && details.TryGetProperty("fields", out var list) && list.ValueKind == JsonValueKind.Array)
        {
            foreach (var item in list.EnumerateArray())
            {
                if (item.ValueKind == JsonValueKind.Object && item.TryGetProperty("field", out var field) && item.TryGetProperty("reason", out var reason))
                {
                    fields.Add(new FieldError(field.ToString(), reason.ToString()));
                }
            }
        }

        return fields;
    }
}

/// <summary><c>409 CONFLICT</c>: a duplicate name, a state that forbids the change, or an idempotency key reused with another body.</summary>
public sealed class GatehouseConflictException(HttpStatusCode statusCode, string code, string message, string? requestId, JsonElement details, TimeSpan? retryAfter)
    : GatehouseApiException(statusCode, code, message, requestId, details, retryAfter);

/// <summary><c>429 RATE_LIMIT_EXCEEDED</c> after every retry: <see cref="GatehouseApiException.RetryAfter"/> says when to come back.</summary>
public sealed class GatehouseRateLimitException(HttpStatusCode statusCode, string code, string message, string? requestId, JsonElement details, TimeSpan? retryAfter)
    : GatehouseApiException(statusCode, code, message, requestId, details, retryAfter);

/// <summary>
/// The server could not be reached, or did not answer in time, on every attempt: a connection
/// failure or a timeout (the inner exception is the last one). Not thrown for the caller's own cancellation.
/// </summary>
public sealed class GatehouseUnavailableException : Exception
{
    public GatehouseUnavailableException()
        : base("Gatehouse could not be reached.")
    {
    }

    public GatehouseUnavailableException(string message)
        : base(message)
    {
    }

    public GatehouseUnavailableException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>True when the last attempt timed out (rather than failed to connect).</summary>
    public bool TimedOut => InnerException is TimeoutException or OperationCanceledException;
}
