// An OAuth 2.0 client written only against the standards (RFC 8414, 6749, 7523, 9068, 7662, 7009)
// with libraries that know nothing about Gatehouse: oauth4webapi speaks the protocol, jose checks
// the tokens. If Gatehouse drifts from the standards, this script is where it shows.
//
// Environment:
//   GATEHOUSE_URL   the server, e.g. http://127.0.0.1:5080 (also the expected issuer unless ISSUER is set)
//   ISSUER          optional: the issuer the server is configured with
//   ORG_ID          the organization the clients belong to
//   CLIENT_ID, CLIENT_SECRET    a client_secret_basic client holding api_keys:read
//   POST_CLIENT_ID, POST_CLIENT_SECRET    optional: a client_secret_post client (default: the CLIENT_* one,
//                   which Gatehouse also accepts in the body)
//   PK_CLIENT_ID, PRIVATE_JWK   a private_key_jwt client and its private key as a JWK (JSON, with kid)
//
// Prints one line per step ("ok <step>: ...") and exits 1 with "FAIL <step>: ..." at the first mismatch.

import { webcrypto } from 'node:crypto';

// Node 18 (Debian 12's nodejs) has WebCrypto only as a module; both libraries expect the globals.
globalThis.crypto ??= webcrypto;
globalThis.CryptoKey ??= webcrypto.CryptoKey;

const oauth = await import('oauth4webapi');
const jose = await import('jose');

let currentStep = 'start';

function fail(message) {
  console.log(`FAIL ${currentStep}: ${message}`);
  process.exit(1);
}

function ok(message) {
  console.log(`ok ${currentStep}: ${message}`);
}

function expect(condition, message) {
  if (!condition) {
    fail(message);
  }
}

function required(name) {
  const value = process.env[name];
  if (!value) {
    fail(`environment variable ${name} is not set`);
  }

  return value;
}

/** Describes an oauth4webapi or jose error with what the server said, for the FAIL line. */
function describe(error) {
  const parts = [`${error?.name ?? 'Error'}: ${error?.message ?? error}`];
  if (error?.code) parts.push(`code=${error.code}`);
  if (error?.error) parts.push(`error=${error.error}`);
  if (error?.error_description) parts.push(`description=${error.error_description}`);
  if (error?.status) parts.push(`status=${error.status}`);
  if (error?.cause && typeof error.cause === 'object') parts.push(`cause=${JSON.stringify(error.cause)}`);
  return parts.join(' ');
}

async function step(name, action) {
  currentStep = name;
  try {
    return await action();
  } catch (error) {
    fail(describe(error));
  }
}

const baseUrl = required('GATEHOUSE_URL').replace(/\/+$/, '');
const expectedIssuer = process.env.ISSUER || baseUrl;
const orgId = required('ORG_ID');
const basicClientId = required('CLIENT_ID');
const basicClientSecret = required('CLIENT_SECRET');
const postClientId = process.env.POST_CLIENT_ID || basicClientId;
const postClientSecret = process.env.POST_CLIENT_SECRET || basicClientSecret;
const privateKeyClientId = required('PK_CLIENT_ID');
const privateJwk = JSON.parse(required('PRIVATE_JWK'));

// Gatehouse runs on http in the tests; oauth4webapi refuses http unless told.
const insecure = { [oauth.allowInsecureRequests]: true };

const methods = ['client_secret_basic', 'client_secret_post', 'private_key_jwt'];

const as = await step('discovery', async () => {
  const issuer = new URL(expectedIssuer);
  const response = await oauth.discoveryRequest(issuer, { algorithm: 'oauth2', ...insecure });
  // Metadata may be cached (RFC 8414 says nothing against it); tokens and introspection answers may not.
  const metadata = await oauth.processDiscoveryResponse(issuer, response);
  for (const endpoint of ['token_endpoint', 'jwks_uri', 'introspection_endpoint', 'revocation_endpoint']) {
    expect(typeof metadata[endpoint] === 'string' && metadata[endpoint].startsWith(expectedIssuer), `${endpoint} is ${metadata[endpoint]}`);
  }

  expect(metadata.grant_types_supported?.includes('client_credentials'), `grant_types_supported is ${JSON.stringify(metadata.grant_types_supported)}`);
  for (const method of methods) {
    expect(metadata.token_endpoint_auth_methods_supported?.includes(method), `token_endpoint_auth_methods_supported lacks ${method}`);
    expect(metadata.introspection_endpoint_auth_methods_supported?.includes(method), `introspection_endpoint_auth_methods_supported lacks ${method}`);
    expect(metadata.revocation_endpoint_auth_methods_supported?.includes(method), `revocation_endpoint_auth_methods_supported lacks ${method}`);
  }

  expect(metadata.token_endpoint_auth_signing_alg_values_supported?.includes('ES256'), `token_endpoint_auth_signing_alg_values_supported lacks ES256`);
  expect(Array.isArray(metadata.scopes_supported) && metadata.scopes_supported.includes('api_keys:read'), `scopes_supported lacks api_keys:read`);
  ok(`issuer ${metadata.issuer}, token endpoint ${metadata.token_endpoint}`);
  return metadata;
});

