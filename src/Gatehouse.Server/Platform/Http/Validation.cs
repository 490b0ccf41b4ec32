using System.Text.RegularExpressions;
using Gatehouse.Contracts;

namespace Gatehouse.Server.Platform.Http;

/// <summary>Collects field errors of a request; empty means valid.</summary>
public sealed partial class Validation
{
    private readonly List<FieldError> _errors = [];

    public bool IsValid => _errors.Count == 0;

    public ApiError ToError() => ApiError.Validation(_errors);

    public Validation Add(string field, string reason)
    {
        _errors.Add(new FieldError(field, reason));
        return this;
    }

    public Validation Required(string field, string? value, int maxLength = 200)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            return Add(field, "required");
        }

        return value.Length > maxLength ? Add(field, $"must be at most {maxLength} characters") : this;
    }

    public Validation Optional(string field, string? value, int maxLength)
    {
        if (value is not null && value.Length > maxLength)
        {
            Add(field, $"must be at most {maxLength} characters");
        }

        return this;
    }

    public Validation Slug(string field, string? value)
    {
        if (value is not null && !SlugPattern().IsMatch(value))
        {
            Add(field, "must be 1–64 lower-case letters, digits or single hyphens, starting with a letter or digit");
        }

        return this;
    }

    public Validation Permissions(string field, IReadOnlyList<string>? permissions, bool required)
    {
        if (permissions is null)
        {
            return required ? Add(field, "required") : this;
        }

        if (permissions.Count > 1000)
        {
            return Add(field, "must hold at most 1000 permissions");
        }

        for (var i = 0; i < permissions.Count; i++)
        {
            if (!Auth.Permission.IsWellFormed(permissions[i]))
            {
                Add($"{field}[{i}]", "must match [a-z0-9_.:*-]{1,128}");
            }
        }

        return this;
    }

    [GeneratedRegex(Contracts.Orgs.CreateOrgRequest.SlugPattern)]
    private static partial Regex SlugPattern();
}
