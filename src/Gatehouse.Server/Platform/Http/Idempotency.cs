using System.Security.Cryptography;
using System.Text;
using Gatehouse.Crypto;
using Gatehouse.Server.Platform.Auth;
using Gatehouse.Server.Platform.Jobs;
using Gatehouse.Server.Platform.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Gatehouse.Server.Platform.Http;

/// <summary>A POST executed under an <c>Idempotency-Key</c>: its request hash and, once done, its sealed response.</summary>
public sealed class IdempotencyRecord
{
    public required string Scope { get; init; }
    public required string Key { get; init; }
    public required string RequestHash { get; init; }
    public int? StatusCode { get; set; }
    public byte[]? SealedBody { get; set; }
    public DateTime CreatedAt { get; init; }
}

internal sealed class IdempotencyRecordMapping : IEntityTypeConfiguration<IdempotencyRecord>
{
    public void Configure(EntityTypeBuilder<IdempotencyRecord> builder)
    {
        builder.ToTable("idempotency_records");
        builder.HasKey(r => new { r.Scope, r.Key });
    }
}

/// <summary>
/// <c>Idempotency-Key</c> on every credentialed POST of /api/v1, Stripe's semantics: the first
/// successful (2xx) response is stored for 24 h per credential and key and
/// replayed to a retry with the same body (<c>Idempotent-Replayed: true</c>); the same key with
/// another body, or while the first request still runs, is 409 CONFLICT. Failed requests are not
/// stored, so they can be retried. Stored bodies may hold a one-time secret (a new API key), so
/// they are sealed with a master-key subkey and bound to their scope and key.
/// </summary>
public sealed class IdempotencyFilter(MasterKey masterKey, TimeProvider clock, ILogger<IdempotencyFilter> logger) : IEndpointFilter
{
    public const string Header = "Idempotency-Key";
    public static readonly TimeSpan Retention = TimeSpan.FromHours(24);
    public const string Purpose = "idempotency";

    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var httpContext = context.HttpContext;
        if (!HttpMethods.IsPost(httpContext.Request.Method) || !httpContext.Request.Headers.TryGetValue(Header, out var values))
        {
            return await next(context);
        }

        var key = values.ToString();
        if (key.Length is 0 or > 255)
        {
            return ApiError.Invalid($"{Header} must be 1–255 characters.", new Dictionary<string, object?> { ["header"] = Header });
        }

        // Runs after authorization (Authorization.Require adds it), so the principal is known. Stored
        // responses belong to the credential that caused them: another key of the same organization
        // sending the same Idempotency-Key gets its own execution, never the first key's secret.
        var principal = httpContext.RequirePrincipal();
        var scope = $"{principal.CredentialType}:{principal.CredentialId}";
        var requestHash = await HashRequestAsync(httpContext.Request);
        var db = httpContext.RequestServices.GetRequiredService<GatehouseDb>();
        var now = clock.GetUtcNow().UtcDateTime;
        var existing = await db.Set<IdempotencyRecord>().AsNoTracking().FirstOrDefaultAsync(r => r.Scope == scope && r.Key == key, httpContext.RequestAborted);
        if (existing is not null && existing.CreatedAt <= now - Retention)
        {
            await db.Set<IdempotencyRecord>().Where(r => r.Scope == scope && r.Key == key).ExecuteDeleteAsync(httpContext.RequestAborted);
            existing = null;
        }

        if (existing is not null)
        {
            return Replay(existing, requestHash, scope, key);
        }

        try
        {
            db.Add(new IdempotencyRecord { Scope = scope, Key = key, RequestHash = requestHash, CreatedAt = now });
            await db.SaveChangesAsync(httpContext.RequestAborted);
        }
        catch (DbUpdateException)
        {
            // A concurrent request with the same key got there first.
            db.ChangeTracker.Clear();
            var winner = await db.Set<IdempotencyRecord>().AsNoTracking().FirstOrDefaultAsync(r => r.Scope == scope && r.Key == key, httpContext.RequestAborted);
            return winner is null ? Conflict("A request with this Idempotency-Key is in progress; retry later.") : Replay(winner, requestHash, scope, key);
        }