const jwks = jose.createRemoteJWKSet(new URL(as.jwks_uri));

const privateKey = await step('private key', async () => {
  const { d: _private, ...publicPart } = privateJwk;
  expect(privateJwk.d && privateJwk.kid, 'PRIVATE_JWK must be a private JWK with a kid');
  const key = await jose.importJWK(privateJwk, 'ES256');
  ok(`imported ${publicPart.kty}/${publicPart.crv} kid ${privateJwk.kid}`);
  return key;
});

const clients = {
  client_secret_basic: { client: { client_id: basicClientId }, auth: oauth.ClientSecretBasic(basicClientSecret) },
  client_secret_post: { client: { client_id: postClientId }, auth: oauth.ClientSecretPost(postClientSecret) },
  private_key_jwt: { client: { client_id: privateKeyClientId }, auth: oauth.PrivateKeyJwt({ key: privateKey, kid: privateJwk.kid }) },
};

// One narrowed request (a subset of the client's scopes) and two that take all of them.
const requestedScope = { client_secret_basic: undefined, client_secret_post: 'api_keys:read', private_key_jwt: undefined };

async function callApi(accessToken) {
  const response = await fetch(`${baseUrl}/api/v1/orgs/${encodeURIComponent(orgId)}/api-keys`, {
    headers: { authorization: `Bearer ${accessToken}`, accept: 'application/json' },
  });
  return { status: response.status, text: await response.text() };
}

async function introspect(method, accessToken) {
  const { client, auth } = clients[method];
  const response = await oauth.introspectionRequest(as, client, auth, accessToken, { additionalParameters: { token_type_hint: 'access_token' }, ...insecure });
  expect(response.headers.get('cache-control')?.includes('no-store'), `introspection Cache-Control is "${response.headers.get('cache-control')}", not no-store`);
  return oauth.processIntrospectionResponse(as, client, response);
}

