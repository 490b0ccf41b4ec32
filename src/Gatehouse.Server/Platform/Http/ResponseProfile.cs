using System.Runtime.CompilerServices;
using System.Text.Json;

namespace Gatehouse.Server.Platform.Http;

/// <summary>How a route's answers are wrapped: in the envelope, or bare as the documented product sends them.</summary>
public enum ResponseStyle
{
    /// <summary><c>{success, data|error, meta}</c> (API.md §1).</summary>
    Envelope,

    /// <summary>The resource itself; errors as <c>{"error": {code, message, details?}}</c>.</summary>
    Bare,
}

/// <summary>
/// The wire shape of a route's responses, declared once as endpoint metadata
/// (<see cref="ResponseProfiles.WithResponseProfile{TBuilder}"/>) and honoured by the one writer
/// of success and error bodies (<see cref="EnvelopeWriter"/>): the handler returns the same result
/// whatever the route's profile, so an alias in a seed product's shape runs the canonical handler.
/// Routes without one answer with <see cref="Envelope"/>.
/// </summary>
public sealed record ResponseProfile(ResponseStyle Style, bool SnakeCase)
{
    /// <summary>The house style: the envelope, camelCase.</summary>
    public static readonly ResponseProfile Envelope = new(ResponseStyle.Envelope, SnakeCase: false);

    /// <summary>The envelope, with snake_case member names (<c>created_at</c>, <c>request_id</c>).</summary>
    public static readonly ResponseProfile EnvelopeSnakeCase = new(ResponseStyle.Envelope, SnakeCase: true);

    /// <summary>No envelope, snake_case member names: lists are bare arrays.</summary>
    public static readonly ResponseProfile BareSnakeCase = new(ResponseStyle.Bare, SnakeCase: true);

    /// <summary>The status of every success (a product answering 200 where the canonical route answers 201); null keeps the handler's.</summary>
    public int? SuccessStatus { get; init; }

    /// <summary>Bare only: the success body is <c>{"message": …}</c> instead of the result (a product's delete confirmation).</summary>
    public string? SuccessMessage { get; init; }

    /// <summary>The profile of the route serving <paramref name="httpContext"/>.</summary>
    public static ResponseProfile Of(HttpContext httpContext) =>
        httpContext.GetEndpoint()?.Metadata.GetMetadata<ResponseProfile>() ?? Envelope;

    /// <summary>The serializer options of this profile, derived once from the application's.</summary>
    public JsonSerializerOptions Options(JsonSerializerOptions application) =>
        SnakeCase ? SnakeCaseOptions.GetValue(application, static o => new JsonSerializerOptions(o) { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower }) : application;

    private static readonly ConditionalWeakTable<JsonSerializerOptions, JsonSerializerOptions> SnakeCaseOptions = [];
}

public static class ResponseProfiles
{
    /// <summary>Answers this route's successes and errors in <paramref name="profile"/>'s shape.</summary>
    public static TBuilder WithResponseProfile<TBuilder>(this TBuilder builder, ResponseProfile profile) where TBuilder : IEndpointConventionBuilder =>
        builder.WithMetadata(profile);
}
