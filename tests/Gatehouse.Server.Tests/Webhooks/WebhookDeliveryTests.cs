namespace Gatehouse.Server.Tests.Webhooks;

public sealed class WebhookDeliveryTests(SharedServer shared)
{
    private readonly GatehouseServer _server = shared.Server;

    [Fact]
    public async Task A_change_is_delivered_signed_so_an_independent_verifier_accepts_it()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        var orgId = await _server.CreateOrgAsync();
        var (webhookId, secret) = await _server.CreateWebhookAsync(orgId, receiver.Url(), "role.*");

        var role = await _server.Root.PostAsync($"/api/v1/orgs/{orgId}/roles", new { name = "signed", permissions = new[] { "a:b" } });

        var message = (await receiver.WaitForAsync(r => r.Type == "role.created"))[0];
        StandardWebhooksVerifier.Verify(secret, message, DateTimeOffset.UtcNow).ShouldBeTrue();
        StandardWebhooksVerifier.Verify(secret, message with { Body = message.Body.Replace("signed", "forged", StringComparison.Ordinal) }, DateTimeOffset.UtcNow).ShouldBeFalse();
        message.Id.ShouldStartWith("evt_");
        message.Signature.ShouldStartWith("v1,");
        var json = message.Json;
        json.GetProperty("timestamp").GetString().ShouldNotBeNull();
        var data = json.GetProperty("data");
        data.GetProperty("id").GetString().ShouldBe(role.Str("id"));
        data.GetProperty("object").GetString().ShouldBe("role");
        data.GetProperty("orgId").GetString().ShouldBe(orgId);
        data.GetProperty("changes").GetProperty("name").GetString().ShouldBe("signed");

