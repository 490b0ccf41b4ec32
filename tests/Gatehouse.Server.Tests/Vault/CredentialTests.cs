using System.Text;
using System.Text.Json;
using Gatehouse.Server.Tests.ApiKeys;

namespace Gatehouse.Server.Tests.Vault;

public sealed class CredentialTests(SharedServer shared)
{
    private readonly GatehouseServer _server = shared.Server;

    public static TheoryData<string, string> AuthTypes => new()
    {
        { "oauth2_bearer", """{"accessToken":"at_secret_value_1"}""" },
        { "oauth2_client_credentials", """{"clientId":"cid","clientSecret":"cs_secret_value_2","tokenUrl":"https://auth.example.com/token"}""" },
        { "api_key", """{"apiKey":"ak_secret_value_3"}""" },
        { "basic_auth", """{"username":"u","password":"pw_secret_value_4"}""" },
        { "bearer_token", """{"token":"bt_secret_value_5"}""" },
        { "jwt", """{"token":"jwt_secret_value_6"}""" },
        { "saml", """{"assertion":"saml_secret_value_7"}""" },
        { "custom", """{"anything":"custom_secret_value_8"}""" },
    };

    [Theory]
    [MemberData(nameof(AuthTypes))]
    public async Task Every_auth_type_is_stored_listed_without_data_and_revealed(string authType, string data)
    {
        var orgId = await _server.CreateOrgAsync();
        var integration = "int-" + authType;
        var created = await _server.Root.PostAsync($"/api/v1/orgs/{orgId}/credentials",
            "{\"integrationId\":\"" + integration + "\",\"authType\":\"" + authType + "\",\"name\":\"main\",\"data\":" + data + ",\"metadata\":{\"team\":\"billing\"}}");

        created.StatusCode.ShouldBe(201, created.Text);
        created.Str("id").ShouldStartWith("cred_");
        created.Data.TryGetProperty("data", out _).ShouldBeFalse();
        var secret = JsonDocument.Parse(data).RootElement.EnumerateObject().Last().Value.GetString()!;
        created.Text.ShouldNotContain(secret);

        var list = await _server.Root.GetAsync($"/api/v1/orgs/{orgId}/credentials?authType={authType}");
        list.Data.GetArrayLength().ShouldBe(1);
        list.Text.ShouldNotContain(secret);

        var revealed = await _server.Root.GetAsync($"/api/v1/orgs/{orgId}/credentials/{integration}");
        revealed.StatusCode.ShouldBe(200, revealed.Text);
        revealed.Data[0].GetProperty("data").GetRawText().ShouldBe(JsonDocument.Parse(data).RootElement.GetRawText());
    }

    [Theory]
    [InlineData("oauth2_client_credentials", """{"clientId":"c","tokenUrl":"https://x"}""", "data.clientSecret")]
    [InlineData("basic_auth", """{"username":"u"}""", "data.password")]
    [InlineData("api_key", """{"apiKey":""}""", "data.apiKey")]
    [InlineData("custom", """{}""", "data")]
    [InlineData("kerberos", """{"x":"y"}""", "authType")]
    public async Task Missing_required_fields_are_422_naming_the_field(string authType, string data, string field)
    {
        var orgId = await _server.CreateOrgAsync();

        var response = await _server.Root.PostAsync($"/api/v1/orgs/{orgId}/credentials",
            "{\"integrationId\":\"stripe\",\"authType\":\"" + authType + "\",\"name\":\"n\",\"data\":" + data + "}");

        response.StatusCode.ShouldBe(422);
        response.Body.GetProperty("error").GetProperty("details").GetProperty("fields").EnumerateArray()
            .Select(f => f.GetProperty("field").GetString()).ShouldContain(field);
        (await _server.Root.GetAsync($"/api/v1/orgs/{orgId}/credentials")).Data.GetArrayLength().ShouldBe(0);
    }