        db.ChangeTracker.Clear();
        return await ExecuteAndStoreAsync(context, next, db, scope, key);
    }

    private async Task<object?> ExecuteAndStoreAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next, GatehouseDb db, string scope, string key)
    {
        var httpContext = context.HttpContext;
        var stored = false;
        try
        {
            var result = await next(context);
            if (result is not IResult executable)
            {
                return result;
            }

            // Run the result into memory to keep its bytes, then send the same bytes to the client.
            var original = httpContext.Response.Body;
            using var buffer = new MemoryStream();
            httpContext.Response.Body = buffer;
            try
            {
                await executable.ExecuteAsync(httpContext);
            }
            finally
            {
                httpContext.Response.Body = original;
            }

            var status = httpContext.Response.StatusCode;
            var body = buffer.ToArray();
            if (status is >= 200 and < 300)
            {
                var sealedBody = masterKey.Seal(Purpose, body, Aad(scope, key));
                await db.Set<IdempotencyRecord>().Where(r => r.Scope == scope && r.Key == key)
                    .ExecuteUpdateAsync(s => s.SetProperty(r => r.StatusCode, status).SetProperty(r => r.SealedBody, sealedBody), CancellationToken.None);
                stored = true;
            }

            await original.WriteAsync(body, httpContext.RequestAborted);
            return Results.Empty;
        }
        finally
        {
            if (!stored)
            {
                // Not stored: the key is free for a retry of the failed request.
                await db.Set<IdempotencyRecord>().Where(r => r.Scope == scope && r.Key == key && r.StatusCode == null).ExecuteDeleteAsync(CancellationToken.None);
            }
        }
    }

    private IResult Replay(IdempotencyRecord record, string requestHash, string scope, string key)
    {
        if (!SecretComparison.AreEqual(record.RequestHash, requestHash))
        {
            return Conflict("This Idempotency-Key was used with a different request.");
        }

        if (record.StatusCode is not { } status || record.SealedBody is null)
        {
            return Conflict("A request with this Idempotency-Key is in progress; retry later.");
        }

        byte[] body;
        try
        {
            body = masterKey.Open(Purpose, record.SealedBody, Aad(scope, key));
        }
        catch (CryptographicException ex)
        {
            logger.LogError(ex, "A stored idempotent response could not be opened");
            throw;
        }

        return new ReplayedResult(status, body);
    }

    private static ApiError Conflict(string message) => ApiError.Conflict(message);

    public static byte[] Aad(string scope, string key) => Encoding.UTF8.GetBytes($"idempotency\n{scope}\n{key}");

    private static async Task<string> HashRequestAsync(HttpRequest request)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        sha.AppendData(Encoding.UTF8.GetBytes($"{request.Method} {request.Path}\n"));
        if (request.Body.CanSeek)
        {
            request.Body.Position = 0;
            var buffer = new byte[8192];
            int read;
            while ((read = await request.Body.ReadAsync(buffer)) > 0)
            {
                sha.AppendData(buffer, 0, read);
            }
        }

        return Convert.ToHexStringLower(sha.GetHashAndReset());
    }

    private sealed class ReplayedResult(int status, byte[] body) : IResult
    {
        public async Task ExecuteAsync(HttpContext httpContext)
        {
            httpContext.Response.StatusCode = status;
            httpContext.Response.ContentType = "application/json; charset=utf-8";
            httpContext.Response.Headers["Idempotent-Replayed"] = "true";
            await httpContext.Response.Body.WriteAsync(body, httpContext.RequestAborted);
        }
    }
}

/// <summary>Keeps the body of idempotent POSTs re-readable, so the filter can hash exactly what was sent.</summary>
public sealed class IdempotencyBodyBuffering(RequestDelegate next)
{
    public Task InvokeAsync(HttpContext context)
    {
        if (HttpMethods.IsPost(context.Request.Method) && context.Request.Headers.ContainsKey(IdempotencyFilter.Header))
        {
            context.Request.EnableBuffering();
        }

        return next(context);
    }
}

/// <summary>Deletes stored idempotent responses older than 24 h, hourly.</summary>
public sealed class IdempotencyPurge(IServiceScopeFactory scopes, JobRunner runner, JobRegistry jobs, TimeProvider clock, ILogger<IdempotencyPurge> logger)
    : PeriodicJob(runner, jobs, clock, logger)
{
    public const string JobName = "idempotency-purge";

    public override string Name => JobName;

    public override string Description => "Deletes stored responses of idempotent requests once they are older than 24 hours.";

    public override TimeSpan Interval => TimeSpan.FromHours(1);

    public async Task<int> PurgeAsync(CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<GatehouseDb>();
        var cutoff = Clock.GetUtcNow().UtcDateTime - IdempotencyFilter.Retention;
        return await db.Set<IdempotencyRecord>().Where(r => r.CreatedAt <= cutoff).ExecuteDeleteAsync(cancellationToken);
    }

    public override async Task<JobPass> RunPassAsync(JobPassContext pass, CancellationToken cancellationToken)
    {
        var purged = await PurgeAsync(cancellationToken);
        return new JobPass(Succeeded: true, DidWork: purged > 0);
    }
}
