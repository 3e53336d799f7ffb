// A real OpenID Provider for campusnet's single sign-on tests: the npm
// package oidc-provider (a certified OpenID Connect implementation) with one
// confidential client. internal/ssotest starts it; the environment says
// where and for whom:
//
//   PORT          the port on 127.0.0.1 (the issuer is http://127.0.0.1:PORT)
//   CLIENT_ID, CLIENT_SECRET
//   REDIRECT_URIS, POST_LOGOUT_REDIRECT_URIS   comma-separated
//   USERS         JSON {"login": {"name": "…", "role": "…"}}
//
// The login page is oidc-provider's development interaction (any password,
// a known login); consent is granted at once. The claims are sub,
// preferred_username and name (scope profile) and role (scope campus): with
// the code flow they reach the client through UserInfo, not the ID token.
//
// POST /test/wrong-audience makes the next token response carry an ID token
// whose aud is another client, signed with the provider's own key: a token
// meant for someone else, which the client must refuse.
import Provider from 'oidc-provider';
import { generateKeyPair, exportJWK, SignJWT, decodeJwt } from 'jose';

const port = Number(process.env.PORT);
const issuer = `http://127.0.0.1:${port}`;
const users = JSON.parse(process.env.USERS || '{}');
const list = (s) => (s || '').split(',').filter(Boolean);

const { privateKey } = await generateKeyPair('RS256', { extractable: true });
const jwk = { ...(await exportJWK(privateKey)), kid: 'test-1', alg: 'RS256', use: 'sig' };

const provider = new Provider(issuer, {
  clients: [{
    client_id: process.env.CLIENT_ID,
    client_secret: process.env.CLIENT_SECRET,
    redirect_uris: list(process.env.REDIRECT_URIS),
    post_logout_redirect_uris: list(process.env.POST_LOGOUT_REDIRECT_URIS),
    response_types: ['code'],
    grant_types: ['authorization_code'],
    token_endpoint_auth_method: 'client_secret_basic',
  }],
  jwks: { keys: [jwk] },
  cookies: { keys: ['campusnet-test-cookie-key'] },
  scopes: ['openid', 'profile', 'campus'],
  claims: { openid: ['sub'], profile: ['name', 'preferred_username'], campus: ['role'] },
  features: { devInteractions: { enabled: true }, rpInitiatedLogout: { enabled: true } },
  pkce: { required: () => true },
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

let wrongAudience = false;
provider.use(async (ctx, next) => {
  if (ctx.method === 'POST' && ctx.path === '/test/wrong-audience') {
    wrongAudience = true;
    ctx.status = 204;
    return;
  }
  await next();
  if (ctx.path === '/token' && wrongAudience && ctx.body && ctx.body.id_token) {
    wrongAudience = false;
    const claims = decodeJwt(ctx.body.id_token);
    claims.aud = 'another-client';
    ctx.body.id_token = await new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: 'test-1' }).sign(privateKey);
  }
});

provider.listen(port, '127.0.0.1', () => {
  console.log(`ready ${issuer}`);
});