    [Fact]
    public async Task Update_with_data_adds_a_version_and_keeps_the_previous_one()
    {
        var orgId = await _server.CreateOrgAsync();
        var created = await _server.Root.PostAsync($"/api/v1/orgs/{orgId}/credentials", new { integrationId = "github", authType = "bearer_token", name = "ci", data = new { token = "old-token" } });
        var id = created.Str("id");

        var updated = await _server.Root.PatchAsync($"/api/v1/orgs/{orgId}/credentials/github/{id}", new { data = new { token = "new-token" } });

        updated.StatusCode.ShouldBe(200, updated.Text);
        updated.Data.GetProperty("version").GetInt32().ShouldBe(2);
        var details = await _server.Root.GetAsync($"/api/v1/orgs/{orgId}/credentials/github/details");
        details.Data[0].GetProperty("versions").EnumerateArray().Select(v => v.GetProperty("version").GetInt32()).ShouldBe([2, 1]);
        details.Text.ShouldNotContain("token\":");
        var revealed = await _server.Root.GetAsync($"/api/v1/orgs/{orgId}/credentials/github");
        revealed.Data[0].GetProperty("data").GetProperty("token").GetString().ShouldBe("new-token");
        var bad = await _server.Root.PatchAsync($"/api/v1/orgs/{orgId}/credentials/github/{id}", new { data = new { nottoken = "x" } });
        bad.StatusCode.ShouldBe(422);
    }

    [Fact]
    public async Task An_expired_credential_is_reported_as_expired_without_its_data()
    {
        var orgId = await _server.CreateOrgAsync();
        await _server.Root.PostAsync($"/api/v1/orgs/{orgId}/credentials", new { integrationId = "old", authType = "api_key", name = "gone", data = new { apiKey = "expired-secret" }, expiresAt = "2020-01-01T00:00:00Z" });

        var revealed = await _server.Root.GetAsync($"/api/v1/orgs/{orgId}/credentials/old");

        revealed.StatusCode.ShouldBe(200);
        revealed.Data[0].GetProperty("credential").GetProperty("expired").GetBoolean().ShouldBeTrue();
        revealed.Data[0].GetProperty("data").ValueKind.ShouldBe(JsonValueKind.Null);
        revealed.Text.ShouldNotContain("expired-secret");
    }

    [Fact]
    public async Task Read_does_not_imply_reveal_and_each_reveal_is_audited()
    {
        var orgId = await _server.CreateOrgAsync();
        await _server.Root.PostAsync($"/api/v1/orgs/{orgId}/credentials", new { integrationId = "slack", authType = "bearer_token", name = "bot", data = new { token = "xoxb-secret" } });
        var reader = await _server.OrgClientAsync(orgId, "read");
        var revealer = await _server.OrgClientAsync(orgId, "credentials:reveal", "audit:read");

        (await reader.GetAsync($"/api/v1/orgs/{orgId}/credentials")).StatusCode.ShouldBe(200);
        (await reader.GetAsync($"/api/v1/orgs/{orgId}/credentials/slack/details")).StatusCode.ShouldBe(200);
        var denied = await reader.GetAsync($"/api/v1/orgs/{orgId}/credentials/slack");
        denied.StatusCode.ShouldBe(403);
        denied.Body.GetProperty("error").GetProperty("details").GetProperty("required").GetString().ShouldBe("credentials:reveal");
        (await reader.PostAsync($"/api/v1/orgs/{orgId}/credentials", new { integrationId = "x", authType = "jwt", name = "n", data = new { token = "t" } })).StatusCode.ShouldBe(403);

        (await revealer.GetAsync($"/api/v1/orgs/{orgId}/credentials/slack")).StatusCode.ShouldBe(200);
        var audit = await revealer.GetAsync($"/api/v1/orgs/{orgId}/audit-logs?action=credential.reveal");
        audit.Data.GetArrayLength().ShouldBe(1);
        audit.Text.ShouldNotContain("xoxb-secret");
    }

