using System.Reflection;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using Gatehouse.Contracts;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace Gatehouse.Server.Platform.Http;

/// <summary>
/// The wire types as a generated client needs them: names a person would write, the JSON types
/// our own converters produce, and the members every response carries marked required.
/// </summary>
public static class OpenApiSchemas
{
    /// <summary>
    /// Envelopes are named after what they carry (<c>ApiKeyViewEnvelope</c>, <c>ApiKeyViewListEnvelope</c>)
    /// rather than the framework's <c>EnvelopeOfIReadOnlyListOf…</c>; a free JSON value stays inline.
    /// </summary>
    public static string? ReferenceId(JsonTypeInfo type)
    {
        if (type.Type == typeof(JsonElement))
        {
            return null;
        }

        return EnvelopeName(type.Type) ?? OpenApiOptions.CreateDefaultSchemaReferenceId(type);
    }

    /// <summary>The component name of a wire record or envelope; null for other types (kept inline).</summary>
    public static string? ReferenceId(Type type) =>
        EnvelopeName(type) ?? (type.Assembly == typeof(Envelope<>).Assembly && !type.IsGenericType ? type.Name : null);

    private static string? EnvelopeName(Type type)
    {
        if (!type.IsGenericType || type.GetGenericTypeDefinition() != typeof(Envelope<>))
        {
            return null;
        }

        var data = type.GetGenericArguments()[0];
        return ListItem(data) is { } item ? $"{item.Name}ListEnvelope"
            : data.IsGenericType ? "ObjectEnvelope"
            : $"{data.Name}Envelope";
    }

    /// <summary>
    /// Strings and timestamps go through converters of ours (NUL-free strings, UTC instants), which
    /// the schema generator cannot see into, so it leaves them untyped; this gives them back their
    /// JSON type, nullable only when the member is declared nullable.
    /// </summary>
    public static Task DescribeWireTypes(OpenApiSchema schema, OpenApiSchemaTransformerContext context, CancellationToken cancellationToken)
    {
        var type = context.JsonTypeInfo.Type;
        var valueType = Nullable.GetUnderlyingType(type);
        if (type == typeof(JsonElement) && context.JsonPropertyInfo?.AttributeProvider is MemberInfo member
            && member.GetCustomAttribute<ValueOrNullAttribute>() is { } valueOrNull)
        {
            DescribeValueOrNull(schema, valueOrNull, member, context.Document);
        }
        else if ((type == typeof(string) || (valueType ?? type) == typeof(DateTime)) && schema.Type is null)
        {
            schema.Type = JsonSchemaType.String;
            if (type != typeof(string))
            {
                schema.Format = "date-time";
            }

            if (valueType is not null || IsNullableMember(context.JsonPropertyInfo))
            {
                schema.Type |= JsonSchemaType.Null;
            }
        }
        else if (schema.Type is { } arrayType && arrayType.HasFlag(JsonSchemaType.Array) && schema.Items is null && context.JsonTypeInfo.ElementType == typeof(string))
        {
            schema.Items = new OpenApiSchema { Type = JsonSchemaType.String };
        }
        else if (schema.Type is { } objectType && objectType.HasFlag(JsonSchemaType.Object) && schema.AdditionalProperties is null
                 && context.JsonTypeInfo.Kind == JsonTypeInfoKind.Dictionary)
        {
            // A free-form map (meta, details, stats) takes any member; left unsaid, clients read it as an empty object.
            schema.AdditionalProperties = context.JsonTypeInfo.ElementType == typeof(string) ? new OpenApiSchema { Type = JsonSchemaType.String } : new OpenApiSchema();
        }

        return Task.CompletedTask;
    }

    /// <summary>A raw JSON member of a change request: the type of its value, or null to clear it.</summary>
    private static void DescribeValueOrNull(OpenApiSchema schema, ValueOrNullAttribute valueOrNull, MemberInfo member, OpenApiDocument? document)
    {
        var type = valueOrNull.ValueType;
        if (type == typeof(string))
        {
            schema.Type = JsonSchemaType.String | JsonSchemaType.Null;
            if (member.GetCustomAttribute<System.ComponentModel.DataAnnotations.StringLengthAttribute>() is { } length)
            {
                schema.MaxLength = length.MaximumLength;
            }
        }
        else if (type == typeof(DateTime))
        {
            schema.Type = JsonSchemaType.String | JsonSchemaType.Null;
            schema.Format = "date-time";
        }
        else if (type == typeof(long) || type == typeof(int))
        {
            schema.Type = JsonSchemaType.Integer | JsonSchemaType.Null;
            if (valueOrNull.Minimum != long.MinValue)
            {
                schema.Minimum = valueOrNull.Minimum.ToString(System.Globalization.CultureInfo.InvariantCulture);
            }
        }
        else if (typeof(System.Collections.IDictionary).IsAssignableFrom(type))
        {
            schema.Type = JsonSchemaType.Object | JsonSchemaType.Null;
            schema.AdditionalProperties = new OpenApiSchema();
        }
        else if (ReferenceId(type) is { } id)
        {
            schema.OneOf = [new OpenApiSchemaReference(id, document), new OpenApiSchema { Type = JsonSchemaType.Null }];
        }
        else
        {
            throw new InvalidOperationException($"{member.DeclaringType?.Name}.{member.Name}: no schema for a value of {type.Name}.");
        }
    }

