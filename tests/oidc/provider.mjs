// A real OpenID provider (the `oidc-provider` package) for pilotledger's
// tests: tests/api/oidc.rs and e2e/oidc.test.mjs start it with
//
//   node tests/oidc/provider.mjs '<config JSON>'
//
// and read one JSON line from stdout once it listens:
// {"issuer": "http://127.0.0.1:PORT", "port": PORT}.
//
// Config: {
//   "port": 0,                       // 0 picks a free port
//   "audience": "pilotledger",       // `aud` of the access tokens (JWT)
//   "clients": [                     // client_credentials clients ("machines")
//     {"client_id": "c1", "client_secret": "s1", "alg": "RS256",
//      "claims": {"groups": ["pl-finance"], "email": "c1@example.com"}}],
//   "public_clients": [              // authorization code + PKCE, no secret
//     {"client_id": "dashboard", "redirect_uris": ["http://127.0.0.1:8080/"]}],
//   "accounts": {"ana": {"email": "ana@example.com", "groups": ["pl-finance"]}}
// }
//
// Every client_credentials client gets its access token signed with its
// `alg` (RS256, PS256, ES256 or EdDSA) by the provider itself, with its
// `claims` added; people signing in through the login page (any password)
// get their account's claims. `sub` is the client id or the login name.
//
// Test controls, under /admin (never part of a real provider):
//   POST /admin/rotate        new keys (new kids); the old ones are dropped
//   POST /admin/jwks          {"cache_control": "max-age=60", "delay_ms": 0}
//                             how /jwks answers from now on
//   POST /admin/claims        {"client_id": "c1", "claims": {...}} what that
//                             client's next tokens carry
//   GET  /admin/stats         {"jwks_fetches": n, "kids": [...]}
//   POST /admin/sign          {"claims": {...}, "forge": "..."} a token
//                             outside the provider's own issuance (see forge())
import crypto from 'node:crypto';
import http from 'node:http';
import Provider from 'oidc-provider';

const config = JSON.parse(process.argv[2] || process.env.OIDC_CONFIG || '{}');
const AUDIENCE = config.audience || 'pilotledger';
const RESOURCE = 'urn:pilotledger:api';
const API_SCOPE = 'api';
const clients = config.clients || [];
const publicClients = config.public_clients || [];
const accounts = config.accounts || {};

let generation = 0;
let keys = newKeys();
let jwksFetches = 0;
let jwksCacheControl = 'max-age=300';
let jwksDelayMs = 0;
let provider;
let issuer;

/** One private key of each accepted type, with kids naming this generation. */
function newKeys() {
  generation += 1;
  const g = generation;
  const make = (type, opts, kid, alg) => {
    // Generated as PEM text, then read into a key object of its own: exporting
    // the generated key object itself to JWK can deadlock Node 20 when a
    // garbage collection destroys the key-generation job meanwhile (seen in
    // CI: KeyGenJob's destructor waits on the mutex ExportJWK holds).
    const { privateKey: pem } = crypto.generateKeyPairSync(type, {
      ...opts,
      publicKeyEncoding: { type: 'spki', format: 'pem' },
      privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    });
    const privateKey = crypto.createPrivateKey(pem);
    const jwk = privateKey.export({ format: 'jwk' });
    return { kid, alg, privateKey, jwk: { ...jwk, kid, use: 'sig' } };
  };
  return [
    make('rsa', { modulusLength: 2048 }, `rsa-${g}`, 'RS256'),
    make('ec', { namedCurve: 'P-256' }, `ec-${g}`, 'ES256'),
    make('ed25519', {}, `ed-${g}`, 'EdDSA'),
  ];
}

const publicJwk = (k) => {
  const { d, p, q, dp, dq, qi, ...pub } = k.jwk;
  return pub;
};

function claimsFor(token) {
  if (token.kind === 'ClientCredentials') {
    return clients.find((c) => c.client_id === token.clientId)?.claims;
  }
  return accounts[token.accountId]?.claims ?? accounts[token.accountId];
}

function makeProvider() {
  const p = new Provider(issuer, {
    clients: [
      ...clients.map((c) => ({
        client_id: c.client_id,
        client_secret: c.client_secret,
        grant_types: ['client_credentials'],
        response_types: [],
        redirect_uris: [],
        scope: API_SCOPE,
      })),
      ...publicClients.map((c) => ({
        client_id: c.client_id,
        token_endpoint_auth_method: 'none',
        grant_types: ['authorization_code'],
        response_types: ['code'],
        redirect_uris: c.redirect_uris,
        post_logout_redirect_uris: c.redirect_uris,
      })),
    ],
    jwks: { keys: keys.map((k) => k.jwk) },
    scopes: ['openid', 'profile', 'email', API_SCOPE],
    claims: { openid: ['sub'], email: ['email'], profile: ['name'] },
    pkce: { required: () => true },
    features: {
      devInteractions: { enabled: true },
      clientCredentials: { enabled: true },
      rpInitiatedLogout: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => RESOURCE,
        useGrantedResource: () => true,
        getResourceServerInfo: (_ctx, _resource, client) => ({
          scope: API_SCOPE,
          audience: AUDIENCE,
          accessTokenFormat: 'jwt',
          accessTokenTTL: 600,
          jwt: { sign: { alg: clients.find((c) => c.client_id === client.clientId)?.alg || 'RS256' } },
        }),
      },
    },
    extraTokenClaims: async (_ctx, token) => claimsFor(token),
    findAccount: async (_ctx, id) => ({
      accountId: id,
      claims: async () => ({ sub: id, email: accounts[id]?.email, name: id }),
    }),
    // Sign-in needs no consent page: the grant is made at once.
    loadExistingGrant: async (ctx) => {
      const grantId = ctx.oidc.result?.consent?.grantId || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
      if (grantId) return ctx.oidc.provider.Grant.find(grantId);
      const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId });
      grant.addOIDCScope(`openid profile email ${API_SCOPE}`);
      grant.addResourceScope(RESOURCE, API_SCOPE);
      await grant.save();
      return grant;
    },
    cookies: { keys: ['pilotledger-test-cookie-key'] },
  });
  p.proxy = true;
  return p;
}

