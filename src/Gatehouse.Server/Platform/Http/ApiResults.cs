using System.Reflection;
using Gatehouse.Contracts;
using Microsoft.AspNetCore.Http.Metadata;

namespace Gatehouse.Server.Platform.Http;

/// <summary>200 with the envelope around <typeparamref name="T"/>.</summary>
public sealed class ApiOk<T>(T data, int statusCode = StatusCodes.Status200OK) : IResult, IEndpointMetadataProvider, IStatusCodeHttpResult, IValueHttpResult, IValueHttpResult<T>
{
    public T Value => data;
    object? IValueHttpResult.Value => data;
    public int? StatusCode => statusCode;

    public Task ExecuteAsync(HttpContext httpContext) => EnvelopeWriter.WriteDataAsync(httpContext, statusCode, data);

    public static void PopulateMetadata(MethodInfo method, EndpointBuilder builder) =>
        builder.Metadata.Add(new ProducesResponseTypeMetadata(StatusCodes.Status200OK, typeof(Envelope<T>), ["application/json"]));
}

/// <summary>201 with the envelope around the created resource.</summary>
public sealed class ApiCreated<T>(T data) : IResult, IEndpointMetadataProvider, IStatusCodeHttpResult, IValueHttpResult, IValueHttpResult<T>
{
    public T Value => data;
    object? IValueHttpResult.Value => data;
    public int? StatusCode => StatusCodes.Status201Created;

    public Task ExecuteAsync(HttpContext httpContext) => EnvelopeWriter.WriteDataAsync(httpContext, StatusCodes.Status201Created, data);

    public static void PopulateMetadata(MethodInfo method, EndpointBuilder builder) =>
        builder.Metadata.Add(new ProducesResponseTypeMetadata(StatusCodes.Status201Created, typeof(Envelope<T>), ["application/json"]));
}

/// <summary>200 with a list in <c>data</c> and <c>meta.pagination</c>.</summary>
public sealed class ApiPage<T>(IReadOnlyList<T> items, Pagination pagination) : IResult, IEndpointMetadataProvider, IStatusCodeHttpResult
{
    public IReadOnlyList<T> Items => items;
    public int? StatusCode => StatusCodes.Status200OK;

    public Task ExecuteAsync(HttpContext httpContext) => EnvelopeWriter.WriteDataAsync(httpContext, StatusCodes.Status200OK, items, pagination);

    public static void PopulateMetadata(MethodInfo method, EndpointBuilder builder) =>
        builder.Metadata.Add(new ProducesResponseTypeMetadata(StatusCodes.Status200OK, typeof(Envelope<IReadOnlyList<T>>), ["application/json"]));
}

/// <summary>An expected failure, written as the error envelope with the status its code demands.</summary>
public sealed class ApiError : IResult, IEndpointMetadataProvider, IStatusCodeHttpResult
{
    public ApiError(string code, string message, IReadOnlyDictionary<string, object?>? details = null)
    {
        Code = code;
        Message = message;
        Details = details;
    }

    public string Code { get; }
    public string Message { get; }
    public IReadOnlyDictionary<string, object?>? Details { get; }
    public int? StatusCode => ErrorCodes.Status[Code];

    /// <summary>Extra response headers (Retry-After, WWW-Authenticate).</summary>
    public IDictionary<string, string> Headers { get; } = new Dictionary<string, string>();

    public static ApiError NotFound(string what = "resource") => new(ErrorCodes.NotFound, $"The {what} was not found.");

    public static ApiError Invalid(string message, IReadOnlyDictionary<string, object?>? details = null) => new(ErrorCodes.InvalidRequest, message, details);

    public static ApiError Conflict(string message) => new(ErrorCodes.Conflict, message);

    public static ApiError Validation(IReadOnlyList<FieldError> fields) =>
        new(ErrorCodes.ValidationFailed, fields.Count == 1 ? $"{fields[0].Field} {Describe(fields[0].Reason)}" : $"{fields.Count} fields are invalid",
            new Dictionary<string, object?> { ["fields"] = fields });

    public static ApiError Validation(string field, string reason) => Validation([new FieldError(field, reason)]);

    public static ApiError Forbidden(string required) =>
        new(ErrorCodes.Forbidden, $"The API key lacks the permission '{required}'.", new Dictionary<string, object?> { ["required"] = required });

    public Task ExecuteAsync(HttpContext httpContext) => EnvelopeWriter.WriteErrorAsync(httpContext, this);

    public static void PopulateMetadata(MethodInfo method, EndpointBuilder builder)
    {
        // The statuses any authenticated /api/v1 handler can answer with; routes add 409/422 where they validate.
        foreach (var status in new[] { 400, 401, 403, 404, 422, 429, 500, 503 })
        {
            builder.Metadata.Add(new ProducesResponseTypeMetadata(status, typeof(ErrorEnvelope), ["application/json"]));
        }
    }

    private static string Describe(string reason) => reason switch
    {
        "required" => "is required",
        "must_be_own" => "must be the owner of the calling credential (an owned credential issues credentials of its own owner only)",
        _ => reason,
    };
}
