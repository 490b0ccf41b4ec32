namespace Gatehouse.Contracts;

/// <summary>The one catalog of error codes (docs/errors.md); the code decides the HTTP status.</summary>
public static class ErrorCodes
{
    public const string InvalidRequest = "INVALID_REQUEST";
    public const string ValidationFailed = "VALIDATION_FAILED";
    public const string AuthenticationFailed = "AUTHENTICATION_FAILED";
    public const string InvalidApiKey = "INVALID_API_KEY";
    public const string Forbidden = "FORBIDDEN";
    public const string NotFound = "NOT_FOUND";

    /// <summary>A device app (Relock: gateway) named in a body by <c>appId</c> or <c>gatewayUuid</c> that the caller does not have.</summary>
    public const string GatewayNotFound = "GATEWAY_NOT_FOUND";
    public const string MethodNotAllowed = "METHOD_NOT_ALLOWED";
    public const string Conflict = "CONFLICT";
    public const string PayloadTooLarge = "PAYLOAD_TOO_LARGE";
    public const string UnsupportedMediaType = "UNSUPPORTED_MEDIA_TYPE";
    public const string RateLimitExceeded = "RATE_LIMIT_EXCEEDED";
    public const string InternalError = "INTERNAL_ERROR";
    public const string ServiceUnavailable = "SERVICE_UNAVAILABLE";

    public static readonly IReadOnlyDictionary<string, int> Status = new Dictionary<string, int>
    {
        [InvalidRequest] = 400,
        [ValidationFailed] = 422,
        [AuthenticationFailed] = 401,
        [InvalidApiKey] = 401,
        [Forbidden] = 403,
        [NotFound] = 404,
        [GatewayNotFound] = 404,
        [MethodNotAllowed] = 405,
        [Conflict] = 409,
        [PayloadTooLarge] = 413,
        [UnsupportedMediaType] = 415,
        [RateLimitExceeded] = 429,
        [InternalError] = 500,
        [ServiceUnavailable] = 503,
    };
}
