using System.Reflection;
using Gatehouse.Crypto;
using Gatehouse.Server.Platform.Composition;
using NetArchTest.Rules;

namespace Gatehouse.Server.Tests.Architecture;

/// <summary>
/// The dependency rules of the code base (docs/architecture.md): Crypto imports neither Platform
/// nor Features; Platform imports no feature; a feature uses another only through the types that
/// feature marks <see cref="FeatureApiAttribute"/>.
/// </summary>
public sealed class DependencyRuleTests
{
    private const string FeaturesNamespace = "Gatehouse.Server.Features.";
    private static readonly Assembly Server = typeof(Program).Assembly;

    [Fact]
    public void Crypto_imports_nothing_of_the_server()
    {
        var result = Types.InAssembly(typeof(SecretHasher).Assembly).ShouldNot().HaveDependencyOnAny("Gatehouse.Server").GetResult();

        result.IsSuccessful.ShouldBeTrue(Failing(result));
    }

    [Fact]
    public void Platform_imports_no_feature()
    {
        var platform = Types.InAssembly(Server).That().ResideInNamespace("Gatehouse.Server.Platform");
        // The namespace matches its children too (Platform.Auth, Platform.Storage …): the rule sees them all.
        platform.GetTypes().Select(t => t.ReflectionType.Namespace).Distinct().Count().ShouldBeGreaterThan(5);
        var result = Types.InAssembly(Server).That().ResideInNamespace("Gatehouse.Server.Platform")
            .ShouldNot().HaveDependencyOnAny("Gatehouse.Server.Features").GetResult();

        result.IsSuccessful.ShouldBeTrue(Failing(result));
    }

    [Fact]
    public void The_namespace_rules_see_a_dependency_on_a_feature_where_there_is_one()
    {
        // Program composes the features: the same check applied to it must fail, or the rule above proves nothing.
        var result = Types.InAssembly(Server).That().HaveName("Program")
            .ShouldNot().HaveDependencyOnAny("Gatehouse.Server.Features").GetResult();

        result.IsSuccessful.ShouldBeFalse();
    }

    [Fact]
    public void A_feature_uses_another_only_through_its_public_surface()
    {
        var dependencies = TypeDependencies.Of(Server);
        var publicSurface = Server.GetTypes().Where(t => t.GetCustomAttribute<FeatureApiAttribute>() is not null)
            .Select(t => t.FullName!).ToHashSet(StringComparer.Ordinal);

        var violations = CrossFeatureUses(dependencies).Where(use => !publicSurface.Contains(use.Used)).Select(use => $"{use.User} uses {use.Used}").ToList();

        violations.ShouldBeEmpty();
    }

    [Fact]
    public void The_dependency_scanner_sees_uses_in_signatures_bodies_and_generated_code()
    {
        var dependencies = TypeDependencies.Of(Server);
        var uses = CrossFeatureUses(dependencies).ToList();

        // In a lambda inside RoleChangeEviction (generated code), in a method body (ApiKeyRules
        // creating the Roles service), and in a constructor signature (the key cache's role lookup).
        uses.ShouldContain(("Gatehouse.Server.Features.ApiKeys.RoleChangeEviction", "Gatehouse.Server.Features.Roles.RoleActions"));
        uses.ShouldContain(("Gatehouse.Server.Features.ApiKeys.ApiKeyRules", "Gatehouse.Server.Features.Roles.RoleDirectory"));
        dependencies["Gatehouse.Server.Platform.Storage.ChangeSet"].ShouldContain("Gatehouse.Server.Platform.Events.AuditAction");
    }

    [Fact]
    public void Every_feature_lives_in_its_own_folder_with_one_feature_class()
    {
        foreach (var feature in Program.Features)
        {
            var type = feature.GetType();
            type.Namespace.ShouldBe($"Gatehouse.Server.Features.{feature.Name}");
            type.Name.ShouldBe($"{feature.Name}Feature");
        }

        Server.GetTypes().Count(t => t.IsSubclassOf(typeof(Feature)) && !t.IsAbstract).ShouldBe(Program.Features.Count);
    }

    private static IEnumerable<(string User, string Used)> CrossFeatureUses(Dictionary<string, HashSet<string>> dependencies)
    {
        foreach (var (user, used) in dependencies)
        {
            var userFeature = FeatureOf(user);
            if (userFeature is null)
            {
                continue;
            }

            foreach (var dependency in used)
            {
                if (FeatureOf(dependency) is { } usedFeature && usedFeature != userFeature)
                {
                    yield return (user, dependency);
                }
            }
        }
    }

    /// <summary>The feature a type belongs to: the namespace segment after <c>Features.</c>.</summary>
    private static string? FeatureOf(string fullName)
    {
        if (!fullName.StartsWith(FeaturesNamespace, StringComparison.Ordinal))
        {
            return null;
        }

        var rest = fullName[FeaturesNamespace.Length..];
        var dot = rest.IndexOf('.', StringComparison.Ordinal);
        return dot < 0 ? null : rest[..dot];
    }

    private static string Failing(NetArchTest.Rules.TestResult result) =>
        "violations: " + string.Join(", ", result.FailingTypes?.Select(t => t.FullName) ?? []);
}