    /// <summary>
    /// A schema only responses use lists every member the serializer always writes as required
    /// (all of them, but those declared to be left out when null); <c>data</c> of an envelope is
    /// never null. Schemas request bodies use too keep the generator's list.
    /// </summary>
    public static void RequireWhatResponsesAlwaysWrite(OpenApiDocument document)
    {
        if (document.Components?.Schemas is not { } schemas)
        {
            return;
        }

        var written = new HashSet<string>(StringComparer.Ordinal);
        var read = new HashSet<string>(StringComparer.Ordinal);
        foreach (var path in document.Paths.Values)
        {
            foreach (var operation in (IEnumerable<OpenApiOperation>?)path.Operations?.Values ?? [])
            {
                foreach (var response in (IEnumerable<IOpenApiResponse>?)operation.Responses?.Values ?? [])
                {
                    foreach (var media in (IEnumerable<OpenApiMediaType>?)response.Content?.Values ?? [])
                    {
                        Reach(media.Schema, schemas, written);
                    }
                }

                foreach (var media in (IEnumerable<OpenApiMediaType>?)operation.RequestBody?.Content?.Values ?? [])
                {
                    Reach(media.Schema, schemas, read);
                }
            }
        }

        foreach (var id in written.Except(read))
        {
            if (schemas[id] is not OpenApiSchema { Properties: { Count: > 0 } properties } schema)
            {
                continue;
            }

            schema.Required ??= new HashSet<string>(StringComparer.Ordinal);
            foreach (var name in properties.Keys.Where(name => !OmittedWhenNull.Contains($"{id}.{name}")))
            {
                schema.Required.Add(name);
            }

            if (id.EndsWith("Envelope", StringComparison.Ordinal) && properties.TryGetValue("data", out var data))
            {
                properties["data"] = NotNull(data);
            }
        }
    }

    private static IOpenApiSchema NotNull(IOpenApiSchema schema)
    {
        if (schema is OpenApiSchema { OneOf: { Count: 2 } choices } && choices.SingleOrDefault(c => c is OpenApiSchema { Type: JsonSchemaType.Null }) is { } nullChoice)
        {
            return choices.Single(c => !ReferenceEquals(c, nullChoice));
        }

        if (schema is OpenApiSchema { Type: { } type } writable && type != JsonSchemaType.Null)
        {
            writable.Type = type & ~JsonSchemaType.Null;
        }

        return schema;
    }

    private static void Reach(IOpenApiSchema? schema, IDictionary<string, IOpenApiSchema> schemas, HashSet<string> seen)
    {
        if (schema is OpenApiSchemaReference reference)
        {
            if (reference.Reference.Id is { } id && seen.Add(id) && schemas.TryGetValue(id, out var target))
            {
                Reach(target, schemas, seen);
            }

            return;
        }

        if (schema is null)
        {
            return;
        }

        foreach (var child in (schema.Properties?.Values ?? []).Concat(schema.OneOf ?? []).Concat(schema.AnyOf ?? []).Concat(schema.AllOf ?? []))
        {
            Reach(child, schemas, seen);
        }

        Reach(schema.Items, schemas, seen);
        Reach(schema.AdditionalProperties, schemas, seen);
    }

    private static Type? ListItem(Type type) =>
        type.IsGenericType && type.GetGenericTypeDefinition() is var definition
        && (definition == typeof(IReadOnlyList<>) || definition == typeof(List<>) || definition == typeof(IEnumerable<>))
            ? type.GetGenericArguments()[0]
            : null;

    /// <summary>Declared nullable, and not a member a request must give (<c>[Required]</c>: null is refused like absence).</summary>
    private static bool IsNullableMember(JsonPropertyInfo? property) => property?.AttributeProvider switch
    {
        MemberInfo member when member.GetCustomAttribute<System.ComponentModel.DataAnnotations.RequiredAttribute>() is not null => false,
        PropertyInfo info => new NullabilityInfoContext().Create(info).ReadState == NullabilityState.Nullable,
        FieldInfo info => new NullabilityInfoContext().Create(info).ReadState == NullabilityState.Nullable,
        _ => false,
    };

    /// <summary><c>Schema.member</c> of every wire member declared to be left out when null or default.</summary>
    private static readonly HashSet<string> OmittedWhenNull = [.. new[] { typeof(Envelope<>).Assembly, typeof(OpenApiSchemas).Assembly }
        .SelectMany(assembly => assembly.GetTypes())
        .SelectMany(type => type.GetProperties(BindingFlags.Public | BindingFlags.Instance | BindingFlags.DeclaredOnly)
            .Where(property => property.GetCustomAttribute<JsonIgnoreAttribute>() is { Condition: not JsonIgnoreCondition.Never })
            .Select(property => $"{type.Name}.{property.GetCustomAttribute<JsonPropertyNameAttribute>()?.Name ?? JsonNamingPolicy.CamelCase.ConvertName(property.Name)}"))];
}
