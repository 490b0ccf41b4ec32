using System.Security.Claims;
using System.Security.Cryptography;
using Microsoft.AspNetCore;
using Microsoft.IdentityModel.Tokens;
using OpenIddict.Abstractions;
using OpenIddict.Server.AspNetCore;
using static OpenIddict.Abstractions.OpenIddictConstants;
using static OpenIddict.Server.OpenIddictServerEvents;

namespace Gatehouse.Benchmarks;

/// <summary>
/// OpenIddict configured as favourably as it allows for the one grant Gatehouse needs, to measure it
/// against <see cref="OAuthBaselineServer"/> (docs/decisions/0013-oauth-token-service.md): degraded mode
/// (no OpenIddict.Core stores, no database), token storage off, client credentials only, JWT access
/// tokens signed ES256 and not encrypted, plain HTTP on loopback, OpenIddict itself answering (no
/// passthrough to an MVC action), and clients authenticated by our own handler against the same
/// frozen dictionary of keyed secret hashes as the baseline.
/// </summary>
public static class OpenIddictBenchServer
{
    private const string OrgIdClaim = "org_id";

    public static void Run(string[] args)
    {
        var builder = WebApplication.CreateSlimBuilder(args);
        builder.Logging.ClearProviders();
        var clientsFile = builder.Configuration["clients"] ?? throw new InvalidOperationException("--clients <file of lines 'clientId secret'> is required");
        var clients = OAuthBenchClients.Load(clientsFile);
        var signingKey = new ECDsaSecurityKey(ECDsa.Create(ECCurve.NamedCurves.nistP256)) { KeyId = OAuthBenchClients.NewKeyId() };

        builder.Services.AddOpenIddict().AddServer(options =>
        {
            options.EnableDegradedMode();
            options.DisableTokenStorage();
            options.AllowClientCredentialsFlow();
            options.SetTokenEndpointUris("/oauth/token");
            options.SetIntrospectionEndpointUris("/oauth/introspect");
            options.RegisterScopes(OAuthBenchClients.Scope);
            options.SetAccessTokenLifetime(TimeSpan.FromHours(1));
            options.AddSigningKey(signingKey);
            options.AddEphemeralEncryptionKey();
            options.DisableAccessTokenEncryption();
            // Compact JSON like the baseline's, and the contract's realm on invalid_client.
            options.UseAspNetCore().DisableTransportSecurityRequirement().SuppressJsonResponseIndentation().SetRealm("gatehouse");

            // Degraded mode leaves client authentication to the application: the same lookup and
            // constant-time keyed-hash comparison as the baseline.
            options.AddEventHandler<ValidateTokenRequestContext>(handler => handler.UseInlineHandler(context =>
            {
                if (clients.Authenticate(context.Request.ClientId, context.Request.ClientSecret) is null)
                {
                    context.Reject(Errors.InvalidClient, "The client credentials are invalid.");
                }

                return default;
            }));

            options.AddEventHandler<HandleTokenRequestContext>(handler => handler.UseInlineHandler(context =>
            {
                var clientId = context.Request.ClientId!;
                var identity = new ClaimsIdentity(OpenIddictServerAspNetCoreDefaults.AuthenticationScheme, Claims.Name, Claims.Role);
                identity.SetClaim(Claims.Subject, clientId);
                identity.SetClaim(Claims.ClientId, clientId);
                identity.SetClaim(OrgIdClaim, OAuthBenchClients.OrgId);
                identity.SetScopes(OAuthBenchClients.Scope);
                identity.SetAudiences(context.BaseUri!.AbsoluteUri.TrimEnd('/'));
                identity.SetPresenters(clientId);
                identity.SetDestinations(static _ => [Destinations.AccessToken]);
                context.SignIn(new ClaimsPrincipal(identity));
                return default;
            }));

            options.AddEventHandler<ValidateIntrospectionRequestContext>(handler => handler.UseInlineHandler(context =>
            {
                var caller = clients.Authenticate(context.Request.ClientId, context.Request.ClientSecret);
                if (caller is null)
                {
                    context.Reject(Errors.InvalidClient, "The client credentials are invalid.");
                }

                return default;
            }));

            // The introspection answer carries the scope and the organization like Gatehouse's (degraded
            // mode skips the handler that would copy the application's claims).
            options.AddEventHandler<HandleIntrospectionRequestContext>(handler => handler.UseInlineHandler(context =>
            {
                if (context.GenericTokenPrincipal is { } principal)
                {
                    context.Scopes.UnionWith(principal.GetScopes());
                    if (principal.GetClaim(OrgIdClaim) is { } orgId)
                    {
                        context.Claims[OrgIdClaim] = orgId;
                    }
                }

                return default;
            }));

            // OpenIddict marks token answers no-store but not introspection answers; the contract wants
            // it on every answer, so the comparison pays for it too.
            options.AddEventHandler<ApplyIntrospectionResponseContext>(handler => handler.UseInlineHandler(context =>
            {
                if (context.Transaction.GetHttpRequest() is { } request)
                {
                    request.HttpContext.Response.Headers.CacheControl = "no-store";
                }

                return default;
            }));
        });

        var app = builder.Build();
        Console.WriteLine($"openiddict listening with {clients.Count} clients");
        app.Run();
    }
}
