using System.Text;
using Gatehouse.Server.Tests.ApiKeys;

namespace Gatehouse.Server.Tests.Idempotency;

public sealed class IdempotencyTests(SharedServer shared)
{
    private readonly GatehouseServer _server = shared.Server;

    private static Dictionary<string, string> Key(string key) => new() { ["Idempotency-Key"] = key };

    [Fact]
    public async Task A_retried_create_key_replays_the_first_response_and_creates_one_key()
    {
        var orgId = await _server.CreateOrgAsync();
        var idempotencyKey = Guid.NewGuid().ToString();
        var body = new { name = "once", permissions = new[] { "a:b" } };

        var first = await _server.Root.PostAsync($"/api/v1/orgs/{orgId}/api-keys", body, Key(idempotencyKey));
        var retry = await _server.Root.PostAsync($"/api/v1/orgs/{orgId}/api-keys", body, Key(idempotencyKey));

        first.StatusCode.ShouldBe(201, first.Text);
        retry.StatusCode.ShouldBe(201);
        retry.Text.ShouldBe(first.Text);
        retry.Header("Idempotent-Replayed").ShouldBe("true");
        first.Header("Idempotent-Replayed").ShouldBeNull();
        var keys = await _server.Root.GetAsync($"/api/v1/orgs/{orgId}/api-keys");
        keys.Data.GetArrayLength().ShouldBe(1);
    }

    [Fact]
    public async Task The_same_key_with_another_body_is_409()
    {
        var orgId = await _server.CreateOrgAsync();
        var idempotencyKey = Guid.NewGuid().ToString();
        await _server.Root.PostAsync($"/api/v1/orgs/{orgId}/roles", new { name = "a", permissions = new[] { "x:y" } }, Key(idempotencyKey));

        var other = await _server.Root.PostAsync($"/api/v1/orgs/{orgId}/roles", new { name = "b", permissions = new[] { "x:y" } }, Key(idempotencyKey));

        other.StatusCode.ShouldBe(409);
        other.ErrorCode.ShouldBe("CONFLICT");
        (await _server.Root.GetAsync($"/api/v1/orgs/{orgId}/roles")).Data.GetArrayLength().ShouldBe(1);
    }

    [Fact]
    public async Task Concurrent_duplicates_execute_once()
    {
        var orgId = await _server.CreateOrgAsync();
        var idempotencyKey = Guid.NewGuid().ToString();
        var body = new { name = "racing", permissions = Array.Empty<string>() };

        var responses = await Task.WhenAll(Enumerable.Range(0, 10).Select(_ => _server.Root.PostAsync($"/api/v1/orgs/{orgId}/api-keys", body, Key(idempotencyKey))));

        responses.ShouldAllBe(r => r.StatusCode == 201 || r.StatusCode == 409);
        responses.Count(r => r.StatusCode == 201 && r.Header("Idempotent-Replayed") is null).ShouldBe(1);
        (await _server.Root.GetAsync($"/api/v1/orgs/{orgId}/api-keys")).Data.GetArrayLength().ShouldBe(1);
        var created = responses.Where(r => r.StatusCode == 201).Select(r => r.Str("key")).Distinct().ToList();
        created.Count.ShouldBe(1);
    }

    [Fact]
    public async Task A_failed_request_is_not_stored_so_it_can_be_retried()
    {
        var orgId = await _server.CreateOrgAsync();
        var idempotencyKey = Guid.NewGuid().ToString();

        var invalid = await _server.Root.SendAsync(HttpMethod.Post, $"/api/v1/orgs/{orgId}/roles", "{\"name\":\"\",\"permissions\":[]}", Key(idempotencyKey));
        var valid = await _server.Root.SendAsync(HttpMethod.Post, $"/api/v1/orgs/{orgId}/roles", "{\"name\":\"\",\"permissions\":[]}", Key(idempotencyKey));

        invalid.StatusCode.ShouldBe(422);
        valid.StatusCode.ShouldBe(422);
        valid.Header("Idempotent-Replayed").ShouldBeNull();
    }