for (const method of methods) {
  const { client, auth } = clients[method];

  const token = await step(`token ${method}`, async () => {
    const parameters = requestedScope[method] ? { scope: requestedScope[method] } : {};
    const response = await oauth.clientCredentialsGrantRequest(as, client, auth, parameters, insecure);
    expect(response.headers.get('cache-control')?.includes('no-store'), `Cache-Control is "${response.headers.get('cache-control')}", not no-store`);
    const result = await oauth.processClientCredentialsResponse(as, client, response);
    expect(result.token_type === 'bearer', `token_type is ${result.token_type}`);
    expect(typeof result.expires_in === 'number' && result.expires_in > 0, `expires_in is ${result.expires_in}`);
    expect(typeof result.scope === 'string', `scope is ${result.scope}`);
    const scopes = result.scope.split(' ');
    if (requestedScope[method]) {
      expect(result.scope === requestedScope[method], `asked for scope "${requestedScope[method]}", got "${result.scope}"`);
    } else {
      expect(scopes.includes('api_keys:read'), `scope "${result.scope}" lacks api_keys:read`);
    }

    ok(`expires_in ${result.expires_in}, scope "${result.scope}"`);
    return result;
  });

  await step(`verify ${method}`, async () => {
    const { payload, protectedHeader } = await jose.jwtVerify(token.access_token, jwks, {
      issuer: as.issuer,
      audience: as.issuer,
      typ: 'at+jwt',
      algorithms: ['ES256', 'RS256'],
      requiredClaims: ['iss', 'sub', 'aud', 'exp', 'iat', 'jti', 'client_id', 'org_id', 'scope'],
    });
    expect(typeof protectedHeader.kid === 'string' && protectedHeader.kid.length > 0, 'the token header has no kid');
    expect(payload.client_id === client.client_id, `client_id is ${payload.client_id}, expected ${client.client_id}`);
    expect(payload.sub === client.client_id, `sub is ${payload.sub}, expected ${client.client_id}`);
    expect(payload.org_id === orgId, `org_id is ${payload.org_id}, expected ${orgId}`);
    expect(payload.scope === token.scope, `scope claim "${payload.scope}" differs from the response's "${token.scope}"`);
    expect(payload.exp > Math.floor(Date.now() / 1000), `exp ${payload.exp} is in the past`);
    expect(Math.abs(payload.exp - payload.iat - token.expires_in) <= 1, `exp - iat = ${payload.exp - payload.iat}, expires_in = ${token.expires_in}`);
    ok(`${protectedHeader.alg} kid ${protectedHeader.kid}, iss ${payload.iss}, client_id ${payload.client_id}`);
  });

  await step(`api ${method}`, async () => {
    const { status, text } = await callApi(token.access_token);
    expect(status === 200, `GET /api/v1/orgs/${orgId}/api-keys answered ${status}: ${text}`);
    ok('GET api-keys 200');
  });

  const claims = await step(`introspect ${method}`, async () => {
    const result = await introspect(method, token.access_token);
    expect(result.active === true, `active is ${result.active}: ${JSON.stringify(result)}`);
    expect(result.client_id === client.client_id, `client_id is ${result.client_id}`);
    expect(result.scope === token.scope, `scope is "${result.scope}", the token has "${token.scope}"`);
    expect(result.iss === as.issuer, `iss is ${result.iss}`);
    expect(result.org_id === orgId, `org_id is ${result.org_id}`);
    expect(typeof result.exp === 'number' && typeof result.jti === 'string', `exp ${result.exp} / jti ${result.jti}`);
    ok('active true');
    return result;
  });

  await step(`revoke ${method}`, async () => {
    const { client: owner, auth: ownerAuth } = clients[method];
    const response = await oauth.revocationRequest(as, owner, ownerAuth, token.access_token, { additionalParameters: { token_type_hint: 'access_token' }, ...insecure });
    await oauth.processRevocationResponse(response);
    ok(`revoked jti ${claims.jti}`);
  });

  await step(`introspect revoked ${method}`, async () => {
    const result = await introspect(method, token.access_token);
    expect(result.active === false, `active is ${result.active}`);
    expect(Object.keys(result).length === 1, `an inactive answer must say nothing else: ${JSON.stringify(result)}`);
    ok('active false');
  });

  await step(`api revoked ${method}`, async () => {
    const { status, text } = await callApi(token.access_token);
    expect(status === 401, `GET api-keys with the revoked token answered ${status}: ${text}`);
    ok('GET api-keys 401');
  });
}

// Sender-constrained tokens (RFC 9449), when the server advertises them: a token requested with a
// DPoP proof is bound to the client's key and works only with a fresh proof of that key.
if (as.dpop_signing_alg_values_supported?.includes('ES256')) {
  const { client, auth } = clients.client_secret_basic;
  const keyPair = await oauth.generateKeyPair('ES256');
  const dpop = oauth.DPoP(client, keyPair);
  const jkt = await jose.calculateJwkThumbprint(await jose.exportJWK(keyPair.publicKey));
  const apiUrl = new URL(`${baseUrl}/api/v1/orgs/${encodeURIComponent(orgId)}/api-keys`);

  /** The API's status for the token sent with a proof under the DPoP scheme (the library writes both). */
  async function callApiWithProof(accessToken) {
    try {
      const response = await oauth.protectedResourceRequest(accessToken, 'GET', apiUrl, undefined, undefined, { DPoP: dpop, ...insecure });
      return response.status;
    } catch (error) {
      if (error instanceof oauth.WWWAuthenticateChallengeError) {
        return error.status;
      }

      throw error;
    }
  }

  const token = await step('token dpop', async () => {
    const response = await oauth.clientCredentialsGrantRequest(as, client, auth, {}, { DPoP: dpop, ...insecure });
    const result = await oauth.processClientCredentialsResponse(as, client, response);
    expect(result.token_type === 'dpop', `token_type is ${result.token_type}`);
    ok(`token_type DPoP, expires_in ${result.expires_in}`);
    return result;
  });

  await step('verify dpop', async () => {
    const { payload } = await jose.jwtVerify(token.access_token, jwks, { issuer: as.issuer, audience: as.issuer, typ: 'at+jwt', algorithms: ['ES256', 'RS256'] });
    expect(payload.cnf?.jkt === jkt, `cnf.jkt is ${payload.cnf?.jkt}, the key's thumbprint is ${jkt}`);
    ok('cnf.jkt is the thumbprint of the proof key');
  });

  await step('api dpop', async () => {
    const status = await callApiWithProof(token.access_token);
    expect(status === 200, `GET api-keys with the token and a proof answered ${status}`);
    ok('GET api-keys with a proof 200');
  });

  await step('api dpop as bearer', async () => {
    const { status, text } = await callApi(token.access_token);
    expect(status === 401, `GET api-keys with the bound token as Bearer answered ${status}: ${text}`);
    ok('GET api-keys as Bearer 401');
  });

  await step('introspect dpop', async () => {
    const result = await introspect('client_secret_basic', token.access_token);
    expect(result.active === true && result.token_type === 'DPoP', `active ${result.active}, token_type ${result.token_type}`);
    expect(result.cnf?.jkt === jkt, `cnf.jkt is ${result.cnf?.jkt}`);
    ok('active true, token_type DPoP');
  });

  await step('revoke dpop', async () => {
    await oauth.processRevocationResponse(await oauth.revocationRequest(as, client, auth, token.access_token, insecure));
    const status = await callApiWithProof(token.access_token);
    expect(status === 401, `GET api-keys with the revoked bound token and a proof answered ${status}`);
    ok('revoked; GET api-keys with a proof 401');
  });
} else {
  currentStep = 'dpop';
  ok('skipped: the server advertises no dpop_signing_alg_values_supported');
}

