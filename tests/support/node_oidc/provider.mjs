// A certified OpenID provider (the npm package oidc-provider) on loopback, for the tests of
// the JWT auth method: `node provider.mjs PORT '["client-id", ...]'`. Each client may use the
// client_credentials grant (secret `<id>-secret`, sent in the form); with a `resource` (the
// audience) its access token is a JWT whose `sub` is the client ID, signed RS256 by a key
// made at start, carrying the claims of the JSON object in `test_claims`.
import { generateKeyPairSync } from 'node:crypto';
import Provider from 'oidc-provider';

const [port, clientsJson] = process.argv.slice(2);
const issuer = `http://127.0.0.1:${port}`;

const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingKey = { ...privateKey.export({ format: 'jwk' }), kid: 'provider-rsa-1', use: 'sig', alg: 'RS256' };

const provider = new Provider(issuer, {
  clients: JSON.parse(clientsJson).map((id) => ({
    client_id: id,
    client_secret: `${id}-secret`,
    // In the form body: an ID with colons (GitHub-shaped subjects) cannot go in Basic auth.
    token_endpoint_auth_method: 'client_secret_post',
    grant_types: ['client_credentials'],
    redirect_uris: [],
    response_types: [],
  })),
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

provider.listen(Number(port), '127.0.0.1', () => {
  console.log(`ready ${issuer}`);
});
