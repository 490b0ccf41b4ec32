using System.Reflection;
using Gatehouse.Contracts;
using Gatehouse.Server.Platform.Auth;
using Microsoft.AspNetCore.Http.Metadata;

namespace Gatehouse.Server.Platform.Http;

/// <summary>Query parameters a route reads without binding them (a hand-written handler); see <see cref="QueryParameters.AcceptsQuery"/>.</summary>
public sealed record AcceptsQueryMetadata(IReadOnlyList<string> Names);

/// <summary>
/// Every /api/v1 route accepts only the query parameters it declares: those its handler binds
/// (<c>[AsParameters]</c> records and <c>[FromQuery]</c> parameters, which the OpenAPI document
/// lists too) and those named with <see cref="AcceptsQuery"/>. Anything else is
/// <c>400 INVALID_REQUEST</c> naming the parameter, so a typo such as <c>limt</c> is never
/// silently ignored.
/// </summary>
public static class QueryParameters
{
    /// <summary>Declares query parameters a handler reads from the request itself.</summary>
    public static TBuilder AcceptsQuery<TBuilder>(this TBuilder builder, params string[] names) where TBuilder : IEndpointConventionBuilder =>
        builder.WithMetadata(new AcceptsQueryMetadata(names));

    /// <summary>
    /// The check, as a filter on a group. Group filters run before the route's own
    /// (credential, rate limit, organization, permission), yet a caller must learn about its
    /// credential before its input: when the query is wrong, the route's access check is run here
    /// — once, since the route's own filters are then not reached — and its answer wins.
    /// </summary>
    public static TBuilder RejectUnknownQueryParameters<TBuilder>(this TBuilder builder) where TBuilder : IEndpointConventionBuilder =>
        builder.AddEndpointFilterFactory((factory, next) =>
        {
            // The route's conventions (its requirement, AcceptsQuery) are in the endpoint's metadata, known once it serves.
            Declaration? declaration = null;
            var method = factory.MethodInfo;
            return async context =>
            {
                var httpContext = context.HttpContext;
                declaration ??= Declaration.Of(method, httpContext.GetEndpoint()?.Metadata ?? EndpointMetadataCollection.Empty);
                if (Unknown(httpContext.Request.Query, declaration.Allowed) is not { } unknown)
                {
                    return await next(context);
                }

                if (declaration.Requirement is { } requirement && await Authorization.AuthorizeAsync(httpContext, requirement) is { } denied)
                {
                    return denied;
                }

                return ApiPipeline.RejectedFields(unknown);
            };
        });

    private sealed record Declaration(HashSet<string> Allowed, AccessRequirement? Requirement)
    {
        public static Declaration Of(MethodInfo method, EndpointMetadataCollection metadata) =>
            new(Declared(method, metadata), metadata.GetMetadata<AccessRequirement>());
    }

    /// <summary>The query parameters a handler declares, compared without case as the query collection reads them.</summary>
    public static HashSet<string> Declared(MethodInfo method, IEnumerable<object> metadata)
    {
        var names = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var parameter in method.GetParameters())
        {
            if (parameter.GetCustomAttribute<AsParametersAttribute>() is not null)
            {
                foreach (var property in parameter.ParameterType.GetProperties(BindingFlags.Public | BindingFlags.Instance))
                {
                    if (property.GetCustomAttributes().OfType<IFromQueryMetadata>().FirstOrDefault() is { } query)
                    {
                        names.Add(query.Name ?? property.Name);
                    }
                }
            }
            else if (parameter.GetCustomAttributes().OfType<IFromQueryMetadata>().FirstOrDefault() is { } query)
            {
                names.Add(query.Name ?? parameter.Name!);
            }
        }

        foreach (var accepts in metadata.OfType<AcceptsQueryMetadata>())
        {
            names.UnionWith(accepts.Names);
        }

        return names;
    }

    /// <summary>
    /// Seed 001's clients send their authentication realm on every request; it chooses nothing here
    /// (an organization is named by the path or <c>X-Tenant-Id</c>), so it is accepted on every route and ignored.
    /// </summary>
    public const string IgnoredRealm = "realmname";

    /// <summary>
    /// The parameters of <paramref name="query"/> outside <paramref name="allowed"/> (reason
    /// <c>unknown</c>), or holding a NUL character (<c>invalid</c>), in the order sent; null when there are none.
    /// </summary>
    public static List<FieldError>? Unknown(IQueryCollection query, HashSet<string> allowed)
    {
        List<FieldError>? unknown = null;
        if (query.Count == 0)
        {
            return null;
        }

        foreach (var (name, values) in query)
        {
            if (string.Equals(name, IgnoredRealm, StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }

            if (!allowed.Contains(name))
            {
                (unknown ??= []).Add(new FieldError(name, "unknown"));
            }
            else if (values.Any(value => value?.Contains('\0', StringComparison.Ordinal) == true))
            {
                // No text column of PostgreSQL can hold U+0000: refused here, it never reaches a query.
                (unknown ??= []).Add(new FieldError(name, "invalid"));
            }
        }

        return unknown;
    }
}