const b64 = (v) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');

/** Signs `claims` with a key of the current generation (or a forgery). */
function forge(kind, claims, alg = 'RS256') {
  const now = Math.floor(Date.now() / 1000);
  const body = { iss: issuer, aud: AUDIENCE, sub: 'forger', iat: now, exp: now + 600, jti: crypto.randomUUID(), ...claims };
  const key = keys.find((k) => k.alg === alg) || keys[0];
  const signWith = (header, privateKey) => {
    const input = `${b64(header)}.${b64(body)}`;
    const opts = { key: privateKey };
    if (header.alg === 'ES256') opts.dsaEncoding = 'ieee-p1363';
    if (header.alg === 'PS256') { opts.padding = crypto.constants.RSA_PKCS1_PSS_PADDING; opts.saltLength = 32; }
    const digest = header.alg === 'EdDSA' ? null : 'sha256';
    return `${input}.${crypto.sign(digest, Buffer.from(input), opts).toString('base64url')}`;
  };
  switch (kind) {
    // Signed properly with the provider's published key (the claims decide).
    case 'valid':
      return signWith({ alg: key.alg, kid: key.kid, typ: 'JWT' }, key.privateKey);
    case 'crit':
      return signWith({ alg: key.alg, kid: key.kid, typ: 'JWT', crit: ['exp'], exp: 1 }, key.privateKey);
    case 'unknown_key': {
      const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
      return signWith({ alg: 'RS256', kid: `never-published-${crypto.randomUUID()}`, typ: 'JWT' }, privateKey);
    }
    case 'known_kid_other_key': {
      const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
      return signWith({ alg: 'RS256', kid: keys[0].kid, typ: 'JWT' }, privateKey);
    }
    case 'none':
      return `${b64({ alg: 'none', typ: 'JWT' })}.${b64(body)}.`;
    // HS256 with the provider's public key (PEM and JWK JSON) as the secret.
    case 'hs256_public_pem':
    case 'hs256_public_jwk': {
      const rsa = keys[0];
      const secret = kind === 'hs256_public_pem'
        ? crypto.createPublicKey(rsa.privateKey).export({ type: 'spki', format: 'pem' })
        : JSON.stringify(publicJwk(rsa));
      const input = `${b64({ alg: 'HS256', kid: rsa.kid, typ: 'JWT' })}.${b64(body)}`;
      return `${input}.${crypto.createHmac('sha256', secret).update(input).digest('base64url')}`;
    }
    default:
      throw new Error(`unknown forgery ${kind}`);
  }
}

async function readJson(req) {
  let text = '';
  for await (const chunk of req) text += chunk;
  return text ? JSON.parse(text) : {};
}

function send(res, status, body, headers = {}) {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

const server = http.createServer(async (req, res) => {
  try {
    const path = req.url.split('?')[0];
    if (path === '/jwks' && req.method === 'GET') {
      jwksFetches += 1;
      if (jwksDelayMs) await new Promise((r) => setTimeout(r, jwksDelayMs));
      return send(res, 200, { keys: keys.map(publicJwk) }, { 'cache-control': jwksCacheControl });
    }
    if (path === '/admin/rotate' && req.method === 'POST') {
      keys = newKeys();
      provider = makeProvider();
      return send(res, 200, { kids: keys.map((k) => k.kid) });
    }
    if (path === '/admin/jwks' && req.method === 'POST') {
      const b = await readJson(req);
      if (b.cache_control !== undefined) jwksCacheControl = b.cache_control;
      if (b.delay_ms !== undefined) jwksDelayMs = b.delay_ms;
      return send(res, 200, { cache_control: jwksCacheControl, delay_ms: jwksDelayMs });
    }
    if (path === '/admin/claims' && req.method === 'POST') {
      const b = await readJson(req);
      const client = clients.find((c) => c.client_id === b.client_id);
      if (!client) return send(res, 404, { error: `no client ${b.client_id}` });
      client.claims = b.claims;
      return send(res, 200, { client_id: client.client_id, claims: client.claims });
    }
    if (path === '/admin/stats' && req.method === 'GET') {
      return send(res, 200, { jwks_fetches: jwksFetches, kids: keys.map((k) => k.kid) });
    }
    if (path === '/admin/sign' && req.method === 'POST') {
      const b = await readJson(req);
      return send(res, 200, { token: forge(b.forge || 'valid', b.claims || {}, b.alg) });
    }
    return provider.callback()(req, res);
  } catch (e) {
    send(res, 500, { error: String(e?.stack || e) });
  }
});

server.listen(config.port || 0, '127.0.0.1', () => {
  const { port } = server.address();
  issuer = `http://127.0.0.1:${port}`;
  provider = makeProvider();
  process.stdout.write(`${JSON.stringify({ issuer, port })}\n`);
});

for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => process.exit(0));
