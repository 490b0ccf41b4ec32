using Gatehouse.Server.Platform.Auth;

namespace Gatehouse.Server.Tests.ApiKeys;

public sealed class PermissionQueryTests
{
    [Theory]
    [InlineData("a OR b AND c", "(a OR (b AND c))")]
    [InlineData("a AND b OR c", "((a AND b) OR c)")]
    [InlineData("(a OR b) AND c", "((a OR b) AND c)")]
    [InlineData("a AND b AND c", "((a AND b) AND c)")]
    [InlineData("a OR b OR c", "((a OR b) OR c)")]
    [InlineData("((a))", "a")]
    [InlineData("  docs:read\tAND\n(docs:write OR admin.*)  ", "(docs:read AND (docs:write OR admin.*))")]
    [InlineData("a AND(b OR c)", "(a AND (b OR c))")]
    [InlineData("order OR android", "(order OR android)")]
    public void AND_binds_tighter_than_OR_and_parentheses_group(string text, string expected)
    {
        PermissionQuery.TryParse(text, out var query, out var error).ShouldBeTrue(error?.Message);

        query!.ToString().ShouldBe(expected);
    }

    [Theory]
    [InlineData("a OR b AND c", new[] { "a" }, true)]
    [InlineData("a OR b AND c", new[] { "b" }, false)]
    [InlineData("a OR b AND c", new[] { "b", "c" }, true)]
    [InlineData("(a OR b) AND c", new[] { "a" }, false)]
    [InlineData("(a OR b) AND c", new[] { "b", "c" }, true)]
    [InlineData("((a AND (b OR (c AND d))) OR e)", new[] { "a", "c", "d" }, true)]
    [InlineData("((a AND (b OR (c AND d))) OR e)", new[] { "a", "c" }, false)]
    [InlineData("docs:read", new[] { "docs:*" }, true)]
    [InlineData("docs:read AND billing:write", new[] { "*" }, true)]
    [InlineData("docs.v2:read", new[] { "docs.*" }, true)]
    [InlineData("docs:read", new[] { "doc:*" }, false)]
    [InlineData("docs:*", new[] { "docs:read" }, false)]
    [InlineData("docs:*", new[] { "docs:*" }, true)]
    [InlineData("api_keys:read", new[] { "read" }, true)]
    [InlineData("docs:read", new[] { "read" }, false)]
    public void Queries_evaluate_against_granted_permissions_with_wildcards(string text, string[] granted, bool satisfied)
    {
        PermissionQuery.TryParse(text, out var query, out _).ShouldBeTrue();

        query!.IsSatisfiedBy(granted).ShouldBe(satisfied);
    }

    [Theory]
    [InlineData("", 0)]
    [InlineData("   ", 3)]
    [InlineData("a AND", 5)]
    [InlineData("AND a", 0)]
    [InlineData("a OR OR b", 5)]
    [InlineData("(a", 2)]
    [InlineData("a)", 1)]
    [InlineData("()", 1)]
    [InlineData("a b", 2)]
    [InlineData("a XOR b", 2)]
    [InlineData("a and b", 2)]
    [InlineData("a && b", 2)]
    [InlineData("Docs:read", 0)]
    [InlineData("a AND (b OR c))", 14)]
    [InlineData("a AND é", 6)]
    public void Malformed_queries_fail_with_the_position(string text, int position)
    {
        PermissionQuery.TryParse(text, out var query, out var error).ShouldBeFalse();

        query.ShouldBeNull();
        error!.Position.ShouldBe(position);
        error.Message.ShouldContain($"position {position}");
    }

    [Theory]
    [InlineData("a and b", "Expected AND, OR or the end of the query at position 2, found 'and'. The operators AND and OR are written in upper case.")]
    [InlineData("a or b", "found 'or'. The operators AND and OR are written in upper case.")]
    [InlineData("a AND", "Expected a permission or '(' at position 5, found the end of the query.")]
    [InlineData("AND a", "Expected a permission or '(' at position 0, found 'AND'. AND must stand between two permissions.")]
    [InlineData("a XOR b", "found 'XOR'. Only AND and OR (upper case) join permissions, and permissions are lower case.")]
    [InlineData("a && b", "found '&&'. Only AND and OR (upper case) join permissions")]
    [InlineData("a b", "Expected AND, OR or the end of the query at position 2, found 'b'. Join permissions with AND or OR (upper case).")]
    [InlineData("(a b)", "Expected AND, OR or the ')' that closes the '(' at position 0 at position 3, found 'b'.")]
    [InlineData("(a", "Expected ')' at position 2 to close the '(' at position 0, found the end of the query.")]
    [InlineData("a)", "found ')' without a matching '('.")]
    public void Syntax_errors_say_what_was_expected_and_that_operators_are_upper_case(string text, string message)
    {
        PermissionQuery.TryParse(text, out _, out var error).ShouldBeFalse();

        error!.Message.ShouldContain(message);
    }

    [Fact]
    public void Deep_nesting_and_huge_input_are_rejected_without_exhausting_the_stack()
    {
        var deep = new string('(', 10_000) + "a" + new string(')', 10_000);
        var wide = string.Join(" OR ", Enumerable.Repeat("a", 300));

        PermissionQuery.TryParse(deep, out _, out var deepError).ShouldBeFalse();
        PermissionQuery.TryParse(new string('(', 33) + "a" + new string(')', 33), out _, out var nested).ShouldBeFalse();
        PermissionQuery.TryParse(new string('(', 32) + "a" + new string(')', 32), out _, out _).ShouldBeTrue();
        PermissionQuery.TryParse(wide, out _, out var wideError).ShouldBeFalse();

        deepError!.Message.ShouldContain("1000");
        nested!.Message.ShouldContain("nested");
        wideError!.Message.ShouldContain("1000");
    }

    [Fact]
    public void A_permission_longer_than_128_characters_is_rejected()
    {
        PermissionQuery.TryParse(new string('a', 129), out _, out var error).ShouldBeFalse();

        error!.Position.ShouldBe(0);
    }
}

public sealed class PermissionQueryOverHttpTests(SharedServer shared)
{
    private readonly GatehouseServer _server = shared.Server;

    [Theory]
    [InlineData("")]
    [InlineData("(((")]
    [InlineData(")")]
    [InlineData("a AND AND")]
    [InlineData("\u0000")]
    [InlineData("a OR (b AND (c OR")]
    public async Task Malformed_queries_are_400_never_500(string permissions)
    {
        var orgId = await _server.CreateOrgAsync();
        var (_, key) = await _server.CreateKeyAsync(orgId);

        var response = await _server.Root.VerifyAsync(new { key, permissions });

        response.StatusCode.ShouldBe(400, response.Text);
        response.ErrorCode.ShouldBe("INVALID_REQUEST");
        response.Body.GetProperty("error").GetProperty("details").GetProperty("field").GetString().ShouldBe("permissions");
    }

    [Fact]
    public async Task A_very_deep_query_is_400()
    {
        var response = await _server.Root.VerifyAsync(new { key = "x", permissions = new string('(', 900) + "a" + new string(')', 900) });

        response.StatusCode.ShouldBe(400);
    }
}
