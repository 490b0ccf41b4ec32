using System.Runtime.CompilerServices;
using System.Text.Json;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace Gatehouse.Server.Platform.Http;

/// <summary>
/// Routes of a snake_case <see cref="ResponseProfile"/> (GateKey's) write member names in snake_case,
/// while the generator describes every wire record once, in camelCase. Their responses get copies of
/// the schemas they use with the names as sent (<c>ConnectionViewEnvelope</c> → <c>ConnectionViewEnvelopeSnake</c>,
/// and so on down every nested record), so a client generated from the document reads what the server writes.
/// Request bodies are left alone: those records name their members in snake_case themselves. Bare
/// routes (seed 003's) are described by <see cref="CompatibilityRoutes.DescribeBareAnswers"/> instead.
/// </summary>
internal static class OpenApiSnakeCase
{
    private const string Suffix = "Snake";
    private static readonly ConditionalWeakTable<OpenApiOperation, object> SnakeOperations = [];

    /// <summary>Remembers an operation whose route answers in snake_case, for <see cref="Apply"/>.</summary>
    public static void Mark(OpenApiOperation operation, OpenApiOperationTransformerContext context)
    {
        if (context.Description.ActionDescriptor.EndpointMetadata.OfType<ResponseProfile>().LastOrDefault() is { SnakeCase: true, Style: ResponseStyle.Envelope })
        {
            SnakeOperations.AddOrUpdate(operation, true);
        }
    }

    /// <summary>Points every marked operation's responses at snake_case copies of their schemas.</summary>
    public static void Apply(OpenApiDocument document)
    {
        if (document.Components?.Schemas is not { } schemas)
        {
            return;
        }

        var copies = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var operation in document.Paths.Values.SelectMany(p => (IEnumerable<OpenApiOperation>?)p.Operations?.Values ?? []))
        {
            if (!SnakeOperations.TryGetValue(operation, out _))
            {
                continue;
            }

            foreach (var media in ((IEnumerable<IOpenApiResponse>?)operation.Responses?.Values ?? []).SelectMany(r => (IEnumerable<OpenApiMediaType>?)r.Content?.Values ?? []))
            {
                media.Schema = Convert(media.Schema, document, schemas, copies);
            }
        }
    }

    private static IOpenApiSchema? Convert(IOpenApiSchema? schema, OpenApiDocument document, IDictionary<string, IOpenApiSchema> schemas, Dictionary<string, string> copies)
    {
        switch (schema)
        {
            // Already a copy (two responses of one operation can share their content).
            case OpenApiSchemaReference { Reference.Id: { } id } when copies.ContainsValue(id):
                return schema;
            case OpenApiSchemaReference { Reference.Id: { } id } when schemas.TryGetValue(id, out var target):
                if (!copies.TryGetValue(id, out var copyId))
                {
                    // Named before it is filled, so a record that refers to itself ends at its own copy.
                    copyId = id + Suffix;
                    copies[id] = copyId;
                    schemas[copyId] = Convert(target, document, schemas, copies)!;
                }

                return new OpenApiSchemaReference(copyId, document);
            case OpenApiSchema inline:
                var copy = (OpenApiSchema)inline.CreateShallowCopy();
                copy.Properties = inline.Properties?.ToDictionary(p => JsonNamingPolicy.SnakeCaseLower.ConvertName(p.Key), p => Convert(p.Value, document, schemas, copies)!, StringComparer.Ordinal);
                copy.Required = inline.Required is null ? null : new HashSet<string>(inline.Required.Select(JsonNamingPolicy.SnakeCaseLower.ConvertName), StringComparer.Ordinal);
                copy.Items = Convert(inline.Items, document, schemas, copies);
                copy.AdditionalProperties = Convert(inline.AdditionalProperties, document, schemas, copies);
                copy.AllOf = inline.AllOf?.Select(s => Convert(s, document, schemas, copies)!).ToList();
                copy.AnyOf = inline.AnyOf?.Select(s => Convert(s, document, schemas, copies)!).ToList();
                copy.OneOf = inline.OneOf?.Select(s => Convert(s, document, schemas, copies)!).ToList();
                return copy;
            default:
                return schema;
        }
    }
}
