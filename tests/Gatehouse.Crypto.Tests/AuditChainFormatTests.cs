using System.Security.Cryptography;

namespace Gatehouse.Crypto.Tests;

/// <summary>
/// The audit chain as stored: canonical text, event hashes and head seals, byte for byte. Every
/// stored chain is verified with this format, so these answers must never change.
/// </summary>
/// <remarks>
/// The expected values were computed outside .NET, from the documented format: Python 3
/// (<c>hmac</c>, <c>hashlib</c>, and HKDF from the <c>cryptography</c> package) and cross-checked with
/// <c>openssl kdf … HKDF</c> (both subkeys), <c>openssl dgst -sha256</c> (event A's plain hash) and
/// <c>openssl dgst -sha256 -mac HMAC -macopt hexkey:&lt;event subkey&gt;</c> (event A's keyed hash).
/// The server code before this format moved into this library gave the same answers.
/// </remarks>
public sealed class AuditChainFormatTests
{
    // Secret = bytes 0x00..0x1f.
    private static readonly AuditChainFormat Format = new([.. Enumerable.Range(0, 32).Select(i => (byte)i)]);

    // The first event of a chain: no previous hash, every optional field absent.
    private static readonly AuditEventFields EventA = new(
        PrevHash: "", Id: "aud_01HZX3V4W5Y6Z7A8B9C0D1E2F3", OrgId: "org_acme", Seq: 1, Action: "org.created",
        ActorType: "root", ActorId: "rk_1", TargetType: null, TargetId: null, Ip: null, UserAgent: null, RequestId: null,
        OccurredAt: new DateTime(2025, 1, 2, 3, 4, 5, 678, DateTimeKind.Utc), Changes: null);

    private const string EventAHash = "177fc214f555a9d84dce5b0daf275d71e44f782a3324676271a827548919e43d";
    private const string EventALegacyHash = "47691d78a68016e209390fe580a5d93b83fb217d4f6a1dec55723738bb9a19b5";

    // The next event: every field present, non-ASCII text in two of them (hashed as UTF-8), and
    // the kind a database hands back (Unspecified), which must hash like UTC.
    private static readonly AuditEventFields EventB = new(
        PrevHash: EventAHash, Id: "aud_01HZX3V4W5Y6Z7A8B9C0D1E2F4", OrgId: "org_acme", Seq: 2, Action: "api_key.created",
        ActorType: "api_key", ActorId: "key_1", TargetType: "api_key", TargetId: "key_2", Ip: "203.0.113.7",
        UserAgent: "curl/8.5 (ünïcode)", RequestId: "req_1",
        OccurredAt: new DateTime(2025, 12, 31, 23, 59, 59, 1, DateTimeKind.Unspecified), Changes: "{\"name\":\"Zoë\"}");

    private const string EventBHash = "1133a10d6eaa2246972015d5e96a26e8adc668425d3ad48ce3e08b05a3d5e00b";
    private const string EventBLegacyHash = "f1af48a6f01b2dd4902e951cc347c3444c0718d801c279b5cede7950ddbf1473";

    [Fact]
    public void The_canonical_text_is_the_fields_joined_by_newlines_in_the_fixed_order()
    {
        AuditChainFormat.Canonical(EventA).ShouldBe("\naud_01HZX3V4W5Y6Z7A8B9C0D1E2F3\norg_acme\n1\norg.created\nroot\nrk_1\n\n\n\n\n\n2025-01-02T03:04:05.678Z\n");
        AuditChainFormat.Canonical(EventB).ShouldBe(
            EventAHash + "\naud_01HZX3V4W5Y6Z7A8B9C0D1E2F4\norg_acme\n2\napi_key.created\napi_key\nkey_1\napi_key\nkey_2\n203.0.113.7\n"
            + "curl/8.5 (ünïcode)\nreq_1\n2025-12-31T23:59:59.001Z\n{\"name\":\"Zoë\"}");
    }

