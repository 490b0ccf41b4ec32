using Gatehouse.Server.Platform.Auth;
using Gatehouse.Server.Platform.Composition;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace Gatehouse.Server.Platform.Http;

/// <summary>
/// Shapes the generated OpenAPI 3.1 document: the two credential schemes, which routes need
/// which permission, and the error responses every body-taking route can give.
/// </summary>
public static class OpenApiSetup
{
    public const string DocumentPath = "/api/v1/openapi.json";
    private const string Bearer = "bearer";
    private const string ApiKeyHeader = "apiKey";

    public static IServiceCollection AddGatehouseOpenApi(this IServiceCollection services) =>
        services.AddOpenApi("v1", options =>
        {
            options.OpenApiVersion = OpenApiSpecVersion.OpenApi3_1;
            options.CreateSchemaReferenceId = type => OpenApiSchemas.ReferenceId(type);
            options.AddSchemaTransformer(OpenApiSchemas.DescribeWireTypes);
            options.AddDocumentTransformer((document, context, _) =>
            {
                var catalog = context.ApplicationServices.GetRequiredService<FeatureCatalog>();
                document.Info = new OpenApiInfo
                {
                    Title = "Gatehouse API",
                    Version = "v1",
                    Description = "Access for organizations: " + string.Join("; ", catalog.Tags.Select(t => $"{t.Tag} ({t.Description.TrimEnd('.')})"))
                        + ". Every /api/v1 response is wrapped in the envelope {success, data|error, meta}.",
                };
                // The tags are what the features of this server declare, in their order.
                document.Tags = new HashSet<OpenApiTag>(catalog.Tags.Select(t => new OpenApiTag { Name = t.Tag, Description = t.Description }));
                document.Components ??= new OpenApiComponents();
                document.Components.SecuritySchemes ??= new Dictionary<string, IOpenApiSecurityScheme>();
                document.Components.SecuritySchemes[Bearer] = new OpenApiSecurityScheme
                {
                    Type = SecuritySchemeType.Http,
                    Scheme = "bearer",
                    Description = "An API key: the root key or an organization's key with platform permissions.",
                };
                document.Components.SecuritySchemes[ApiKeyHeader] = new OpenApiSecurityScheme
                {
                    Type = SecuritySchemeType.ApiKey,
                    In = ParameterLocation.Header,
                    Name = "X-API-Key",
                    Description = "An API key.",
                };
                // Credentials of their own that some routes take instead of an API key (the gateway agent's token).
                foreach (var scheme in context.DescriptionGroups.SelectMany(g => g.Items).SelectMany(d => d.ActionDescriptor.EndpointMetadata.OfType<CredentialHeaderScheme>())
                    .DistinctBy(s => s.Name))
                {
                    document.Components.SecuritySchemes[scheme.Name] = new OpenApiSecurityScheme
                    {
                        Type = SecuritySchemeType.ApiKey,
                        In = ParameterLocation.Header,
                        Name = scheme.Header,
                        Description = scheme.Description,
                    };
                }

                document.Components.Headers ??= new Dictionary<string, IOpenApiHeader>();
                foreach (var (name, header) in RateLimitHeaders.Append((RetryAfter, RetryAfterHeader)))
                {
                    document.Components.Headers[name] = header;
                }

                // No server: the paths are relative to where the document is served, and the document
                // stays the same whatever Host a request names (so it can be generated once and kept).
                document.Servers = [];
                CompatibilityRoutes.DeclareTag(document);
                CompatibilityRoutes.DescribeFlatOrgRoutes(document);
                OpenApiSchemas.RequireWhatResponsesAlwaysWrite(document);
                // Before the error responses are shared: a snake_case route's errors are their own.
                OpenApiSnakeCase.Apply(document);
                ShareErrorResponses(document);
                return Task.CompletedTask;
            });
            options.AddOperationTransformer(async (operation, context, cancellationToken) =>
            {
                await DescribeEveryRepresentation(operation, context, cancellationToken);
                await CompatibilityRoutes.DescribeBareAnswers(operation, context, cancellationToken);
                OpenApiSnakeCase.Mark(operation, context);
                if (context.Description.ActionDescriptor.EndpointMetadata.OfType<DocumentedFormBody>().LastOrDefault() is { } form)
                {
                    operation.RequestBody = new OpenApiRequestBody
                    {
                        Required = true,
                        Content = new Dictionary<string, OpenApiMediaType> { [DocumentedFormBody.ContentType] = new() { Schema = await SchemaOf(form.Type, context, cancellationToken) } },
                    };
                }

                if (context.Description.HttpMethod is { } method && !HttpMethods.IsGet(method)
                    && operation.Responses is { } responses && !responses.ContainsKey("409") && responses.TryGetValue("400", out var invalid))
                {
                    // Any change can lose a race with a concurrent change of the same resource (docs/errors.md).
                    responses["409"] = new OpenApiResponse { Description = "Conflict: a duplicate, or changed or deleted by a concurrent request", Content = invalid.Content };
                }

                var requirement = context.Description.ActionDescriptor.EndpointMetadata.OfType<AccessRequirement>().LastOrDefault();
                if (requirement is not null)
                {
                    var own = context.Description.ActionDescriptor.EndpointMetadata.OfType<CredentialHeaderScheme>().LastOrDefault();
                    operation.Security = own is not null
                        ? [new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(own.Name, context.Document)] = [] }]
                        :
                        [
                            new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(Bearer, context.Document)] = [] },
                            new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(ApiKeyHeader, context.Document)] = [] },
                        ];
                    var needs = own is not null ? $"`{own.Header}`: {own.Description.TrimEnd('.')}"
                        : requirement.RootOnly ? "the root key" : requirement.Permission is { } p ? $"the permission `{p}`" : "any valid API key";
                    operation.Description = $"{operation.Description}{(string.IsNullOrEmpty(operation.Description) ? "" : "\n\n")}Requires {needs}.";
                    DescribeRateLimitHeaders(operation, context.Document);
                }
                else if (context.Description.ActionDescriptor.EndpointMetadata.OfType<Microsoft.AspNetCore.Authorization.IAllowAnonymous>().Any())
                {
                    // Open on purpose (a login makes a credential): the empty requirement says "none needed",
                    // and the per-IP policy for credential-less requests still answers with its headers.
                    operation.Security = [new OpenApiSecurityRequirement()];
                    operation.Description = $"{operation.Description}{(string.IsNullOrEmpty(operation.Description) ? "" : "\n\n")}Needs no credential; limited per client IP.";
                    DescribeRateLimitHeaders(operation, context.Document);
                }

                DescribeQueryParameters(operation);

                if (string.Equals(context.Description.HttpMethod, "POST", StringComparison.OrdinalIgnoreCase)
                    && context.Description.RelativePath?.StartsWith("api/v1", StringComparison.Ordinal) == true)
                {
                    operation.Parameters ??= [];
                    operation.Parameters.Add(new OpenApiParameter
                    {
                        Name = IdempotencyFilter.Header,
                        In = ParameterLocation.Header,
                        Required = false,
                        Description = "Executes the POST once: a retry with the same key and body within 24 h replays the first 2xx response (Idempotent-Replayed: true); another body is 409.",
                        Schema = new OpenApiSchema { Type = JsonSchemaType.String, MaxLength = 255 },
                    });
                }

                if (operation.RequestBody is not null)
                {
                    operation.Responses ??= new OpenApiResponses();
                    foreach (var (status, text) in new[] { ("413", "Body over the configured limit"), ("415", "Body is not application/json") })
                    {
                        if (!operation.Responses.ContainsKey(status))
                        {
                            var errorResponse = operation.Responses.TryGetValue("400", out var badRequest) ? badRequest : null;
                            operation.Responses[status] = new OpenApiResponse { Description = text, Content = errorResponse?.Content };
                        }
                    }
                }
            });
        });

    /// <summary>
    /// The error answers are the same envelope on every route: each distinct one (status, description,
    /// headers, body) is declared once under <c>components.responses</c> and referenced, instead of
    /// being repeated on every operation (they were most of the document).
    /// </summary>
    private static void ShareErrorResponses(OpenApiDocument document)
    {
        document.Components ??= new OpenApiComponents();
        document.Components.Responses ??= new Dictionary<string, IOpenApiResponse>();
        var shared = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var operation in document.Paths.Values.SelectMany(path => (IEnumerable<OpenApiOperation>?)path.Operations?.Values ?? []))
        {
            foreach (var (status, answer) in operation.Responses?.ToList() ?? [])
            {
                if (status[0] is not ('4' or '5') || answer is not OpenApiResponse response || response.Content is not { Count: > 0 } content
                    || content.Values.Any(media => media.Schema is not OpenApiSchemaReference))
                {
                    continue;
                }

                var signature = string.Join('|', status, response.Description,
                    string.Join(',', (IEnumerable<string>?)response.Headers?.Keys.Order(StringComparer.Ordinal) ?? []),
                    string.Join(',', content.Select(media => $"{media.Key}={((OpenApiSchemaReference)media.Value.Schema!).Reference.Id}")));
                if (!shared.TryGetValue(signature, out var name))
                {
                    var reason = Microsoft.AspNetCore.WebUtilities.ReasonPhrases.GetReasonPhrase(int.Parse(status, System.Globalization.CultureInfo.InvariantCulture)).Replace(" ", "", StringComparison.Ordinal);
                    name = reason;
                    for (var variant = 2; document.Components.Responses.ContainsKey(name); variant++)
                    {
                        name = $"{reason}{variant}";
                    }

                    document.Components.Responses[name] = response;
                    shared[signature] = name;
                }

                operation.Responses![status] = new OpenApiResponseReference(name, document);
            }
        }
    }

    /// <summary>
    /// A route can answer one status in several media types (the audit list: its JSON page, or an
    /// NDJSON stream); the generator keeps one type per status, so the others are added here.
    /// </summary>
    private static async Task DescribeEveryRepresentation(OpenApiOperation operation, OpenApiOperationTransformerContext context, CancellationToken cancellationToken)
    {
        foreach (var produces in context.Description.ActionDescriptor.EndpointMetadata.OfType<IProducesResponseTypeMetadata>())
        {
            if (produces.Type is not { } type || type == typeof(void)
                || operation.Responses?.TryGetValue(produces.StatusCode.ToString(System.Globalization.CultureInfo.InvariantCulture), out var declared) != true
                || declared is not OpenApiResponse response)
            {
                continue;
            }

            foreach (var contentType in produces.ContentTypes)
            {
                response.Content ??= new Dictionary<string, OpenApiMediaType>();
                if (!response.Content.ContainsKey(contentType))
                {
                    response.Content[contentType] = new OpenApiMediaType { Schema = await SchemaOf(type, context, cancellationToken) };
                }
            }
        }
    }

    /// <summary>A reference to the type's schema under components, registering it when nothing else has.</summary>
    private static async Task<IOpenApiSchema> SchemaOf(Type type, OpenApiOperationTransformerContext context, CancellationToken cancellationToken)
    {
        var schema = await context.GetOrCreateSchemaAsync(type, null, cancellationToken);
        var id = OpenApiSchemas.ReferenceId(type);
        if (id is null || context.Document is not { } document)
        {
            return schema;
        }

        document.Components ??= new OpenApiComponents();
        document.Components.Schemas ??= new Dictionary<string, IOpenApiSchema>();
        document.Components.Schemas.TryAdd(id, schema);
        return new OpenApiSchemaReference(id, document);
    }

    /// <summary>
    /// Query parameters are bound as text, so that a bad value is answered by the route's own rule
    /// after the credential; the document gives the types those rules accept.
    /// </summary>
    private static void DescribeQueryParameters(OpenApiOperation operation)
    {
        foreach (var parameter in operation.Parameters?.OfType<OpenApiParameter>() ?? [])
        {
            if (parameter.In == ParameterLocation.Query && parameter.Name is { } name && QueryTypes.TryGetValue(name, out var schema))
            {
                parameter.Schema = schema();
            }
        }
    }

    private static readonly Dictionary<string, Func<OpenApiSchema>> QueryTypes = new(StringComparer.Ordinal)
    {
        ["limit"] = () => new OpenApiSchema { Type = JsonSchemaType.Integer, Minimum = "1", Maximum = PageQuery.MaxLimit.ToString(System.Globalization.CultureInfo.InvariantCulture), Default = PageQuery.DefaultLimit },
        ["offset"] = () => new OpenApiSchema { Type = JsonSchemaType.Integer, Minimum = "0", Default = 0 },
        ["page"] = () => new OpenApiSchema { Type = JsonSchemaType.Integer, Minimum = "1" },
        ["start"] = () => new OpenApiSchema { Type = JsonSchemaType.String, Format = "date-time" },
        ["end"] = () => new OpenApiSchema { Type = JsonSchemaType.String, Format = "date-time" },
        ["sort"] = () => new OpenApiSchema { Type = JsonSchemaType.String, Enum = ["createdAt", "-createdAt"], Default = "-createdAt" },
        ["enabled"] = () => new OpenApiSchema { Type = JsonSchemaType.Boolean },
        ["includeRevoked"] = () => new OpenApiSchema { Type = JsonSchemaType.Boolean, Default = false },
        ["granularity"] = () => new OpenApiSchema { Type = JsonSchemaType.String, Enum = ["hour", "day"], Default = "hour" },
        ["status"] = () => new OpenApiSchema { Type = JsonSchemaType.String, Enum = ["pending", "succeeded", "failed", "canceled"] },
    };

    /// <summary>
    /// Every route behind a credential is rate limited (docs/rate-limits.md): each answer given after the
    /// credential is counted carries the tightest window's X-RateLimit-* headers, and a 429 also
    /// says when to retry. A body that cannot be read (400, 413, 415) is answered before that.
    /// </summary>
    private static void DescribeRateLimitHeaders(OpenApiOperation operation, OpenApiDocument? document)
    {
        if (operation.Responses is null)
        {
            return;
        }

        foreach (var (status, response) in operation.Responses)
        {
            if (response is not OpenApiResponse writable || AnsweredBeforeTheCredential.Contains(status))
            {
                continue;
            }

            writable.Headers ??= new Dictionary<string, IOpenApiHeader>();
            // Declared once under components.headers: repeated inline they were most of the document.
            foreach (var (name, _) in RateLimitHeaders)
            {
                writable.Headers.TryAdd(name, new OpenApiHeaderReference(name, document));
            }

            if (status == "429")
            {
                writable.Headers.TryAdd(RetryAfter, new OpenApiHeaderReference(RetryAfter, document));
            }
        }
    }

    private static readonly (string Name, OpenApiHeader Header)[] RateLimitHeaders =
    [
        ("X-RateLimit-Limit", IntegerHeader("Requests allowed in the window closest to exhaustion.")),
        ("X-RateLimit-Remaining", IntegerHeader("Requests left in that window after this one.")),
        ("X-RateLimit-Reset", IntegerHeader("When that window resets, in Unix seconds.")),
    ];

    private static readonly string[] AnsweredBeforeTheCredential = ["400", "413", "415"];

    private const string RetryAfter = "Retry-After";

    private static readonly OpenApiHeader RetryAfterHeader = IntegerHeader("Seconds to wait before the request can succeed.");

    private static OpenApiHeader IntegerHeader(string description) =>
        new() { Description = description, Schema = new OpenApiSchema { Type = JsonSchemaType.Integer } };
}

/// <summary>
/// Documents a form-encoded request body without making routing enforce the content type (which
/// <c>Accepts</c> does, answering a bare 415): the OAuth endpoints answer a wrong body themselves,
/// in their RFC's words.
/// </summary>
public sealed record DocumentedFormBody(Type Type)
{
    public const string ContentType = "application/x-www-form-urlencoded";
}
