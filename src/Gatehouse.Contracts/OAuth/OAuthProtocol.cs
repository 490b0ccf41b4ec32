using System.Text.Json.Serialization;

namespace Gatehouse.Contracts.OAuth;

/// <summary>The token request (form-encoded, RFC 6749 §4.4 with the client authentication of §2.3 and RFC 7523).</summary>
public sealed record TokenRequestForm(
    [property: JsonPropertyName("grant_type")] string GrantType,
    [property: JsonPropertyName("scope")] string? Scope,
    [property: JsonPropertyName("client_id")] string? ClientId,
    [property: JsonPropertyName("client_secret")] string? ClientSecret,
    [property: JsonPropertyName("client_assertion_type")] string? ClientAssertionType,
    [property: JsonPropertyName("client_assertion")] string? ClientAssertion);

/// <summary>An introspection or revocation request (form-encoded, RFC 7662 / RFC 7009), with a client's authentication or a Bearer credential.</summary>
public sealed record TokenActionForm(
    [property: JsonPropertyName("token")] string Token,
    [property: JsonPropertyName("token_type_hint")] string? TokenTypeHint,
    [property: JsonPropertyName("client_id")] string? ClientId,
    [property: JsonPropertyName("client_secret")] string? ClientSecret,
    [property: JsonPropertyName("client_assertion_type")] string? ClientAssertionType,
    [property: JsonPropertyName("client_assertion")] string? ClientAssertion);

/// <summary>An access token (RFC 6749 §5.1).</summary>
public sealed record TokenResponse(
    [property: JsonPropertyName("access_token")] string AccessToken,
    [property: JsonPropertyName("token_type")] string TokenType,
    [property: JsonPropertyName("expires_in")] int ExpiresIn,
    [property: JsonPropertyName("scope")] string Scope);

/// <summary>An OAuth error (RFC 6749 §5.2): invalid_request, invalid_client, invalid_scope, unsupported_grant_type, unauthorized_client, temporarily_unavailable.</summary>
public sealed record OAuthErrorResponse(
    [property: JsonPropertyName("error")] string Error,
    [property: JsonPropertyName("error_description")] string? ErrorDescription);

/// <summary>An introspection answer (RFC 7662 §2.2): an inactive token is exactly <c>{"active": false}</c>.</summary>
public sealed record IntrospectionResponse(
    [property: JsonPropertyName("active")] bool Active,
    [property: JsonPropertyName("scope")] string? Scope,
    [property: JsonPropertyName("client_id")] string? ClientId,
    [property: JsonPropertyName("sub")] string? Sub,
    [property: JsonPropertyName("aud")] string? Aud,
    [property: JsonPropertyName("iss")] string? Iss,
    [property: JsonPropertyName("exp")] long? Exp,
    [property: JsonPropertyName("iat")] long? Iat,
    [property: JsonPropertyName("jti")] string? Jti,
    [property: JsonPropertyName("token_type")] string? TokenType,
    [property: JsonPropertyName("org_id")] string? OrgId);

/// <summary>Authorization server metadata (RFC 8414).</summary>
public sealed record AuthorizationServerMetadata(
    [property: JsonPropertyName("issuer")] string Issuer,
    [property: JsonPropertyName("token_endpoint")] string TokenEndpoint,
    [property: JsonPropertyName("jwks_uri")] string JwksUri,
    [property: JsonPropertyName("introspection_endpoint")] string IntrospectionEndpoint,
    [property: JsonPropertyName("revocation_endpoint")] string RevocationEndpoint,
    [property: JsonPropertyName("grant_types_supported")] IReadOnlyList<string> GrantTypesSupported,
    [property: JsonPropertyName("token_endpoint_auth_methods_supported")] IReadOnlyList<string> TokenEndpointAuthMethodsSupported,
    [property: JsonPropertyName("scopes_supported")] IReadOnlyList<string> ScopesSupported);

/// <summary>One public key of the JWK Set.</summary>
public sealed record PublicJwk(
    [property: JsonPropertyName("kty")] string Kty,
    [property: JsonPropertyName("kid")] string Kid,
    [property: JsonPropertyName("use")] string Use,
    [property: JsonPropertyName("alg")] string Alg,
    [property: JsonPropertyName("crv")] string? Crv,
    [property: JsonPropertyName("x")] string? X,
    [property: JsonPropertyName("y")] string? Y,
    [property: JsonPropertyName("n")] string? N,
    [property: JsonPropertyName("e")] string? E);

/// <summary>The JWK Set of the token-signing keys (RFC 7517).</summary>
public sealed record JwkSet([property: JsonPropertyName("keys")] IReadOnlyList<PublicJwk> Keys);
