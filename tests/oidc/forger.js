// A misbehaving OpenID provider for Kith's tests (RELIABILITY O3, O4, O5): it runs the code
// flow like a real one — discovery, JWKS, an authorization endpoint that answers at once, a
// token endpoint — but the ID token it issues is forged the way the request's `login_hint`
// says: good, wrong-aud, other-aud-no-azp, expired, future-iat, bad-nonce, no-nonce,
// other-iss, alg-none, bad-sig, hs256-with-public-key, unknown-kid, rotated (a new key,
// published once it is used). Keys and signing come
// from `jose`, which oidc-provider itself uses.
//
// Environment: PORT, CLIENT_ID, REDIRECT_URI.
import http from 'node:http';
import crypto from 'node:crypto';
import * as jose from 'jose';

const port = Number(process.env.PORT);
const issuer = `http://127.0.0.1:${port}`;
const clientId = process.env.CLIENT_ID;
const redirectUri = process.env.REDIRECT_URI;

const { privateKey, publicKey } = await jose.generateKeyPair('RS256', { extractable: true });
const other = await jose.generateKeyPair('RS256', { extractable: true });
const next = await jose.generateKeyPair('RS256', { extractable: true });
const jwk = { ...(await jose.exportJWK(publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
const nextJwk = { ...(await jose.exportJWK(next.publicKey)), kid: 'k3', alg: 'RS256', use: 'sig' };
// `rotated` starts signing with k3 and publishes it from then on (a key rotation)
let rotated = false;
const codes = new Map();

const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');

async function idToken(mode, nonce) {
  const now = Math.floor(Date.now() / 1000);
  const claims = {
    iss: issuer, sub: `forged-${mode}`, aud: clientId, iat: now, exp: now + 300,
    nonce, email: `${mode}@forger.example`, email_verified: true, name: `Forged ${mode}`,
  };
  let key = privateKey;
  let header = { alg: 'RS256', kid: 'k1' };
  switch (mode) {
    case 'wrong-aud': claims.aud = 'another-client'; break;
    case 'other-aud-no-azp': claims.aud = [clientId, 'another-client']; break;
    case 'expired': claims.iat = now - 3600; claims.exp = now - 1800; break;
    case 'future-iat': claims.iat = now + 3600; claims.exp = now + 7200; break;
    case 'bad-nonce': claims.nonce = 'not-the-nonce'; break;
    case 'no-nonce': delete claims.nonce; break;
    case 'other-iss': claims.iss = 'http://evil.test'; break;
    case 'bad-sig': key = other.privateKey; break;
    case 'unknown-kid': key = other.privateKey; header = { alg: 'RS256', kid: 'k2' }; break;
    case 'rotated': rotated = true; key = next.privateKey; header = { alg: 'RS256', kid: 'k3' }; break;
    case 'alg-none':
      return `${b64({ alg: 'none' })}.${b64(claims)}.`;
    case 'hs256-with-public-key': {
      const pem = await jose.exportSPKI(publicKey);
      const input = `${b64({ alg: 'HS256', kid: 'k1' })}.${b64(claims)}`;
      const sig = crypto.createHmac('sha256', pem).update(input).digest('base64url');
      return `${input}.${sig}`;
    }
    default: break;
  }
  return new jose.SignJWT(claims).setProtectedHeader(header).sign(key);
}

function json(res, status, body) {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
  res.end(JSON.stringify(body));
}

const server = http.createServer(async (req, res) => {
  const url = new URL(req.url, issuer);
  if (url.pathname === '/.well-known/openid-configuration') {
    return json(res, 200, {
      issuer,
      authorization_endpoint: `${issuer}/auth`,
      token_endpoint: `${issuer}/token`,
      jwks_uri: `${issuer}/jwks`,
      response_types_supported: ['code'],
      subject_types_supported: ['public'],
      id_token_signing_alg_values_supported: ['RS256'],
      code_challenge_methods_supported: ['S256'],
      token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
    });
  }
  if (url.pathname === '/jwks') return json(res, 200, { keys: rotated ? [jwk, nextJwk] : [jwk] });
  if (url.pathname === '/auth') {
    const p = url.searchParams;
    if (p.get('client_id') !== clientId || p.get('redirect_uri') !== redirectUri || p.get('code_challenge_method') !== 'S256') {
      return json(res, 400, { error: 'invalid_request' });
    }
    const code = crypto.randomBytes(16).toString('hex');
    codes.set(code, { mode: p.get('login_hint') || 'good', nonce: p.get('nonce') });
    const back = new URL(redirectUri);
    back.searchParams.set('code', code);
    back.searchParams.set('state', p.get('state'));
    res.writeHead(302, { location: back.toString() });
    return res.end();
  }
  if (url.pathname === '/token' && req.method === 'POST') {
    let body = '';
    for await (const chunk of req) body += chunk;
    const form = new URLSearchParams(body);
    const entry = codes.get(form.get('code'));
    codes.delete(form.get('code'));
    if (!entry || !form.get('code_verifier')) return json(res, 400, { error: 'invalid_grant' });
    return json(res, 200, {
      access_token: crypto.randomBytes(16).toString('hex'),
      token_type: 'Bearer',
      expires_in: 300,
      id_token: await idToken(entry.mode, entry.nonce),
    });
  }
  return json(res, 404, { error: 'not_found' });
});

server.listen(port, '127.0.0.1', () => console.log(`forger listening on ${issuer}`));
