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
