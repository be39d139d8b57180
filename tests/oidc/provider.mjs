// The OpenID provider of the tests: `oidc-provider` (a certified implementation, from npm,
// installed by scripts/test) on loopback, with one client (Steward) and people made up from
// the address typed on its own login page.
//
// Environment: OIDC_MODULES (the node_modules folder holding oidc-provider and jose),
// OIDC_REDIRECT_URI (Steward's callback). Prints `READY <port>` once listening.
//
// People: anyone, by address. An address starting with `unverified` has email_verified false.
//
// For tokens a real provider would never issue, the server in front of the provider rewrites
// the ID token of the token endpoint's answer, as `GET /__test/mode?m=…` sets:
//   foreign_key     signed with a key the provider does not publish (same kid)
//   wrong_audience  `aud` is another client
//   expired         `exp` ten minutes ago
//   nonce           another `nonce`
//   rotated         signed with a second key, published from the moment the person signs in
//                   (after Steward read the keys when the sign-in started)
// `/broken/.well-known/openid-configuration` answers a discovery document that is not one.
import http from 'node:http';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const modules = process.env.OIDC_MODULES;
const redirectUri = process.env.OIDC_REDIRECT_URI;
if (!modules || !redirectUri) {
  console.error('OIDC_MODULES and OIDC_REDIRECT_URI are required');
  process.exit(2);
}
const { default: Provider } = await import(pathToFileURL(join(modules, 'oidc-provider/lib/index.js')).href);
const jose = await import(pathToFileURL(join(modules, 'jose/dist/node/esm/index.js')).href);

const pair = () => jose.generateKeyPair('RS256', { extractable: true });
const signing = await pair();
const foreign = await pair();
const second = await pair();
const publicJwk = async (key, kid) => ({ ...(await jose.exportJWK(key)), kid, alg: 'RS256', use: 'sig' });
const signingJwk = { ...(await jose.exportJWK(signing.privateKey)), kid: 'k1', alg: 'RS256', use: 'sig' };

let mode = 'none';
let secondPublished = false;

const front = http.createServer((req, res) => {
  handle(req, res).catch((e) => {
    console.error(e);
    if (!res.headersSent) res.writeHead(500);
    res.end(String(e));
  });
});
await new Promise((resolve) => front.listen(0, '127.0.0.1', resolve));
const port = front.address().port;
const issuer = `http://127.0.0.1:${port}`;

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: 'steward',
      client_secret: 'steward-secret',
      redirect_uris: [redirectUri],
      grant_types: ['authorization_code'],
      response_types: ['code'],
    },
  ],
  jwks: { keys: [signingJwk] },
  cookies: { keys: ['steward-tests-cookie-key'] },
  claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
  // the ID token carries the scopes' claims itself (Steward reads no userinfo)
  conformIdTokenClaims: false,
  features: { devInteractions: { enabled: false } },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  findAccount: async (ctx, id) => ({
    accountId: id,
    claims: async () => ({
      sub: id,
      email: id,
      email_verified: !id.startsWith('unverified'),
      name: `Person ${id.split('@')[0]}`,
    }),
  }),
  // the client is first-party: no consent screen
  loadExistingGrant: async (ctx) => {
    const grantId = ctx.oidc.result?.consent?.grantId || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    if (grantId) return ctx.oidc.provider.Grant.find(grantId);
    const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId });
    grant.addOIDCScope('openid email profile');
    await grant.save();
    return grant;
  },
});
const inner = provider.callback();

function body(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString()));
    req.on('error', reject);
  });
}

const escape = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

async function tamper(idToken) {
  const claims = jose.decodeJwt(idToken);
  const now = Math.floor(Date.now() / 1000);
  let key = signing.privateKey;
  let kid = 'k1';
  switch (mode) {
    case 'foreign_key': key = foreign.privateKey; break;
    case 'wrong_audience': claims.aud = 'someone-else'; break;
    case 'expired': claims.iat = now - 1200; claims.exp = now - 600; break;
    case 'nonce': claims.nonce = 'not-the-nonce-of-this-sign-in'; break;
    case 'rotated': key = second.privateKey; kid = 'k2'; break;
    default: return idToken;
  }
  return new jose.SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid, typ: 'JWT' }).sign(key);
}

// The token endpoint's answer, read whole and its ID token rewritten.
function rewriteToken(res) {
  const end = res.end.bind(res);
  const chunks = [];
  res.write = (chunk) => { chunks.push(Buffer.from(chunk)); return true; };
  res.end = (chunk) => {
    if (chunk && typeof chunk !== 'function') chunks.push(Buffer.from(chunk));
    (async () => {
      let text = Buffer.concat(chunks).toString();
      try {
        const json = JSON.parse(text);
        if (json.id_token) json.id_token = await tamper(json.id_token);
        text = JSON.stringify(json);
      } catch (e) { /* not JSON: passed on as it is */ }
      if (!res.headersSent) res.setHeader('content-length', Buffer.byteLength(text));
      end(text);
    })();
    return res;
  };
}

async function handle(req, res) {
  const url = new URL(req.url, issuer);
  if (url.pathname === '/__test/mode') {
    mode = url.searchParams.get('m') || 'none';
    secondPublished = false;
    res.writeHead(204).end();
    return;
  }
  if (url.pathname === '/broken/.well-known/openid-configuration') {
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"issuer": 42, "this is": "not a discovery document"}');
    return;
  }
  if (url.pathname === '/jwks' && mode === 'rotated' && secondPublished) {
    const keys = [await publicJwk(signing.publicKey, 'k1'), await publicJwk(second.publicKey, 'k2')];
    res.writeHead(200, { 'content-type': 'application/jwk-set+json' }).end(JSON.stringify({ keys }));
    return;
  }
  const interaction = url.pathname.match(/^\/interaction\/([^/]+)(\/login)?$/);
  if (interaction && req.method === 'GET' && !interaction[2]) {
    const details = await provider.interactionDetails(req, res);
    const hint = details.params.login_hint || '';
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(`<!doctype html>
<html><head><title>Test identity provider</title></head><body>
<h1 id="idp-title">Test identity provider: sign in</h1>
<form method="post" action="/interaction/${escape(details.uid)}/login">
<label for="login-email">Email</label> <input id="login-email" name="email" value="${escape(hint)}">
<button id="login-submit" type="submit">Sign in at the provider</button>
</form></body></html>`);
    return;
  }
  if (interaction && req.method === 'POST' && interaction[2]) {
    const form = new URLSearchParams(await body(req));
    const email = (form.get('email') || '').trim().toLowerCase();
    if (mode === 'rotated') secondPublished = true;
    await provider.interactionFinished(req, res, { login: { accountId: email } }, { mergeWithLastSubmission: false });
    return;
  }
  if (url.pathname === '/token' && mode !== 'none') rewriteToken(res);
  inner(req, res);
}

console.log(`READY ${port}`);
