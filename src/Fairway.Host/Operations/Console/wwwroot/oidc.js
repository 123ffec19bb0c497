import { session } from './api.js';

// Sign-in through the deployment's OIDC authority (AUTH_OIDC_AUTHORITY, client ADMIN_CONSOLE_OIDC_CLIENT_ID):
// authorization code with PKCE, as a public client (no secret in the browser). The access token it returns is
// the same kind of JWT the API validates for the CLI: issuer, audience and role admin are checked by the API.

const PENDING_KEY = 'fairway.console.oidc';

function base64Url(bytes) {
  return btoa(String.fromCharCode(...new Uint8Array(bytes))).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function random() { return base64Url(crypto.getRandomValues(new Uint8Array(32))); }

async function discover(authority) {
  const r = await fetch(`${authority}/.well-known/openid-configuration`, { cache: 'no-store' });
  if (!r.ok) throw new Error(`discovery document: HTTP ${r.status}`);
  return r.json();
}

function redirectUri() { return `${location.origin}/admin/`; }

export async function startOidcSignIn(oidc) {
  const meta = await discover(oidc.authority);
  const verifier = random();
  const state = random();
  const challenge = base64Url(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier)));
  sessionStorage.setItem(PENDING_KEY, JSON.stringify({ verifier, state }));
  const url = new URL(meta.authorization_endpoint);
  url.search = new URLSearchParams({
    response_type: 'code', client_id: oidc.client_id, redirect_uri: redirectUri(), scope: oidc.scope,
    state, code_challenge: challenge, code_challenge_method: 'S256',
  }).toString();
  location.assign(url.toString());
}

/** On the way back from the authority (?code=…&state=…): exchanges the code for an access token. Returns { error } on failure. */
export async function completeOidcSignIn(oidc) {
  const query = new URLSearchParams(location.search);
  if (!query.has('code') && !query.has('error')) return {};
  const pending = JSON.parse(sessionStorage.getItem(PENDING_KEY) || 'null');
  sessionStorage.removeItem(PENDING_KEY);
  history.replaceState(null, '', '/admin/' + location.hash);
  if (query.has('error')) return { error: `The sign-in was refused: ${query.get('error')} ${query.get('error_description') || ''}`.trim() };
  if (!pending || pending.state !== query.get('state')) return { error: 'The sign-in answer does not match the request (state); try again.' };
  try {
    const meta = await discover(oidc.authority);
    const r = await fetch(meta.token_endpoint, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'authorization_code', code: query.get('code'), redirect_uri: redirectUri(), client_id: oidc.client_id, code_verifier: pending.verifier }),
    });
    const body = await r.json();
    if (!r.ok || !body.access_token) return { error: `The authority did not issue a token: ${body.error || r.status}` };
    session.token = body.access_token;
    return {};
  } catch (e) {
    return { error: `Sign-in failed: ${e.message}` };
  }
}
