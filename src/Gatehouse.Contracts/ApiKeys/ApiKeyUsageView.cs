namespace Gatehouse.Contracts.ApiKeys;

/// <summary>Verification counts of one key per time bucket, by outcome code.</summary>
public sealed record ApiKeyUsageView(string KeyId, string Granularity, DateTime Start, DateTime End, IReadOnlyDictionary<string, long> Totals, IReadOnlyList<UsageBucket> Buckets);

/// <summary>One bucket: its start, the total and the count of each outcome code seen in it.</summary>
public sealed record UsageBucket(DateTime Start, long Total, IReadOnlyDictionary<string, long> Codes);
