// A certified OpenID provider (the npm package oidc-provider) on loopback, for the tests of
// the JWT auth method: `node provider.mjs PORT '["client-id", ...]'`. Each client may use the
// client_credentials grant (secret `<id>-secret`, sent in the form); with a `resource` (the
// audience) its access token is a JWT whose `sub` is the client ID, signed RS256 by a key
// made at start, carrying the claims of the JSON object in `test_claims`.
//
// With a third argument, `{"client_id", "client_secret", "redirect_uris", "account", "claims"}`,
// it also serves the authorization code flow to that web client: every authorization request
// is logged in as `account` and consented at once (no browser, no pages), and the ID token
// carries `claims`.
import { generateKeyPairSync } from 'node:crypto';
import Provider from 'oidc-provider';

const [port, clientsJson, webJson] = process.argv.slice(2);
const web = webJson ? JSON.parse(webJson) : null;
const issuer = `http://127.0.0.1:${port}`;

const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingKey = { ...privateKey.export({ format: 'jwk' }), kid: 'provider-rsa-1', use: 'sig', alg: 'RS256' };

const provider = new Provider(issuer, {
  clients: [...(web ? [{
    client_id: web.client_id,
    client_secret: web.client_secret,
    token_endpoint_auth_method: 'client_secret_basic',
    grant_types: ['authorization_code'],
    redirect_uris: web.redirect_uris,
    response_types: ['code'],
  }] : []), ...JSON.parse(clientsJson).map((id) => ({
    client_id: id,
    client_secret: `${id}-secret`,
    // In the form body: an ID with colons (GitHub-shaped subjects) cannot go in Basic auth.
    token_endpoint_auth_method: 'client_secret_post',
    grant_types: ['client_credentials'],
    redirect_uris: [],
    response_types: [],
  }))],
  interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
  findAccount: (_ctx, id) => ({
    accountId: id,
    claims: () => ({ sub: id, ...(web ? web.claims : {}) }),
  }),
  claims: { openid: ['sub'], profile: ['name', 'groups', 'email'] },
  conformIdTokenClaims: false,
  jwks: { keys: [signingKey] },
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => 'urn:awsbroker:test-default',
      getResourceServerInfo: (_ctx, resource) => ({
        scope: 'broker',
        audience: resource,
        accessTokenFormat: 'jwt',
        accessTokenTTL: 300,
        jwt: { sign: { alg: 'RS256' } },
      }),
    },
  },
  extraTokenClaims: (ctx) => {
    const raw = ctx.oidc.body?.test_claims;
    return raw ? JSON.parse(raw) : undefined;
  },
});

// The interaction pages, answered without a person: log in as the web account, consent.
provider.use(async (ctx, next) => {
  const match = /^\/interaction\/([^/]+)$/.exec(ctx.path);
  if (!web || !match) return next();
  const details = await provider.interactionDetails(ctx.req, ctx.res);
  if (details.prompt.name === 'login') {
    return provider.interactionFinished(ctx.req, ctx.res,
      { login: { accountId: web.account } }, { mergeWithLastSubmission: false });
  }
  const grant = details.grantId
    ? await provider.Grant.find(details.grantId)
    : new provider.Grant({ accountId: details.session.accountId, clientId: details.params.client_id });
  grant.addOIDCScope(details.params.scope);
  const grantId = await grant.save();
  return provider.interactionFinished(ctx.req, ctx.res,
    { consent: { grantId } }, { mergeWithLastSubmission: true });
});

provider.listen(Number(port), '127.0.0.1', () => {
  console.log(`ready ${issuer}`);
});
