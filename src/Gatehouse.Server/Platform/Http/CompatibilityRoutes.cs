using Gatehouse.Contracts;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace Gatehouse.Server.Platform.Http;

/// <summary>The canonical route an alias runs (<c>POST /api/v1/orgs/{orgId}/api-keys</c>).</summary>
public sealed record AliasOfMetadata(string Canonical);

/// <summary>
/// Routes spelt as the documented products spell them (API.md §12, docs/compatibility.md): each is an
/// alias of a canonical route, tagged <see cref="Tag"/> in the OpenAPI document and described by the
/// route it runs. Flat organization routes are not mapped (<see cref="FlatOrgRoutes"/> rewrites them),
/// so the document lists them here, one per organization operation.
/// </summary>
public static class CompatibilityRoutes
{
    public const string Tag = "compat";

    public const string TagDescription = "Aliases spelt as documented products spell them (docs/compatibility.md); each runs the canonical route it names.";

    /// <summary>Marks a mapped alias of <paramref name="canonical"/> and says what it answers.</summary>
    public static TBuilder AliasOf<TBuilder>(this TBuilder builder, string canonical, string answers) where TBuilder : IEndpointConventionBuilder =>
        builder.WithMetadata(new AliasOfMetadata(canonical))
            .WithSummary($"Alias of {canonical}")
            .WithDescription($"Alias of `{canonical}`: the same handler, permission, rate limit, idempotency and audit event. Answers {answers}, in snake_case without the envelope; errors are `{{\"error\": {{code, message, details}}}}`.");

    /// <summary>
    /// Adds the flat alias of every <c>/api/v1/orgs/{orgId}/…</c> operation: the same operation without
    /// the <c>orgId</c> path parameter, with the optional <c>X-Tenant-Id</c> header, tagged <see cref="Tag"/>.
    /// </summary>
    public static void DescribeFlatOrgRoutes(OpenApiDocument document)
    {
        const string prefix = "/api/v1/orgs/{orgId}/";
        foreach (var (path, item) in document.Paths.Where(p => p.Key.StartsWith(prefix, StringComparison.Ordinal)).ToList())
        {
            var flatPath = "/api/v1/" + path[prefix.Length..];
            if (document.Paths.ContainsKey(flatPath) || item.Operations is not { } operations)
            {
                continue;
            }

            var flat = new OpenApiPathItem { Operations = [] };
            foreach (var (method, operation) in operations)
            {
                var alias = new OpenApiOperation(operation)
                {
                    OperationId = operation.OperationId is { } id ? id + "Flat" : null,
                    Summary = $"{operation.Summary} (flat alias)",
                    Description = $"Alias of `{method.Method.ToUpperInvariant()} {path}`, the organization named by `X-Tenant-Id` (id or slug) or else the credential's own; "
                        + "the root key must name one (400 INVALID_REQUEST without it), and naming another organization than the credential's answers 404.\n\n"
                        + operation.Description,
                    Tags = new HashSet<OpenApiTagReference> { new(Tag, document) },
                    Parameters = [.. (operation.Parameters ?? []).Where(p => !(p.In == ParameterLocation.Path && p.Name == Auth.Authorization.OrgIdRouteValue)), TenantParameter()],
                };
                flat.Operations[method] = alias;
            }

            document.Paths[flatPath] = flat;
        }
    }

    /// <summary>Declares the <see cref="Tag"/> tag once.</summary>
    public static void DeclareTag(OpenApiDocument document)
    {
        document.Tags ??= new HashSet<OpenApiTag>();
        if (!document.Tags.Any(t => t.Name == Tag))
        {
            document.Tags.Add(new OpenApiTag { Name = Tag, Description = TagDescription });
        }
    }

    /// <summary>
    /// A route answering bare (<see cref="ResponseStyle.Bare"/>) is documented so: its successes are
    /// the resource itself, its errors <see cref="BareError"/>.
    /// </summary>
    public static async Task DescribeBareAnswers(OpenApiOperation operation, OpenApiOperationTransformerContext context, CancellationToken cancellationToken)
    {
        if (context.Description.ActionDescriptor.EndpointMetadata.OfType<ResponseProfile>().LastOrDefault() is not { Style: ResponseStyle.Bare } profile
            || operation.Responses is null)
        {
            return;
        }

        var error = await ReferenceTo(typeof(BareError), context, cancellationToken);
        var message = profile.SuccessMessage is null ? null : await ReferenceTo(typeof(BareMessage), context, cancellationToken);
        foreach (var (status, answer) in operation.Responses.ToList())
        {
            if (answer is not OpenApiResponse response || response.Content is not { } content)
            {
                continue;
            }

            var success = status[0] == '2';
            foreach (var media in content.Values)
            {
                media.Schema = !success ? error
                    : message ?? new OpenApiSchema
                    {
                        Type = media.Schema is OpenApiSchemaReference { Reference.Id: { } id } && id.EndsWith("ListEnvelope", StringComparison.Ordinal) ? JsonSchemaType.Array : JsonSchemaType.Object,
                        Description = "The canonical route's data, its member names in snake_case, without the envelope.",
                    };
            }

            if (success && profile.SuccessStatus is { } only && status != only.ToString(System.Globalization.CultureInfo.InvariantCulture))
            {
                operation.Responses.Remove(status);
                operation.Responses[only.ToString(System.Globalization.CultureInfo.InvariantCulture)] = response;
            }
        }
    }

    private static async Task<IOpenApiSchema> ReferenceTo(Type type, OpenApiOperationTransformerContext context, CancellationToken cancellationToken)
    {
        var schema = await context.GetOrCreateSchemaAsync(type, null, cancellationToken);
        if (context.Document is not { } document || OpenApiSchemas.ReferenceId(type) is not { } id)
        {
            return schema;
        }

        document.Components ??= new OpenApiComponents();
        document.Components.Schemas ??= new Dictionary<string, IOpenApiSchema>();
        document.Components.Schemas.TryAdd(id, schema);
        return new OpenApiSchemaReference(id, document);
    }

    private static OpenApiParameter TenantParameter() => new()
    {
        Name = FlatOrgRoutes.TenantHeader,
        In = ParameterLocation.Header,
        Required = false,
        Description = "The organization (id or slug); also read as X-TenantId. Without it: the credential's own organization.",
        Schema = new OpenApiSchema { Type = JsonSchemaType.String },
    };
}