    [Fact]
    public void Event_hashes_give_the_known_answers()
    {
        Format.EventHash(EventA).ShouldBe(EventAHash);
        Format.EventHash(EventB).ShouldBe(EventBHash);
    }

    [Fact]
    public void Plain_hashes_of_events_from_before_keyed_hashing_give_the_known_answers()
    {
        AuditChainFormat.LegacyHash(EventA).ShouldBe(EventALegacyHash);
        AuditChainFormat.LegacyHash(EventB).ShouldBe(EventBLegacyHash);
    }

    [Fact]
    public void Head_seals_give_the_known_answers()
    {
        Format.HeadSeal(new AuditHeadFields("org_acme", 2, EventBHash, KeyedFromSeq: 1, LostAtSeq: null))
            .ShouldBe("ef39e7f13dc79ca1090a4c495fd35e6c1eca22b58aff428877c421808bc4a324");
        Format.HeadSeal(new AuditHeadFields("org_acme", 2, EventBHash, KeyedFromSeq: 3, LostAtSeq: 5))
            .ShouldBe("9bccf44d20097d1cbccfd10a56223b3dbe3ed26ab5dd14740b4173738fff73ee");
    }

    [Fact]
    public void Matching_takes_the_hash_of_the_kind_asked_for_and_nothing_else()
    {
        Format.EventHashMatches(EventA, keyed: true, EventAHash).ShouldBeTrue();
        Format.EventHashMatches(EventA, keyed: false, EventALegacyHash).ShouldBeTrue();
        Format.EventHashMatches(EventA, keyed: true, EventALegacyHash).ShouldBeFalse();
        Format.EventHashMatches(EventA, keyed: false, EventAHash).ShouldBeFalse();
        Format.EventHashMatches(EventA, keyed: true, EventAHash.ToUpperInvariant()).ShouldBeFalse();
        Format.EventHashMatches(EventA, keyed: true, null).ShouldBeFalse();
    }

    [Fact]
    public void A_head_is_sealed_only_by_its_own_seal()
    {
        var head = new AuditHeadFields("org_acme", 2, EventBHash, 1, null);
        var seal = Format.HeadSeal(head);

        Format.IsSealed(head, seal).ShouldBeTrue();
        Format.IsSealed(head, null).ShouldBeFalse();
        Format.IsSealed(head with { LastSeq = 1 }, seal).ShouldBeFalse();
        Format.IsSealed(head with { LostAtSeq = 0 }, seal).ShouldBeFalse();
        new AuditChainFormat(RandomNumberGenerator.GetBytes(32)).IsSealed(head, seal).ShouldBeFalse();
    }

    [Fact]
    public void Every_field_is_covered_by_the_hash()
    {
        var edits = new AuditEventFields[]
        {
            EventB with { PrevHash = EventALegacyHash }, EventB with { Id = "aud_other" }, EventB with { OrgId = "org_other" },
            EventB with { Seq = 3 }, EventB with { Action = "api_key.deleted" }, EventB with { ActorType = "root" },
            EventB with { ActorId = "key_9" }, EventB with { TargetType = null }, EventB with { TargetId = "key_3" },
            EventB with { Ip = "203.0.113.8" }, EventB with { UserAgent = null }, EventB with { RequestId = "req_2" },
            EventB with { OccurredAt = EventB.OccurredAt.AddMilliseconds(1) }, EventB with { Changes = "{}" },
        };

        edits.Select(Format.EventHash).ShouldAllBe(h => h != EventBHash);
        edits.Select(Format.EventHash).Distinct().Count().ShouldBe(edits.Length);
    }

    [Fact]
    public void The_time_is_hashed_to_the_millisecond_as_written_whatever_its_kind()
    {
        var local = EventA with { OccurredAt = DateTime.SpecifyKind(EventA.OccurredAt, DateTimeKind.Local) };
        var subMillisecond = EventA with { OccurredAt = EventA.OccurredAt.AddTicks(9_999) };

        Format.EventHash(local).ShouldBe(EventAHash);
        Format.EventHash(subMillisecond).ShouldBe(EventAHash);
    }
}
