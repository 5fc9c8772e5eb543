// The certified OpenID provider `oidc-provider` (panva), run by Kith's tests on 127.0.0.1.
//
// Environment:
//   PORT      port to listen on (the issuer is http://127.0.0.1:PORT)
//   CLIENTS   JSON array of clients: [{client_id, client_secret, redirect_uris: [...]}]
//   ACCOUNTS  JSON object: account id -> claims ({email, email_verified, name, preferred_username})
//   DEFAULT_ACCOUNT  (optional) the account used when a request has no login_hint
//
// There is no login form: an authorization request names its account with the standard
// `login_hint` parameter and the interaction completes at once (login, then consent for the
// requested scopes). Everything else — PKCE, state, nonce, codes, signed ID tokens, JWKS — is
// the provider's own.
import Provider from 'oidc-provider';

const port = Number(process.env.PORT);
const issuer = `http://127.0.0.1:${port}`;
const clients = JSON.parse(process.env.CLIENTS || '[]');
const accounts = JSON.parse(process.env.ACCOUNTS || '{}');

const provider = new Provider(issuer, {
  clients,
  pkce: { required: () => true },
  features: { devInteractions: { enabled: false } },
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name', 'preferred_username'],
    groups: ['groups'],
  },
  async findAccount(ctx, id) {
    if (!accounts[id]) return undefined;
    return { accountId: id, async claims() { return { sub: id, ...accounts[id] }; } };
  },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  ttl: { AuthorizationCode: 60, IdToken: 300, AccessToken: 300, Session: 600, Interaction: 600, Grant: 600 },
});
provider.proxy = false;

provider.use(async (ctx, next) => {
  if (!ctx.path.startsWith('/interaction/')) return next();
  const details = await provider.interactionDetails(ctx.req, ctx.res);
  const { prompt, params } = details;
  // a browser test has no way to add login_hint: DEFAULT_ACCOUNT stands in
  const accountId = params.login_hint || process.env.DEFAULT_ACCOUNT;
  if (!accounts[accountId]) {
    ctx.status = 400;
    ctx.body = `unknown login_hint ${accountId}`;
    return undefined;
  }
  let result;
  if (prompt.name === 'login') {
    result = { login: { accountId } };
  } else {
    const grant = details.grantId
      ? await provider.Grant.find(details.grantId)
      : new provider.Grant({ accountId, clientId: params.client_id });
    grant.addOIDCScope(params.scope);
    result = { consent: { grantId: await grant.save() } };
  }
  const to = await provider.interactionResult(ctx.req, ctx.res, result, { mergeWithLastSubmission: true });
  ctx.redirect(to);
  return undefined;
});

provider.listen(port, '127.0.0.1', () => {
  console.log(`oidc-provider listening on ${issuer}`);
});