    [Fact]
    public async Task One_credential_is_revealed_by_id_audited_and_404_when_unknown_or_of_another_integration()
    {
        var orgId = await _server.CreateOrgAsync();
        var wanted = (await _server.Root.PostAsync($"/api/v1/orgs/{orgId}/credentials", new { integrationId = "stripe", authType = "api_key", name = "live", data = new { apiKey = "sk-live-secret" } })).Str("id");
        await _server.Root.PostAsync($"/api/v1/orgs/{orgId}/credentials", new { integrationId = "stripe", authType = "api_key", name = "test", data = new { apiKey = "sk-test-secret" } });
        var expired = (await _server.Root.PostAsync($"/api/v1/orgs/{orgId}/credentials", new { integrationId = "stripe", authType = "api_key", name = "old", data = new { apiKey = "sk-old-secret" }, expiresAt = "2020-01-01T00:00:00Z" })).Str("id");
        var reader = await _server.OrgClientAsync(orgId, "credentials:read");
        var revealer = await _server.OrgClientAsync(orgId, "credentials:reveal", "audit:read");

        var revealed = await revealer.GetAsync($"/api/v1/orgs/{orgId}/credentials/stripe/{wanted}");
        var ofExpired = await revealer.GetAsync($"/api/v1/orgs/{orgId}/credentials/stripe/{expired}");
        var denied = await reader.GetAsync($"/api/v1/orgs/{orgId}/credentials/stripe/{wanted}");
        var wrongIntegration = await revealer.GetAsync($"/api/v1/orgs/{orgId}/credentials/github/{wanted}");
        var unknown = await revealer.GetAsync($"/api/v1/orgs/{orgId}/credentials/stripe/cred_unknown");

        revealed.StatusCode.ShouldBe(200, revealed.Text);
        revealed.Data.GetProperty("credential").GetProperty("id").GetString().ShouldBe(wanted);
        revealed.Data.GetProperty("data").GetProperty("apiKey").GetString().ShouldBe("sk-live-secret");
        revealed.Text.ShouldNotContain("sk-test-secret");
        ofExpired.StatusCode.ShouldBe(200);
        ofExpired.Data.GetProperty("credential").GetProperty("expired").GetBoolean().ShouldBeTrue();
        ofExpired.Data.GetProperty("data").ValueKind.ShouldBe(JsonValueKind.Null);
        denied.StatusCode.ShouldBe(403);
        denied.Body.GetProperty("error").GetProperty("details").GetProperty("required").GetString().ShouldBe("credentials:reveal");
        wrongIntegration.StatusCode.ShouldBe(404);
        unknown.StatusCode.ShouldBe(404);
        var audit = await revealer.GetAsync($"/api/v1/orgs/{orgId}/audit-logs?action=credential.reveal");
        audit.Data.GetArrayLength().ShouldBe(1);
        audit.Data[0].GetProperty("target").GetProperty("id").GetString().ShouldBe(wanted);
        audit.Text.ShouldNotContain("sk-live-secret");
    }

    [Fact]
    public async Task Delete_removes_the_credential_and_a_second_delete_is_404()
    {
        var orgId = await _server.CreateOrgAsync();
        var id = (await _server.Root.PostAsync($"/api/v1/orgs/{orgId}/credentials", new { integrationId = "aws", authType = "basic_auth", name = "n", data = new { username = "u", password = "p" } })).Str("id");

        (await _server.Root.DeleteAsync($"/api/v1/orgs/{orgId}/credentials/aws/{id}")).StatusCode.ShouldBe(200);

        (await _server.Root.GetAsync($"/api/v1/orgs/{orgId}/credentials/aws")).StatusCode.ShouldBe(404);
        (await _server.Root.DeleteAsync($"/api/v1/orgs/{orgId}/credentials/aws/{id}")).StatusCode.ShouldBe(404);
        (await _server.Root.GetAsync($"/api/v1/orgs/{orgId}/credentials/nothing/details")).StatusCode.ShouldBe(404);
    }

