using System.Reflection;
using Gatehouse.Contracts;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.AspNetCore.Routing;

namespace Gatehouse.Server.Tests.Architecture;

/// <summary>
/// Gatehouse.Contracts is the wire format shared with the SDK and the CLI (docs/decisions/0007):
/// it must not drag the server's stack into them, and the server must not keep a body type of
/// its own beside it.
/// </summary>
public sealed class ContractsAssemblyTests(SharedServer shared)
{
    private static readonly Assembly Contracts = typeof(Envelope<>).Assembly;

    [Fact]
    public void The_contracts_reference_neither_ASP_NET_Core_nor_EF_Core_nor_the_server()
    {
        // The same check on the server's own references must find something, or it proves nothing.
        ServerStack(typeof(Gatehouse.Server.Program).Assembly).ShouldNotBeEmpty();

        ServerStack(Contracts).ShouldBeEmpty();
    }

    [Fact]
    public void The_contracts_depend_on_the_base_library_alone()
    {
        var references = Contracts.GetReferencedAssemblies().Select(a => a.Name!).ToList();

        references.ShouldContain("System.Text.Json");
        references.Where(name => !IsBaseLibrary(name)).ShouldBeEmpty();
    }

    [Fact]
    public void Every_body_a_route_reads_or_writes_is_a_contract_type()
    {
        var outside = new SortedSet<string>(StringComparer.Ordinal);
        var seen = 0;
        foreach (var endpoint in shared.Server.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>())
        {
            var route = endpoint.RoutePattern.RawText ?? "";
            var bodies = endpoint.Metadata.OfType<IProducesResponseTypeMetadata>().Select(m => m.Type)
                .Concat(endpoint.Metadata.OfType<IAcceptsMetadata>().Select(m => m.RequestType))
                .OfType<Type>();
            foreach (var body in bodies)
            {
                seen++;
                foreach (var type in Unwrapped(body).Where(t => !IsBaseLibrary(t.Assembly.GetName().Name!) && t.Assembly != Contracts))
                {
                    outside.Add($"{route}: {type.FullName}");
                }
            }
        }

        seen.ShouldBeGreaterThan(50);
        outside.ShouldBeEmpty();
    }

    private static List<string> ServerStack(Assembly assembly) =>
        [.. assembly.GetReferencedAssemblies().Select(a => a.Name!).Where(name =>
            name.StartsWith("Microsoft.AspNetCore", StringComparison.Ordinal)
            || name.StartsWith("Microsoft.EntityFrameworkCore", StringComparison.Ordinal)
            || name == "Gatehouse.Server")];

    private static bool IsBaseLibrary(string name) =>
        name is "System" or "netstandard" or "mscorlib" || name.StartsWith("System.", StringComparison.Ordinal);

    /// <summary>The type, and for a generic or an array every type it is made of (Envelope of a list of views …).</summary>
    private static IEnumerable<Type> Unwrapped(Type type)
    {
        if (type.IsArray)
        {
            return Unwrapped(type.GetElementType()!);
        }

        return type.IsGenericType
            ? type.GetGenericArguments().SelectMany(Unwrapped).Prepend(type.GetGenericTypeDefinition())
            : [type];
    }
}