    [Fact]
    public async Task Keys_are_scoped_per_organization()
    {
        var orgA = await _server.CreateOrgAsync();
        var orgB = await _server.CreateOrgAsync();
        var a = await _server.OrgClientAsync(orgA, "roles:write");
        var b = await _server.OrgClientAsync(orgB, "roles:write");
        var idempotencyKey = Guid.NewGuid().ToString();

        (await a.PostAsync($"/api/v1/orgs/{orgA}/roles", new { name = "same", permissions = Array.Empty<string>() }, Key(idempotencyKey))).StatusCode.ShouldBe(201);
        var inB = await b.PostAsync($"/api/v1/orgs/{orgB}/roles", new { name = "same", permissions = Array.Empty<string>() }, Key(idempotencyKey));

        inB.StatusCode.ShouldBe(201);
        inB.Header("Idempotent-Replayed").ShouldBeNull();
    }

    [Fact]
    public async Task A_key_over_255_characters_is_400()
    {
        var orgId = await _server.CreateOrgAsync();

        var response = await _server.Root.PostAsync($"/api/v1/orgs/{orgId}/roles", new { name = "r", permissions = Array.Empty<string>() }, Key(new string('k', 256)));

        response.StatusCode.ShouldBe(400);
        (await _server.Root.GetAsync($"/api/v1/orgs/{orgId}/roles")).Data.GetArrayLength().ShouldBe(0);
    }

    [Fact]
    public async Task The_stored_response_never_holds_the_new_key_in_plaintext()
    {
        var orgId = await _server.CreateOrgAsync();
        var created = await _server.Root.PostAsync($"/api/v1/orgs/{orgId}/api-keys", new { name = "secret", permissions = Array.Empty<string>() }, Key(Guid.NewGuid().ToString()));
        var secret = created.Str("key");

        if (_server.Database.IsPostgres)
        {
            await using var connection = new Npgsql.NpgsqlConnection(_server.Database.Url);
            await connection.OpenAsync();
            await using var command = new Npgsql.NpgsqlCommand("SELECT count(*) FROM idempotency_records WHERE position(convert_to(@s, 'UTF8') in sealed_body) > 0 OR request_hash LIKE '%' || @s || '%'", connection);
            command.Parameters.AddWithValue("s", secret);
            Convert.ToInt64(await command.ExecuteScalarAsync()).ShouldBe(0);
            await using var count = new Npgsql.NpgsqlCommand("SELECT count(*) FROM idempotency_records WHERE sealed_body IS NOT NULL", connection);
            Convert.ToInt64(await count.ExecuteScalarAsync()).ShouldBeGreaterThan(0);
        }
        else
        {
            var needle = Encoding.UTF8.GetBytes(secret);
            foreach (var (file, bytes) in await SqliteFiles.ReadAllAsync(_server.DataDir))
            {
                bytes.AsSpan().IndexOf(needle).ShouldBe(-1, file);
            }
        }
    }

    [Fact]
    public async Task Records_older_than_24_hours_are_purged_and_the_key_executes_again()
    {
        var clock = new FakeClock();
        await using var server = await GatehouseServer.StartAsync(new ServerOptions { Clock = clock });
        var orgId = await server.CreateOrgAsync();
        var idempotencyKey = Guid.NewGuid().ToString();
        var body = new { name = "daily", permissions = Array.Empty<string>() };
        (await server.Root.PostAsync($"/api/v1/orgs/{orgId}/api-keys", body, Key(idempotencyKey))).StatusCode.ShouldBe(201);

        clock.Advance(TimeSpan.FromHours(25));
        var purged = await server.Services.GetRequiredService<Gatehouse.Server.Platform.Http.IdempotencyPurge>().PurgeAsync(CancellationToken.None);
        var again = await server.Root.PostAsync($"/api/v1/orgs/{orgId}/api-keys", body, Key(idempotencyKey));

        purged.ShouldBeGreaterThanOrEqualTo(1);
        again.StatusCode.ShouldBe(201);
        again.Header("Idempotent-Replayed").ShouldBeNull();
        (await server.Root.GetAsync($"/api/v1/orgs/{orgId}/api-keys")).Data.GetArrayLength().ShouldBe(2);
    }
}
