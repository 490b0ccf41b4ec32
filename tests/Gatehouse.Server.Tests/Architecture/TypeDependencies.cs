using System.Reflection;
using Mono.Cecil;
using Mono.Cecil.Cil;

namespace Gatehouse.Server.Tests.Architecture;

/// <summary>
/// Which types each top-level type of an assembly uses: in its signatures, attributes and method
/// bodies, including what the compiler generated for it (lambdas, async state machines, which are
/// nested types and count for their outer type). Read from the compiled IL with Mono.Cecil.
/// </summary>
internal static class TypeDependencies
{
    public static Dictionary<string, HashSet<string>> Of(Assembly assembly)
    {
        using var module = ModuleDefinition.ReadModule(assembly.Location);
        var result = new Dictionary<string, HashSet<string>>(StringComparer.Ordinal);
        foreach (var type in module.Types)
        {
            var used = new HashSet<string>(StringComparer.Ordinal);
            Collect(type, used);
            used.Remove(type.FullName);
            result[type.FullName] = used;
        }

        return result;
    }

    /// <summary>The outermost type a (possibly nested) name belongs to: <c>Ns.Outer/Inner</c> → <c>Ns.Outer</c>.</summary>
    public static string Outermost(string fullName)
    {
        var slash = fullName.IndexOf('/', StringComparison.Ordinal);
        return slash < 0 ? fullName : fullName[..slash];
    }

    private static void Collect(TypeDefinition type, HashSet<string> used)
    {
        Add(type.BaseType, used);
        foreach (var implemented in type.Interfaces)
        {
            Add(implemented.InterfaceType, used);
        }

        Attributes(type.CustomAttributes, used);
        foreach (var field in type.Fields)
        {
            Add(field.FieldType, used);
            Attributes(field.CustomAttributes, used);
        }

        foreach (var property in type.Properties)
        {
            Add(property.PropertyType, used);
            Attributes(property.CustomAttributes, used);
        }

        foreach (var method in type.Methods)
        {
            Method(method, used);
            Attributes(method.CustomAttributes, used);
            if (!method.HasBody)
            {
                continue;
            }

            foreach (var variable in method.Body.Variables)
            {
                Add(variable.VariableType, used);
            }

            foreach (var instruction in method.Body.Instructions)
            {
                Operand(instruction, used);
            }
        }

        foreach (var nested in type.NestedTypes)
        {
            Collect(nested, used);
        }
    }

    private static void Operand(Instruction instruction, HashSet<string> used)
    {
        switch (instruction.Operand)
        {
            case TypeReference typeReference:
                Add(typeReference, used);
                break;
            case MethodReference methodReference:
                Method(methodReference, used);
                break;
            case FieldReference fieldReference:
                Add(fieldReference.DeclaringType, used);
                Add(fieldReference.FieldType, used);
                break;
        }
    }

    private static void Method(MethodReference method, HashSet<string> used)
    {
        Add(method.DeclaringType, used);
        Add(method.ReturnType, used);
        foreach (var parameter in method.Parameters)
        {
            Add(parameter.ParameterType, used);
        }

        if (method is GenericInstanceMethod generic)
        {
            foreach (var argument in generic.GenericArguments)
            {
                Add(argument, used);
            }
        }
    }

    private static void Attributes(IEnumerable<CustomAttribute> attributes, HashSet<string> used)
    {
        foreach (var attribute in attributes)
        {
            Add(attribute.AttributeType, used);
        }
    }

    private static void Add(TypeReference? type, HashSet<string> used)
    {
        switch (type)
        {
            case null or GenericParameter:
                return;
            case GenericInstanceType generic:
                Add(generic.ElementType, used);
                foreach (var argument in generic.GenericArguments)
                {
                    Add(argument, used);
                }

                return;
            case TypeSpecification specification:
                Add(specification.ElementType, used);
                return;
            default:
                used.Add(Outermost(type.FullName));
                return;
        }
    }
}
