// A real OpenID provider (panva's oidc-provider) for herd-auth's OAuth tests.
//
//   node provider.mjs <dir holding node_modules/oidc-provider>
//
// Listens on a random loopback port and prints one JSON line when ready:
//   {"issuer": "http://127.0.0.1:PORT", "port": PORT}
// then serves until killed. One client, `herd-test` / `herd-test-secret`,
// may use the client-credentials grant. Tokens are JWTs signed with a fresh
// ES256 key (kid `test-es256`), for these resource indicators:
//   https://herd.test/mcp        the resource under test, 300 s lifetime
//   https://herd.test/short      same, 1 s lifetime (expiry tests)
//   https://other.test/mcp       another resource (wrong-audience tests)
// The `scope` claim carries the granted scopes (herd:admin, herd:operator,
// herd:viewer, herd:unmapped).
import { generateKeyPairSync } from 'node:crypto';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const dir = process.argv[2];
if (!dir) {
  console.error('usage: node provider.mjs <oidc-provider install dir>');
  process.exit(2);
}
const { default: Provider, errors } = await import(
  pathToFileURL(join(dir, 'node_modules/oidc-provider/lib/index.js')).href
);

const SCOPES = 'herd:admin herd:operator herd:viewer herd:unmapped';
const RESOURCES = {
  'https://herd.test/mcp': 300,
  'https://herd.test/short': 1,
  'https://other.test/mcp': 300,
};

const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const signingKey = { ...privateKey.export({ format: 'jwk' }), kid: 'test-es256', alg: 'ES256', use: 'sig' };

const server = createServer();
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const { port } = server.address();
const issuer = `http://127.0.0.1:${port}`;

const provider = new Provider(issuer, {
  clients: [{
    client_id: 'herd-test',
    client_secret: 'herd-test-secret',
    grant_types: ['client_credentials'],
    redirect_uris: [],
    response_types: [],
    scope: SCOPES,
    token_endpoint_auth_method: 'client_secret_post',
    id_token_signed_response_alg: 'ES256',
  }],
  jwks: { keys: [signingKey] },
  scopes: SCOPES.split(' '),
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => undefined,
      useGrantedResource: () => true,
      getResourceServerInfo: (_ctx, resource) => {
        const ttl = RESOURCES[resource];
        if (ttl === undefined) throw new errors.InvalidTarget();
        return {
          scope: SCOPES,
          audience: resource,
          accessTokenTTL: ttl,
          accessTokenFormat: 'jwt',
          jwt: { sign: { alg: 'ES256' } },
        };
      },
    },
  },
});
server.on('request', provider.callback());
console.log(JSON.stringify({ issuer, port }));