// The refusals, read the way a standards client reads them: the library must recognise each error.

/** Runs a request that must be refused; returns its status, RFC 6749 error code and authentication challenges. */
async function refusal(send, process) {
  const response = await send();
  try {
    await process(response);
  } catch (error) {
    if (error instanceof oauth.WWWAuthenticateChallengeError) {
      const body = await error.response.json().catch(() => ({}));
      return { status: error.status, error: body.error, challenges: error.cause };
    }

    if (error instanceof oauth.ResponseBodyError) {
      return { status: error.status, error: error.error, challenges: [] };
    }

    throw error;
  }

  fail(`the request was accepted (${response.status})`);
}

const basic = clients.client_secret_basic;

await step('refuse wrong secret client_secret_basic', async () => {
  const result = await refusal(
    () => oauth.clientCredentialsGrantRequest(as, basic.client, oauth.ClientSecretBasic(`${basicClientSecret}x`), {}, insecure),
    (response) => oauth.processClientCredentialsResponse(as, basic.client, response));
  expect(result.status === 401 && result.error === 'invalid_client', `got ${result.status} ${result.error}`);
  const challenge = result.challenges.find((c) => c.scheme === 'basic');
  expect(challenge?.parameters.realm === 'gatehouse', `WWW-Authenticate challenges ${JSON.stringify(result.challenges)}`);
  ok('401 invalid_client, Basic realm="gatehouse"');
});

await step('refuse wrong secret client_secret_post', async () => {
  const post = clients.client_secret_post;
  const result = await refusal(
    () => oauth.clientCredentialsGrantRequest(as, post.client, oauth.ClientSecretPost(`${postClientSecret}x`), {}, insecure),
    (response) => oauth.processClientCredentialsResponse(as, post.client, response));
  expect(result.status === 401 && result.error === 'invalid_client', `got ${result.status} ${result.error}`);
  ok('401 invalid_client');
});

await step('refuse scope beyond the client', async () => {
  const result = await refusal(
    () => oauth.clientCredentialsGrantRequest(as, basic.client, basic.auth, { scope: 'api_keys:read orgs:write' }, insecure),
    (response) => oauth.processClientCredentialsResponse(as, basic.client, response));
  expect(result.status === 400 && result.error === 'invalid_scope', `got ${result.status} ${result.error}`);
  ok('400 invalid_scope');
});

await step('refuse replayed assertion private_key_jwt', async () => {
  const { client } = clients.private_key_jwt;
  const jti = `replay-${crypto.randomUUID()}`;
  const sameJti = oauth.PrivateKeyJwt({ key: privateKey, kid: privateJwk.kid }, { [oauth.modifyAssertion]: (_header, payload) => { payload.jti = jti; } });
  const first = await oauth.clientCredentialsGrantRequest(as, client, sameJti, {}, insecure);
  await oauth.processClientCredentialsResponse(as, client, first);
  const result = await refusal(
    () => oauth.clientCredentialsGrantRequest(as, client, sameJti, {}, insecure),
    (response) => oauth.processClientCredentialsResponse(as, client, response));
  expect(result.status === 401 && result.error === 'invalid_client', `got ${result.status} ${result.error}`);
  ok('first use 200, second use 401 invalid_client');
});

await step('refuse unauthenticated introspection', async () => {
  const result = await refusal(
    () => oauth.introspectionRequest(as, basic.client, oauth.None(), 'not-a-token', insecure),
    (response) => oauth.processIntrospectionResponse(as, basic.client, response));
  expect(result.status === 401 && result.error === 'invalid_client', `got ${result.status} ${result.error}`);
  ok('401 invalid_client');
});

currentStep = 'done';
ok(`${methods.length} client authentication methods`);