        var deliveries = await _server.WaitForDeliveriesAsync(orgId, webhookId, d => d.Count == 1 && d[0].GetProperty("status").GetString() == "succeeded");
        var delivery = deliveries[0];
        delivery.GetProperty("id").GetString()!.ShouldStartWith("wdl_");
        delivery.GetProperty("eventId").GetString().ShouldBe(message.Id);
        delivery.GetProperty("eventType").GetString().ShouldBe("role.created");
        var attempt = delivery.GetProperty("attempts")[0];
        attempt.GetProperty("statusCode").GetInt32().ShouldBe(200);
        attempt.GetProperty("responseExcerpt").GetString().ShouldBe("ok");
        attempt.GetProperty("latencyMs").GetInt32().ShouldBeGreaterThanOrEqualTo(0);
        attempt.GetProperty("attemptedAt").GetString().ShouldNotBeNull();
    }

    [Fact]
    public async Task Only_subscribed_events_of_the_endpoints_own_organization_are_queued()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        var orgId = await _server.CreateOrgAsync();
        var otherOrg = await _server.CreateOrgAsync();
        var (webhookId, _) = await _server.CreateWebhookAsync(orgId, receiver.Url(), "role.deleted");
        var (disabledId, _) = await _server.CreateWebhookAsync(orgId, receiver.Url("/disabled"), "*");
        await _server.Root.PatchAsync($"/api/v1/orgs/{orgId}/webhooks/{disabledId}", new { enabled = false });

        var roleId = (await _server.Root.PostAsync($"/api/v1/orgs/{orgId}/roles", new { name = "r", permissions = new[] { "a:b" } })).Str("id");
        await _server.Root.PostAsync($"/api/v1/orgs/{otherOrg}/roles", new { name = "elsewhere", permissions = new[] { "a:b" } });
        await _server.Root.DeleteAsync($"/api/v1/orgs/{orgId}/roles/{roleId}");

        await receiver.WaitForAsync(r => r.Type == "role.deleted");
        var deliveries = await _server.DeliveriesAsync(orgId, webhookId);
        deliveries.Select(d => d.GetProperty("eventType").GetString()).ShouldBe(["role.deleted"]);
        // Its own disabling (webhook.updated) was queued while it was still enabled; no role event reached it.
        (await _server.DeliveriesAsync(orgId, disabledId)).Select(d => d.GetProperty("eventType").GetString()).ShouldAllBe(t => t == "webhook.updated");
        receiver.Received.ShouldAllBe(r => r.Path == "/hook" && r.Type == "role.deleted");
    }

    [Fact]
    public async Task During_a_rotation_grace_both_secrets_sign_and_afterwards_only_the_new_one()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        var orgId = await _server.CreateOrgAsync();
        var (webhookId, oldSecret) = await _server.CreateWebhookAsync(orgId, receiver.Url(), "org.updated");
        var rotated = await _server.Root.PostAsync($"/api/v1/orgs/{orgId}/webhooks/{webhookId}/rotate-secret", new { gracePeriodSeconds = 3600 });
        var newSecret = rotated.Str("secret");

        await _server.Root.PatchAsync($"/api/v1/orgs/{orgId}", new { name = "During grace" });

        var during = (await receiver.WaitForAsync(r => r.Type == "org.updated"))[0];
        during.Signature.Split(' ').Length.ShouldBe(2);
        StandardWebhooksVerifier.Verify(oldSecret, during, DateTimeOffset.UtcNow).ShouldBeTrue();
        StandardWebhooksVerifier.Verify(newSecret, during, DateTimeOffset.UtcNow).ShouldBeTrue();

        var latest = (await _server.Root.PostAsync($"/api/v1/orgs/{orgId}/webhooks/{webhookId}/rotate-secret", new { gracePeriodSeconds = 0 })).Str("secret");
        await _server.Root.PatchAsync($"/api/v1/orgs/{orgId}", new { name = "After grace" });

        var after = (await receiver.WaitForAsync(r => r.Type == "org.updated", count: 2))[1];
        after.Signature.Split(' ').Length.ShouldBe(1);
        StandardWebhooksVerifier.Verify(latest, after, DateTimeOffset.UtcNow).ShouldBeTrue();
        StandardWebhooksVerifier.Verify(newSecret, after, DateTimeOffset.UtcNow).ShouldBeFalse();
    }

    [Fact]
    public async Task Test_sends_a_test_event_and_redeliver_sends_the_same_message_again()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        var orgId = await _server.CreateOrgAsync();
        var (webhookId, secret) = await _server.CreateWebhookAsync(orgId, receiver.Url(), "api_key.created");

        var test = await _server.Root.PostAsync($"/api/v1/orgs/{orgId}/webhooks/{webhookId}/test");

        test.StatusCode.ShouldBe(202, test.Text);
        test.Str("eventType").ShouldBe("webhook.test");
        test.Str("status").ShouldBe("pending");
        var first = (await receiver.WaitForAsync(r => r.Type == "webhook.test"))[0];
        StandardWebhooksVerifier.Verify(secret, first, DateTimeOffset.UtcNow).ShouldBeTrue();
        first.Json.GetProperty("data").GetProperty("id").GetString().ShouldBe(webhookId);

        var redelivered = await _server.Root.PostAsync($"/api/v1/orgs/{orgId}/webhooks/{webhookId}/deliveries/{test.Str("id")}/redeliver");

        redelivered.StatusCode.ShouldBe(202, redelivered.Text);
        redelivered.Str("id").ShouldNotBe(test.Str("id"));
        var again = await receiver.WaitForAsync(r => r.Type == "webhook.test", count: 2);
        again[1].Id.ShouldBe(first.Id);
        again[1].Body.ShouldBe(first.Body);
        StandardWebhooksVerifier.Verify(secret, again[1], DateTimeOffset.UtcNow).ShouldBeTrue();
        (await _server.WaitForDeliveriesAsync(orgId, webhookId, d => d.Count == 2 && d.All(x => x.GetProperty("status").GetString() == "succeeded"))).Count.ShouldBe(2);
    }

    [Fact]
    public async Task A_redirect_is_not_followed_and_a_large_response_is_cut_to_one_kilobyte()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        receiver.Respond = context =>
        {
            if (context.Request.Path == "/redirect")
            {
                context.Response.Headers.Location = "/elsewhere";
                return (302, "");
            }

            return (500, new string('é', 5000));
        };
        var orgId = await _server.CreateOrgAsync();
        var (redirectId, _) = await _server.CreateWebhookAsync(orgId, receiver.Url("/redirect"), "webhook.test");
        var (bigId, _) = await _server.CreateWebhookAsync(orgId, receiver.Url("/big"), "webhook.test");

        await _server.Root.PostAsync($"/api/v1/orgs/{orgId}/webhooks/{redirectId}/test");
        await _server.Root.PostAsync($"/api/v1/orgs/{orgId}/webhooks/{bigId}/test");

        var redirect = (await _server.WaitForDeliveriesAsync(orgId, redirectId, d => d.Count == 1 && d[0].AttemptCount() == 1))[0];
        redirect.GetProperty("status").GetString().ShouldBe("pending");
        redirect.GetProperty("lastStatusCode").GetInt32().ShouldBe(302);
        redirect.GetProperty("attempts")[0].GetProperty("succeeded").GetBoolean().ShouldBeFalse();
        receiver.Received.ShouldNotContain(r => r.Path == "/elsewhere");
        var big = (await _server.WaitForDeliveriesAsync(orgId, bigId, d => d.Count == 1 && d[0].AttemptCount() == 1))[0];
        var excerpt = big.GetProperty("attempts")[0].GetProperty("responseExcerpt").GetString()!;
        System.Text.Encoding.UTF8.GetByteCount(excerpt).ShouldBeLessThanOrEqualTo(1024);
        excerpt.Length.ShouldBeGreaterThan(500);
        big.GetProperty("attempts")[0].GetProperty("statusCode").GetInt32().ShouldBe(500);
    }

    [Fact]
    public async Task An_attempt_that_gets_no_answer_in_15_seconds_fails_as_timed_out()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        receiver.Delay = _ => TimeSpan.FromSeconds(40);
        var orgId = await _server.CreateOrgAsync();
        var (webhookId, _) = await _server.CreateWebhookAsync(orgId, receiver.Url("/slow"), "webhook.test");

        await _server.Root.PostAsync($"/api/v1/orgs/{orgId}/webhooks/{webhookId}/test");

        var delivery = (await _server.WaitForDeliveriesAsync(orgId, webhookId, d => d.Count == 1 && d[0].AttemptCount() == 1, timeout: TimeSpan.FromSeconds(40)))[0];
        var attempt = delivery.GetProperty("attempts")[0];
        attempt.GetProperty("succeeded").GetBoolean().ShouldBeFalse();
        attempt.GetProperty("statusCode").ValueKind.ShouldBe(System.Text.Json.JsonValueKind.Null);
        attempt.GetProperty("error").GetString().ShouldBe("timed out after 15 s");
        delivery.GetProperty("status").GetString().ShouldBe("pending");
    }
}
