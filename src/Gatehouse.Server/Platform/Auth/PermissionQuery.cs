
namespace Gatehouse.Server.Platform.Auth;

/// <summary>A syntax error in a permission query, with the 0-based character position where it was found.</summary>
public sealed record PermissionQueryError(string Message, int Position);

/// <summary>
/// The permission query of verify: permissions joined by <c>AND</c> and <c>OR</c> (upper case;
/// permissions are lower case, so the two never clash), grouped with parentheses. <c>AND</c> binds
/// tighter than <c>OR</c>: <c>a OR b AND c</c> is <c>a OR (b AND c)</c>. A permission in the query
/// is satisfied when one of the key's permissions grants it (<see cref="Permission.Matches"/>:
/// exact, <c>*</c>, <c>resource:*</c>, any glob). Recursive descent with a depth limit, so no input
/// can exhaust the stack.
/// </summary>
public abstract record PermissionQuery
{
    public const int MaxLength = 1000;
    public const int MaxDepth = 32;

    public abstract bool IsSatisfiedBy(IReadOnlyCollection<string> granted);

    public sealed record Required(string Permission) : PermissionQuery
    {
        public override bool IsSatisfiedBy(IReadOnlyCollection<string> granted) => Platform.Auth.Permission.Grants(granted, Permission);

        public override string ToString() => Permission;
    }

    public sealed record All(PermissionQuery Left, PermissionQuery Right) : PermissionQuery
    {
        public override bool IsSatisfiedBy(IReadOnlyCollection<string> granted) => Left.IsSatisfiedBy(granted) && Right.IsSatisfiedBy(granted);

        public override string ToString() => $"({Left} AND {Right})";
    }

    public sealed record Any(PermissionQuery Left, PermissionQuery Right) : PermissionQuery
    {
        public override bool IsSatisfiedBy(IReadOnlyCollection<string> granted) => Left.IsSatisfiedBy(granted) || Right.IsSatisfiedBy(granted);

        public override string ToString() => $"({Left} OR {Right})";
    }

    public static bool TryParse(string text, out PermissionQuery? query, out PermissionQueryError? error)
    {
        query = null;
        if (text.Length > MaxLength)
        {
            error = new PermissionQueryError($"The permission query is longer than {MaxLength} characters.", MaxLength);
            return false;
        }

        var parser = new Parser(text);
        query = parser.ParseAll(out error);
        return error is null;
    }

    private sealed class Parser(string text)
    {
        private int _position;
        private int _depth;

        public PermissionQuery? ParseAll(out PermissionQueryError? error)
        {
            error = null;
            var query = ParseOr(ref error);
            if (error is null)
            {
                SkipSpaces();
                if (_position < text.Length)
                {
                    error = Expected("AND, OR or the end of the query");
                }
            }

            return error is null ? query : null;
        }

        private PermissionQuery? ParseOr(ref PermissionQueryError? error)
        {
            var left = ParseAnd(ref error);
            while (error is null && TryKeyword("OR"))
            {
                var right = ParseAnd(ref error);
                left = error is null ? new Any(left!, right!) : null;
            }

            return left;
        }

        private PermissionQuery? ParseAnd(ref PermissionQueryError? error)
        {
            var left = ParseTerm(ref error);
            while (error is null && TryKeyword("AND"))
            {
                var right = ParseTerm(ref error);
                left = error is null ? new All(left!, right!) : null;
            }

            return left;
        }

        private PermissionQuery? ParseTerm(ref PermissionQueryError? error)
        {
            SkipSpaces();
            if (_position >= text.Length)
            {
                error = Expected("a permission or '('");
                return null;
            }

            if (text[_position] == '(')
            {
                var open = _position;
                if (++_depth > MaxDepth)
                {
                    error = new PermissionQueryError($"Parentheses are nested deeper than {MaxDepth} at position {open}.", open);
                    return null;
                }

                _position++;
                var inner = ParseOr(ref error);
                if (error is not null)
                {
                    return null;
                }

                SkipSpaces();
                if (_position >= text.Length || text[_position] != ')')
                {
                    error = _position >= text.Length
                        ? new PermissionQueryError($"Expected ')' at position {_position} to close the '(' at position {open}, found the end of the query.", _position)
                        : Expected($"AND, OR or the ')' that closes the '(' at position {open}");
                    return null;
                }

                _position++;
                _depth--;
                return inner;
            }

            var start = _position;
            while (_position < text.Length && IsPermissionChar(text[_position]))
            {
                _position++;
            }

            if (_position == start)
            {
                error = Expected("a permission or '('");
                return null;
            }

            var permission = text[start.._position];
            if (permission.Length > 128)
            {
                error = new PermissionQueryError($"The permission at position {start} is longer than 128 characters.", start);
                return null;
            }

            return new Required(permission);
        }

        private bool TryKeyword(string keyword)
        {
            SkipSpaces();
            if (string.CompareOrdinal(text, _position, keyword, 0, keyword.Length) != 0)
            {
                return false;
            }

            var end = _position + keyword.Length;
            // "ORDER" is not "OR": a keyword ends at a space, a parenthesis or the end.
            if (end < text.Length && text[end] is not (' ' or '\t' or '\n' or '\r' or '('))
            {
                return false;
            }

            _position = end;
            return true;
        }

        private void SkipSpaces()
        {
            while (_position < text.Length && text[_position] is ' ' or '\t' or '\n' or '\r')
            {
                _position++;
            }
        }

        /// <summary>
        /// "Expected X at position N, found Y", in plain words, with a hint when what was found
        /// looks like an operator in the wrong case or an operator that does not exist.
        /// </summary>
        private PermissionQueryError Expected(string expected)
        {
            var hint = "";
            string found;
            if (_position >= text.Length)
            {
                found = "the end of the query";
            }
            else if (text[_position] == ')')
            {
                found = "')' without a matching '('";
            }
            else
            {
                var word = WordAt(_position);
                found = word.Length > 0 ? $"'{word}'" : $"the character '{text[_position]}'";
                if (word.Equals("AND", StringComparison.OrdinalIgnoreCase) || word.Equals("OR", StringComparison.OrdinalIgnoreCase))
                {
                    hint = word is "AND" or "OR"
                        ? $" {word} must stand between two permissions."
                        : " The operators AND and OR are written in upper case.";
                }
                else if (word.Any(char.IsUpper) || word is "&&" or "||" or "&" or "|" or "!")
                {
                    hint = " Only AND and OR (upper case) join permissions, and permissions are lower case.";
                }
                else if (expected.StartsWith("AND", StringComparison.Ordinal))
                {
                    hint = " Join permissions with AND or OR (upper case).";
                }
            }

            return new PermissionQueryError($"Expected {expected} at position {_position}, found {found}.{hint}", _position);
        }

        /// <summary>The run of non-space, non-parenthesis characters at <paramref name="start"/>, at most 40 of them.</summary>
        private string WordAt(int start)
        {
            var end = start;
            while (end < text.Length && end - start < 40 && text[end] is not (' ' or '\t' or '\n' or '\r' or '(' or ')'))
            {
                end++;
            }

            return text[start..end];
        }

        private static bool IsPermissionChar(char c) => c is >= 'a' and <= 'z' or >= '0' and <= '9' or '_' or '.' or ':' or '*' or '-';
    }
}
