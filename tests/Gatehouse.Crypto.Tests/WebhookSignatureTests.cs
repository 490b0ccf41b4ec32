namespace Gatehouse.Crypto.Tests;

public sealed class WebhookSignatureTests
{
    // The Standard Webhooks specification's published example.
    private const string Secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    private const string MessageId = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    private const long Timestamp = 1614265330;
    private const string Body = "{\"test\": 2432232314}";
    private const string Expected = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

    [Fact]
    public void Signing_matches_the_specification_example()
    {
        WebhookSignature.TryParseSecret(Secret, out var key).ShouldBeTrue();

        WebhookSignature.Sign(key, MessageId, Timestamp, Body).ShouldBe(Expected);
    }

    // A second vector, computed with Python (base64 of hmac.new(secret, f"{id}.{ts}.{body}".encode(),
    // hashlib.sha256).digest()) and `printf '%s' 'msg_2KqExample.1700000000.{…}' | openssl dgst
    // -sha256 -mac HMAC -macopt hexkey:000102…1f -binary | base64`: secret bytes 0x00..0x1f and a body
    // with a non-ASCII character, which is signed as UTF-8.
    [Fact]
    public void Signing_gives_the_independently_computed_answer_for_a_UTF8_body()
    {
        var secret = Enumerable.Range(0, 32).Select(i => (byte)i).ToArray();
        const string body = "{\"type\":\"api_key.created\",\"data\":{\"name\":\"Zoë\"}}";

        WebhookSignature.FormatSecret(secret).ShouldBe("whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=");
        WebhookSignature.Sign(secret, "msg_2KqExample", 1700000000, body).ShouldBe("v1,/xDpvG/C15DSR8WuN+3M5OS3jx7wmEnP+92pwMoY6wE=");
        WebhookSignature.TryParseSecret("whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=", out var parsed).ShouldBeTrue();
        parsed.ShouldBe(secret);
    }

    [Fact]
    public void Verification_accepts_any_matching_signature_of_several_and_nothing_tampered()
    {
        WebhookSignature.TryParseSecret(Secret, out var key).ShouldBeTrue();

        WebhookSignature.Verify(key, MessageId, Timestamp, Body, "v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= " + Expected).ShouldBeTrue();
        WebhookSignature.Verify(key, MessageId, Timestamp, Body + " ", Expected).ShouldBeFalse();
        WebhookSignature.Verify(key, MessageId, Timestamp + 1, Body, Expected).ShouldBeFalse();
        WebhookSignature.Verify(key, "msg_other", Timestamp, Body, Expected).ShouldBeFalse();
    }

    [Fact]
    public void New_secrets_are_32_random_bytes_in_the_whsec_format()
    {
        var secret = WebhookSignature.FormatSecret(WebhookSignature.NewSecretBytes());

        secret.ShouldStartWith("whsec_");
        WebhookSignature.TryParseSecret(secret, out var bytes).ShouldBeTrue();
        bytes.Length.ShouldBe(32);
        WebhookSignature.FormatSecret(WebhookSignature.NewSecretBytes()).ShouldNotBe(secret);
        WebhookSignature.TryParseSecret("whsec_not*base64", out _).ShouldBeFalse();
        WebhookSignature.TryParseSecret("sk_abc", out _).ShouldBeFalse();
    }
}
