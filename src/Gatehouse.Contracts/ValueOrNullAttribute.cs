namespace Gatehouse.Contracts;

/// <summary>
/// A member of a change request read as raw JSON, so that <c>null</c> (clear the value) and
/// absence (keep it) differ. It says what the value is when it is not null, for the OpenAPI
/// document and the clients generated from it.
/// </summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class ValueOrNullAttribute(Type valueType) : Attribute
{
    /// <summary>The type of a non-null value: a string, a timestamp, an integer, a JSON object or a wire record.</summary>
    public Type ValueType => valueType;

    /// <summary>The least allowed value of an integer, when there is one.</summary>
    public long Minimum { get; init; } = long.MinValue;
}
