using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;
using Gatehouse.Contracts;

namespace Gatehouse.Server.Platform.Http;

/// <summary>
/// The one set of JSON rules: camelCase, ISO-8601 UTC, string enums, bounded depth, and strict
/// reading — an unknown member or a member given twice is an error, so a misspelt field is never
/// silently dropped (free-form maps such as <c>meta</c> are dictionaries and take any key).
/// </summary>
public static class JsonDefaults
{
    public const int MaxDepth = 32;

    private const string NulMessage = "A string must not contain the NUL character (U+0000).";

    public static readonly JsonSerializerOptions Options = Configure(new JsonSerializerOptions(JsonSerializerDefaults.Web));

    public static JsonSerializerOptions Configure(JsonSerializerOptions options)
    {
        options.PropertyNamingPolicy = JsonNamingPolicy.CamelCase;
        options.DictionaryKeyPolicy = null;
        options.MaxDepth = MaxDepth;
        options.NumberHandling = JsonNumberHandling.Strict;
        options.Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping;
        options.DefaultIgnoreCondition = JsonIgnoreCondition.Never;
        options.UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow;
        options.AllowDuplicateProperties = false;
        if (!options.Converters.OfType<UtcDateTimeConverter>().Any())
        {
            options.Converters.Add(new UtcDateTimeConverter());
            options.Converters.Add(new UtcDateTimeOffsetConverter());
            options.Converters.Add(new NulFreeStringConverter());
            options.Converters.Add(new JsonStringEnumConverter(JsonNamingPolicy.CamelCase));
        }

        return options;
    }

    /// <summary>
    /// The field a strict-reading failure names, as a dotted path from the body's root
    /// (<c>refill.amont</c>, <c>ratelimits[1].name</c>), with the reason <c>unknown</c> or
    /// <c>duplicate</c>; null when <paramref name="ex"/> is another kind of JSON error.
    /// </summary>
    public static FieldError? RejectedMember(JsonException ex)
    {
        // The serializer's messages are the only thing telling these failures apart; its path names the member.
        var reason = ex.Message.Contains("could not be mapped to any .NET member", StringComparison.Ordinal) ? "unknown"
            : ex.Message.StartsWith("Duplicate propert", StringComparison.Ordinal) ? "duplicate"
            : ex.Message == NulMessage ? "invalid"
            : null;
        if (reason is null)
        {
            return null;
        }

        var field = ex.Path is { Length: > 1 } path && path[0] == '$' ? path[1..].TrimStart('.') : "";
        // A duplicate inside a JsonElement is reported at the element; the member is only in the message.
        if (reason == "duplicate" && QuotedName(ex.Message) is { } name && field != name && !field.EndsWith($".{name}", StringComparison.Ordinal))
        {
            field = field.Length == 0 ? name : $"{field}.{name}";
        }

        return new FieldError(field, reason);
    }

    /// <summary>The same failure, as if it had happened under <paramref name="prefix"/> (for a member deserialized on its own).</summary>
    public static JsonException Nest(string prefix, JsonException ex, FieldError rejected) =>
        new(ex.Message, rejected.Field.Length == 0 ? $"$.{prefix}" : $"$.{prefix}.{rejected.Field}", ex.LineNumber, ex.BytePositionInLine, ex);

    private static string? QuotedName(string message)
    {
        var start = message.IndexOf('\'');
        var end = start < 0 ? -1 : message.IndexOf('\'', start + 1);
        return end > start + 1 ? message[(start + 1)..end] : null;
    }

    /// <summary>
    /// Refuses strings holding U+0000: PostgreSQL text cannot store it, so such a name would fail at
    /// the database as a 500 on one provider and be stored on the other. Free-form JSON values
    /// (<c>meta</c>, credential <c>data</c>) are kept as escaped JSON text and are not affected.
    /// </summary>
    private sealed class NulFreeStringConverter : JsonConverter<string>
    {
        public override bool HandleNull => false;

        public override string Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
        {
            var value = reader.GetString()!;
            return value.Contains('\0', StringComparison.Ordinal)
                ? throw new JsonException(NulMessage)
                : value;
        }

        public override void Write(Utf8JsonWriter writer, string value, JsonSerializerOptions options) => writer.WriteStringValue(value);
    }

    /// <summary>Writes every DateTime as <c>yyyy-MM-ddTHH:mm:ss(.fff)Z</c> and reads any ISO-8601 into UTC.</summary>
    private sealed class UtcDateTimeConverter : JsonConverter<DateTime>
    {
        public override DateTime Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
        {
            if (reader.TokenType != JsonTokenType.String || !reader.TryGetDateTimeOffset(out var value))
            {
                throw new JsonException("Expected an ISO-8601 timestamp.");
            }

            return value.UtcDateTime;
        }

        public override void Write(Utf8JsonWriter writer, DateTime value, JsonSerializerOptions options)
        {
            var utc = value.Kind == DateTimeKind.Local ? value.ToUniversalTime() : DateTime.SpecifyKind(value, DateTimeKind.Utc);
            writer.WriteStringValue(utc.Ticks % TimeSpan.TicksPerSecond == 0
                ? utc.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'")
                : utc.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'"));
        }
    }

    /// <summary>
    /// The same format for DateTimeOffset (rate-limit <c>resetAt</c>): the serializer's default
    /// would write <c>+00:00</c>, and every timestamp in a response ends in <c>Z</c>.
    /// </summary>
    private sealed class UtcDateTimeOffsetConverter : JsonConverter<DateTimeOffset>
    {
        private static readonly UtcDateTimeConverter Utc = new();

        public override DateTimeOffset Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
            new(Utc.Read(ref reader, typeof(DateTime), options), TimeSpan.Zero);

        public override void Write(Utf8JsonWriter writer, DateTimeOffset value, JsonSerializerOptions options) => Utc.Write(writer, value.UtcDateTime, options);
    }
}