    [Fact]
    public async Task Another_organizations_credentials_are_404_and_unchanged()
    {
        var orgA = await _server.CreateOrgAsync();
        var orgB = await _server.CreateOrgAsync();
        var id = (await _server.Root.PostAsync($"/api/v1/orgs/{orgB}/credentials", new { integrationId = "b-int", authType = "api_key", name = "b", data = new { apiKey = "b-secret" } })).Str("id");
        var keyOfA = await _server.OrgClientAsync(orgA, "credentials:read", "credentials:reveal", "credentials:write");

        (await keyOfA.GetAsync($"/api/v1/orgs/{orgB}/credentials")).StatusCode.ShouldBe(404);
        (await keyOfA.GetAsync($"/api/v1/orgs/{orgB}/credentials/b-int")).StatusCode.ShouldBe(404);
        (await keyOfA.GetAsync($"/api/v1/orgs/{orgB}/credentials/b-int/details")).StatusCode.ShouldBe(404);
        (await keyOfA.GetAsync($"/api/v1/orgs/{orgB}/credentials/b-int/{id}")).StatusCode.ShouldBe(404);
        (await keyOfA.GetAsync($"/api/v1/orgs/{orgA}/credentials/b-int/{id}")).StatusCode.ShouldBe(404);
        (await keyOfA.PatchAsync($"/api/v1/orgs/{orgB}/credentials/b-int/{id}", new { name = "stolen" })).StatusCode.ShouldBe(404);
        (await keyOfA.DeleteAsync($"/api/v1/orgs/{orgB}/credentials/b-int/{id}")).StatusCode.ShouldBe(404);
        (await keyOfA.GetAsync($"/api/v1/orgs/{orgA}/credentials/b-int")).StatusCode.ShouldBe(404);
        (await keyOfA.PatchAsync($"/api/v1/orgs/{orgA}/credentials/b-int/{id}", new { name = "stolen" })).StatusCode.ShouldBe(404);
        var still = await _server.Root.GetAsync($"/api/v1/orgs/{orgB}/credentials/b-int");
        still.Data[0].GetProperty("credential").GetProperty("name").GetString().ShouldBe("b");
    }

    [Fact]
    public async Task Plaintext_never_reaches_the_database_or_the_logs()
    {
        var orgId = await _server.CreateOrgAsync();
        var secret = "plaintext-canary-" + Guid.NewGuid().ToString("N");
        var id = (await _server.Root.PostAsync($"/api/v1/orgs/{orgId}/credentials", new { integrationId = "canary", authType = "api_key", name = "c", data = new { apiKey = secret } })).Str("id");
        await _server.Root.PatchAsync($"/api/v1/orgs/{orgId}/credentials/canary/{id}", new { data = new { apiKey = secret + "-v2" } });
        await _server.Root.GetAsync($"/api/v1/orgs/{orgId}/credentials/canary");

        if (_server.Database.IsPostgres)
        {
            await using var connection = new Npgsql.NpgsqlConnection(_server.Database.Url);
            await connection.OpenAsync();
            foreach (var (table, column) in new[] { ("credentials", "metadata"), ("credentials", "name"), ("audit_events", "changes") })
            {
                await using var command = new Npgsql.NpgsqlCommand($"SELECT count(*) FROM {table} WHERE {column} LIKE '%' || @s || '%'", connection);
                command.Parameters.AddWithValue("s", secret);
                Convert.ToInt64(await command.ExecuteScalarAsync()).ShouldBe(0, table);
            }

            await using var blobs = new Npgsql.NpgsqlCommand("SELECT count(*) FROM credential_versions WHERE position(convert_to(@s, 'UTF8') in ciphertext) > 0", connection);
            blobs.Parameters.AddWithValue("s", secret);
            Convert.ToInt64(await blobs.ExecuteScalarAsync()).ShouldBe(0);
        }
        else
        {
            var needle = Encoding.UTF8.GetBytes(secret);
            foreach (var (file, bytes) in await SqliteFiles.ReadAllAsync(_server.DataDir))
            {
                bytes.AsSpan().IndexOf(needle).ShouldBe(-1, file);
            }
        }

        _server.Logs.All.ShouldNotContain(secret);
    }
}
