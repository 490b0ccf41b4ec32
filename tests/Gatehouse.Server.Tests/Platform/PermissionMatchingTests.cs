using Gatehouse.Server.Platform.Auth;

namespace Gatehouse.Server.Tests.Platform;

public sealed class PermissionMatchingTests
{
    [Theory]
    [InlineData("api_keys:read", "api_keys:read", true)]
    [InlineData("api_keys:read", "api_keys:write", false)]
    [InlineData("*", "anything:at_all", true)]
    [InlineData("api_keys:*", "api_keys:verify", true)]
    [InlineData("api_keys:*", "roles:read", false)]
    [InlineData("read", "orgs:read", true)]
    [InlineData("read", "credentials:read", true)]
    [InlineData("read", "credentials:reveal", false)]
    [InlineData("read", "orgs:write", false)]
    [InlineData("write", "api_keys:write", true)]
    [InlineData("write", "api_keys:verify", false)]
    [InlineData("read", "billing:read", false)]
    [InlineData("billing.*", "billing.invoices.read", true)]
    [InlineData("billing.*.read", "billing.invoices.read", true)]
    [InlineData("billing.*.read", "billing.invoices.write", false)]
    [InlineData("admin:*", "admin:tenants", true)]
    [InlineData("admin:*", "orgs:read", false)]
    public void A_granted_permission_covers_what_it_should(string granted, string required, bool expected)
    {
        Permission.Matches(granted, required).ShouldBe(expected);
    }

    [Theory]
    [InlineData("billing.invoices.read", true)]
    [InlineData("orgs:read", true)]
    [InlineData("api_keys:verify", true)]
    [InlineData("api_keys:read", true)]
    [InlineData("vault.secrets.read", false)]
    [InlineData("roles:write", false)]
    public void Every_kind_of_granted_collection_gives_the_same_answer(string required, bool expected)
    {
        string[] granted = ["billing.*", "read", "api_keys:verify"];
        IReadOnlyCollection<string>[] shapes =
        [
            granted,
            granted.ToList(),
            granted.ToHashSet(StringComparer.Ordinal),
            System.Collections.Frozen.FrozenSet.ToFrozenSet(granted, StringComparer.Ordinal),
            granted.AsReadOnly(),
        ];

        foreach (var shape in shapes)
        {
            Permission.Grants(shape, required).ShouldBe(expected, shape.GetType().Name);
        }
    }

    [Theory]
    [InlineData("api_keys:read", true)]
    [InlineData("a.b-c_d:*", true)]
    [InlineData("UPPER", false)]
    [InlineData("has space", false)]
    [InlineData("", false)]
    public void Well_formed_permissions_follow_the_documented_alphabet(string permission, bool expected)
    {
        Permission.IsWellFormed(permission).ShouldBe(expected);
        Permission.IsWellFormed(new string('a', 129)).ShouldBeFalse();
    }

    [Fact]
    public void Root_holds_everything_and_an_org_key_only_its_org()
    {
        var root = new Principal(ActorKind.Root, "rk_1", null, [Permission.All], AuthenticationMethod.SecretKey);
        var orgKey = new Principal(ActorKind.ApiKey, "key_1", "org_a", ["orgs:read"], AuthenticationMethod.SecretKey);

        root.CanAccessOrg("org_b").ShouldBeTrue();
        root.IsAdmin.ShouldBeTrue();
        orgKey.CanAccessOrg("org_a").ShouldBeTrue();
        orgKey.CanAccessOrg("org_b").ShouldBeFalse();
        orgKey.Has("orgs:read").ShouldBeTrue();
        orgKey.Has("orgs:write").ShouldBeFalse();
        orgKey.IsAdmin.ShouldBeFalse();
    }
}
