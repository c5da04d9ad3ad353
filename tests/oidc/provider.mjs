// A real OpenID Provider (panva's oidc-provider) for Vigie's single sign-on tests. Never shipped, never used
// outside tests: it logs in whoever types a login (no password), like a provider whose own checks passed.
//
// Settings come as JSON in the VIGIE_TEST_OIDC environment variable:
//   {"issuer": "http://127.0.0.1:PORT", "port": PORT, "jwks": {"keys": [private JWK...]},
//    "clients": [{"client_id", "client_secret", "redirect_uris": [...], "token_endpoint_auth_method"?}]}
// It prints "ready" on stdout once it listens.
//
// Interactions (our own minimal pages, so the test can say which factors were "used"):
//   GET  /interaction/:uid          the login form (login, "mfa" checkbox) or the consent form
//   POST /interaction/:uid/login    login=NAME [&mfa=1]: amr ["pwd"] or ["pwd", "mfa"]
//   POST /interaction/:uid/confirm  grants what the client asked (openid scopes and claims)
//   POST /interaction/:uid/abort    the person refuses: the client gets error=access_denied
import http from 'node:http';
import Provider from 'oidc-provider';

const settings = JSON.parse(process.env.VIGIE_TEST_OIDC);

const provider = new Provider(settings.issuer, {
  clients: settings.clients.map((client) => ({
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
    ...client,
  })),
  jwks: settings.jwks,
  pkce: { required: () => true },
  features: { devInteractions: { enabled: false } },
  claims: {
    // amr (the methods the login used: Vigie reads a second factor from it) in every ID token, as most
    // providers do, rather than only when the client asks with the `claims` parameter
    openid: ['sub', 'amr', 'acr', 'auth_time'],
    profile: ['preferred_username', 'name'],
    email: ['email', 'email_verified'],
  },
  async findAccount(_ctx, id) {
    return {
      accountId: id,
      async claims() {
        return { sub: id, preferred_username: id, name: `Test ${id}`, email: `${id}@example.test`, email_verified: true };
      },
    };
  },
  interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
  cookies: { keys: ['vigie-test-provider-only'] },
});

function page(res, html) {
  res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
  res.end(`<!doctype html><html><body>${html}</body></html>`);
}

async function form(req) {
  let body = '';
  for await (const chunk of req) body += chunk;
  return new URLSearchParams(body);
}

async function interaction(req, res, uid, action) {
  const details = await provider.interactionDetails(req, res);
  if (details.uid !== uid) throw new Error('interaction mismatch');
  const prompt = details.prompt.name;
  if (req.method === 'GET') {
    if (prompt === 'login') {
      return page(res, `<form method="post" action="/interaction/${uid}/login">
        <input name="login"> <label><input type="checkbox" name="mfa" value="1"> second factor</label>
        <button>Log in</button></form>
        <form method="post" action="/interaction/${uid}/abort"><button>Cancel</button></form>`);
    }
    return page(res, `<form method="post" action="/interaction/${uid}/confirm"><button>Allow</button></form>
      <form method="post" action="/interaction/${uid}/abort"><button>Deny</button></form>`);
  }
  const data = await form(req);
  if (action === 'abort') {
    return provider.interactionFinished(req, res, { error: 'access_denied', error_description: 'refused' });
  }
  if (action === 'login' && prompt === 'login') {
    const login = (data.get('login') || '').trim();
    if (!login) throw new Error('empty login');
    const amr = data.get('mfa') === '1' ? ['pwd', 'mfa'] : ['pwd'];
    return provider.interactionFinished(req, res, { login: { accountId: login, amr } }, { mergeWithLastSubmission: false });
  }
  if (action === 'confirm' && prompt === 'consent') {
    const { missingOIDCScope, missingOIDCClaims, missingResourceScopes } = details.prompt.details;
    const grant = details.grantId
      ? await provider.Grant.find(details.grantId)
      : new provider.Grant({ accountId: details.session.accountId, clientId: details.params.client_id });
    if (missingOIDCScope) grant.addOIDCScope(missingOIDCScope.join(' '));
    if (missingOIDCClaims) grant.addOIDCClaims(missingOIDCClaims);
    for (const [indicator, scopes] of Object.entries(missingResourceScopes || {})) {
      grant.addResourceScope(indicator, scopes.join(' '));
    }
    const grantId = await grant.save();
    return provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
  }
  throw new Error(`unexpected ${action} at prompt ${prompt}`);
}

const callback = provider.callback();
const server = http.createServer((req, res) => {
  const match = /^\/interaction\/([\w-]+)(?:\/(login|confirm|abort))?$/.exec(req.url.split('?')[0]);
  if (!match) return callback(req, res);
  const [, uid, action] = match;
  return interaction(req, res, uid, action).catch((err) => {
    res.writeHead(400, { 'content-type': 'text/plain' });
    res.end(`interaction failed: ${err.message}`);
  });
});
server.listen(settings.port, '127.0.0.1', () => console.log('ready'));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
