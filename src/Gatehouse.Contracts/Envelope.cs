using System.Diagnostics.CodeAnalysis;
using System.Text.Json.Serialization;

namespace Gatehouse.Contracts;

/// <summary>Metadata on every /api/v1 response.</summary>
public sealed record ResponseMeta(string RequestId, DateTime Timestamp)
{
    /// <summary>Present on list responses.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public Pagination? Pagination { get; init; }
}

/// <summary>Paging state of a list response.</summary>
public sealed record Pagination(long Total, int Limit, int Offset, int Page, bool HasMore);

/// <summary>A successful response: <c>success</c> is always true.</summary>
public sealed record Envelope<T>(T Data, ResponseMeta Meta)
{
    [JsonPropertyOrder(-1)]
    [SuppressMessage("Performance", "CA1822", Justification = "A wire member: System.Text.Json writes instance properties only.")]
    public bool Success => true;
}

/// <summary>A failed response: <c>success</c> is always false.</summary>
public sealed record ErrorEnvelope(ErrorBody Error, ResponseMeta Meta)
{
    [JsonPropertyOrder(-1)]
    [SuppressMessage("Performance", "CA1822", Justification = "A wire member: System.Text.Json writes instance properties only.")]
    public bool Success => false;
}

/// <summary>The error: a stable <c>code</c>, a human message, optional details.</summary>
public sealed record ErrorBody(
    string Code,
    string Message,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyDictionary<string, object?>? Details = null);

/// <summary>One field that broke a validation rule.</summary>
public sealed record FieldError(string Field, string Reason);

/// <summary>The result of a delete: which resource, and that it is gone.</summary>
public sealed record Deleted(string Id)
{
    [JsonPropertyName("deleted")]
    [SuppressMessage("Performance", "CA1822", Justification = "A wire member: System.Text.Json writes instance properties only.")]
    public bool IsDeleted => true;
}

/// <summary>An error of a route answering bare (a documented product's shape, docs/compatibility.md): the envelope's <c>error</c> on its own.</summary>
public sealed record BareError(ErrorBody Error);

/// <summary>A bare confirmation of a route answering bare: <c>{"message": …}</c>.</summary>
public sealed record BareMessage(string Message);
