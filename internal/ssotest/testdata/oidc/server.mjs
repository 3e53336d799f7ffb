// A real OpenID Provider for campusnet's single sign-on tests: the npm
// package oidc-provider (a certified OpenID Connect implementation) with one
// or more clients. internal/ssotest starts it; the environment says where
// and for whom:
//
//   PORT          the port on 127.0.0.1 (the issuer is http://127.0.0.1:PORT)
//   CLIENTS       JSON [{"client_id", "client_secret", "redirect_uris",
//                 "post_logout_redirect_uris", "token_endpoint_auth_method"
//                 (default client_secret_basic; "none" is a public client,
//                 without a secret), "pkce_optional" (default false: the
//                 client must use PKCE)}]
//   USERS         JSON {"login": {"name": "…", "role": "…"}}
//
// The login page is oidc-provider's development interaction (any password,
// a known login); consent is granted at once. The claims are sub,
// preferred_username and name (scope profile) and role (scope campus): with
// the code flow they reach the client through UserInfo, not the ID token.
//
// POST /test/wrong-audience makes the next token response carry an ID token
// whose aud is another client, signed with the provider's own key: a token
// meant for someone else, which the client must refuse. POST
// /test/wrong-nonce does the same with a nonce the client never sent (and
// the right aud): a token from another login, replayed into this one.
import Provider from 'oidc-provider';
import { generateKeyPair, exportJWK, SignJWT, decodeJwt } from 'jose';

const port = Number(process.env.PORT);
const issuer = `http://127.0.0.1:${port}`;
const users = JSON.parse(process.env.USERS || '{}');

const { privateKey } = await generateKeyPair('RS256', { extractable: true });
const jwk = { ...(await exportJWK(privateKey)), kid: 'test-1', alg: 'RS256', use: 'sig' };

const configured = JSON.parse(process.env.CLIENTS || '[]');
const pkceOptional = new Set(configured.filter((c) => c.pkce_optional).map((c) => c.client_id));
const clients = configured.map((c) => {
  const auth = c.token_endpoint_auth_method || 'client_secret_basic';
  const out = {
    client_id: c.client_id,
    redirect_uris: c.redirect_uris || [],
    post_logout_redirect_uris: c.post_logout_redirect_uris || [],
    response_types: ['code'],
    grant_types: ['authorization_code'],
    token_endpoint_auth_method: auth,
  };
  if (auth !== 'none') out.client_secret = c.client_secret;
  return out;
});

const provider = new Provider(issuer, {
  clients,
  jwks: { keys: [jwk] },
  cookies: { keys: ['campusnet-test-cookie-key'] },
  scopes: ['openid', 'profile', 'campus'],
  claims: { openid: ['sub'], profile: ['name', 'preferred_username'], campus: ['role'] },
  features: { devInteractions: { enabled: true }, rpInitiatedLogout: { enabled: true } },
  pkce: { required: (ctx, client) => !pkceOptional.has(client.clientId) },
  async findAccount(ctx, id) {
    const u = users[id];
    if (!u) return undefined;
    return {
      accountId: id,
      async claims() {
        return { sub: `sub-${id}`, preferred_username: id, name: u.name || id, role: u.role };
      },
    };
  },
  async loadExistingGrant(ctx) {
    const grantId = ctx.oidc.result?.consent?.grantId || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    if (grantId) return ctx.oidc.provider.Grant.find(grantId);
    const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId });
    grant.addOIDCScope('openid profile campus');
    await grant.save();
    return grant;
  },
});

// The next token response's ID token is changed by this, when set.
let tamper = null;
const tampers = {
  '/test/wrong-audience': (claims) => { claims.aud = 'another-client'; },
  '/test/wrong-nonce': (claims) => { claims.nonce = 'a-nonce-of-another-login'; },
};
provider.use(async (ctx, next) => {
  if (ctx.method === 'POST' && tampers[ctx.path]) {
    tamper = tampers[ctx.path];
    ctx.status = 204;
    return;
  }
  await next();
  if (ctx.path === '/token' && tamper && ctx.body && ctx.body.id_token) {
    const change = tamper;
    tamper = null;
    const claims = decodeJwt(ctx.body.id_token);
    change(claims);
    ctx.body.id_token = await new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: 'test-1' }).sign(privateKey);
  }
});

provider.listen(port, '127.0.0.1', () => {
  console.log(`ready ${issuer}`);
});
