// A real OpenID Connect provider for the single sign-on tests, on loopback only.
//
// Settings come from the environment:
//   PORT            the port to listen on (127.0.0.1)
//   CLIENT_ID       the one registered client, CLIENT_SECRET its secret (client_secret_basic)
//   CLIENT_AUTH     optional: the client's token_endpoint_auth_method; with private_key_jwt the client's
//                   keys come from CLIENT_JWKS_URI (Gatehouse's /api/v1/auth/oidc/jwks) and no secret is used
//   REDIRECT_URI    the client's one redirect URI (Gatehouse's /api/v1/auth/oidc/callback)
//   ACCOUNTS        JSON object: subject -> { email, email_verified?, name?, groups? }
//
// No page is ever shown: an interaction signs in the account named by login_hint (the first account
// when none is named) and grants what the client asked, so a test can follow redirects from the
// client's login route to its callback without a browser. An unknown login_hint is refused
// (access_denied) the way a user closing the login page would be.
import http from 'node:http';
import Provider from 'oidc-provider';

const port = Number(process.env.PORT);
const accounts = JSON.parse(process.env.ACCOUNTS ?? '{}');
const issuer = `http://127.0.0.1:${port}`;

const provider = new Provider(issuer, {
  clients: [process.env.CLIENT_AUTH === 'private_key_jwt'
    ? {
      client_id: process.env.CLIENT_ID,
      redirect_uris: [process.env.REDIRECT_URI],
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'private_key_jwt',
      token_endpoint_auth_signing_alg: 'ES256',
      jwks_uri: process.env.CLIENT_JWKS_URI,
    }
    : {
      client_id: process.env.CLIENT_ID,
      client_secret: process.env.CLIENT_SECRET,
      redirect_uris: [process.env.REDIRECT_URI],
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: process.env.CLIENT_AUTH ?? 'client_secret_basic',
    }],
  scopes: ['openid', 'email', 'profile', 'groups'],
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name'],
    groups: ['groups'],
  },
  // The scope's claims go into the ID token itself: Gatehouse reads them from there.
  conformIdTokenClaims: false,
  cookies: { keys: ['gatehouse-test-provider-cookie-key'] },
  // Gatehouse's JWKS URI is on loopback in the tests, which the provider's SSRF guard refuses to fetch.
  fetch: (url, options) => {
    delete options.dispatcher;
    return globalThis.fetch(url, options);
  },
  features: { devInteractions: { enabled: false } },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  async findAccount(ctx, sub) {
    const account = accounts[sub];
    if (!account) return undefined;
    return {
      accountId: sub,
      async claims() {
        return { sub, email_verified: true, ...account };
      },
    };
  },
});

async function interact(req, res) {
  const details = await provider.interactionDetails(req, res);
  const { prompt, params } = details;
  if (prompt.name === 'login') {
    const accountId = params.login_hint ?? Object.keys(accounts)[0];
    const result = accounts[accountId]
      ? { login: { accountId } }
      : { error: 'access_denied', error_description: 'no such account' };
    await provider.interactionFinished(req, res, result, { mergeWithLastSubmission: false });
    return;
  }

  const grant = details.grantId
    ? await provider.Grant.find(details.grantId)
    : new provider.Grant({ accountId: details.session.accountId, clientId: params.client_id });
  grant.addOIDCScope(String(params.scope));
  const grantId = await grant.save();
  await provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
}

const callback = provider.callback();
// PUT /test/accounts/<subject> {claims}: the tests change what the provider says of an account (an
// address changed at the provider, say). Loopback only, like the whole provider.
async function updateAccount(req, res) {
  const subject = decodeURIComponent(req.url.slice('/test/accounts/'.length));
  let body = '';
  for await (const chunk of req) body += chunk;
  accounts[subject] = { ...(accounts[subject] ?? {}), ...JSON.parse(body) };
  res.statusCode = 204;
  res.end();
}

const server = http.createServer((req, res) => {
  if (req.method === 'PUT' && req.url.startsWith('/test/accounts/')) {
    updateAccount(req, res).catch((err) => {
      res.statusCode = 400;
      res.end(String(err));
    });
    return;
  }
  if (req.url.startsWith('/interaction/')) {
    interact(req, res).catch((err) => {
      res.statusCode = 500;
      res.end(String(err));
    });
    return;
  }

  callback(req, res);
});

server.listen(port, '127.0.0.1', () => {
  console.log(`oidc-provider listening on ${issuer}`);
});

process.on('SIGTERM', () => server.close(() => process.exit(0)));
