/**
 * The example relying party: an Express 5 app that signs people in with Trustgate (authorization code
 * + PKCE + state + nonce, openid-client v6), shows what the ID token says and its own verdict on the
 * assurance credential, asks for a fresh hardware-bound sign-in (`acr_values=phrh`, `max_age=300`)
 * before a sensitive action, and signs out through RP-initiated logout.
 *
 * Routes, in the order a person meets them:
 *
 *   GET  /                 sign-in button (or a link to the profile); the return from logout
 *   POST /login            → Trustgate's authorization endpoint (scope `openid did profile assurance`)
 *   GET  /callback         code exchange; then the profile, or the sensitive action's verdict
 *   GET  /profile          sub, did, acr, amr, auth_time, the credential check, the sensitive action
 *   POST /sensitive-action → Trustgate again with `acr_values=phrh` and `max_age=300`
 *   POST /logout           → Trustgate's end_session with `id_token_hint` and `post_logout_redirect_uri`
 *
 * The pages carry no script: the CSP is `default-src 'none'` plus this origin's stylesheet, and forms
 * may go to this origin and to Trustgate (Chromium applies `form-action` to a form's redirects too).
 */
import { fileURLToPath } from 'node:url';
import express, { type ErrorRequestHandler, type Express, type Request, type Response } from 'express';
import * as oidc from 'openid-client';
import { AssuranceVerifier, type ChainFacts } from './assurance-credential.ts';
import { type ExistingClient, resolveClient } from './client-registration.ts';
import { errorPage, homePage, profilePage } from './pages.ts';
import { type Purpose, type RpSession, SessionStore, type SignedInUser } from './sessions.ts';

/** The scopes the app asks for: `assurance` adds the IdentityAssuranceCredential to the ID token. */
export const SCOPE = 'openid did profile assurance';
/** What the sensitive action needs: phishing-resistant and hardware-bound (OpenID EAP). */
export const SENSITIVE_ACR = 'phrh';
/** ... proved this recently (seconds). */
export const SENSITIVE_MAX_AGE = 300;

export interface RpOptions {
  /** Trustgate's PUBLIC_URL, e.g. `http://localhost:3000`. */
  trustgateUrl: string;
  /** Trustgate tenant; the issuer is `{trustgateUrl}/t/{tenant}`. */
  tenant: string;
  /** This app's own public URL: its callback is `{baseUrl}/callback`, its logout return `{baseUrl}/`. */
  baseUrl: string;
  /** A client made by an admin; when absent, `initialAccessToken` registers one. */
  client?: ExistingClient;
  /** Initial access token for dynamic registration. */
  initialAccessToken?: string;
  /** Shown on the pages and registered as `client_name`. */
  appName?: string;
  /** Issuer DIDs whose credentials the app accepts (default: any issuer on Trustgate's chain). */
  trustedIssuers?: string[];
  /** Chain facts given by hand (default: fetched from `{trustgateUrl}/api/chain`). */
  chain?: ChainFacts;
  /** Session cookie name (default depends on the port: apps on one host share cookies). */
  cookieName?: string;
  /** Where unexpected errors are reported (default: stderr). */
  onError?: (err: unknown) => void;
}

export interface RpApp {
  app: Express;
  issuer: string;
  clientId: string;
  redirectUri: string;
  postLogoutRedirectUri: string;
  /** Set when this start registered a new client (dynamic registration). */
  registered?: { clientId: string; clientSecret?: string };
}

/** Builds the app (discovery, and registration when needed, happen here); the caller listens. */
export async function createRpApp(options: RpOptions): Promise<RpApp> {
  const base = new URL(options.baseUrl);
  const trustgate = new URL(options.trustgateUrl);
  const appName = options.appName ?? 'Example app';
  const issuer = new URL(`/t/${encodeURIComponent(options.tenant)}`, trustgate).href;
  const redirectUri = new URL('/callback', base).href;
  const postLogoutRedirectUri = new URL('/', base).href;

  const resolved = await resolveClient({
    issuer,
    ...(options.client ? { client: options.client } : {}),
    ...(options.initialAccessToken ? { initialAccessToken: options.initialAccessToken } : {}),
    registration: { clientName: appName, redirectUri, postLogoutRedirectUri },
  });
  const { config, clientId } = resolved;
  const verifier = new AssuranceVerifier({
    trustgateUrl: trustgate.origin,
    audience: clientId,
    ...(options.trustedIssuers ? { trustedIssuers: options.trustedIssuers } : {}),
    ...(options.chain ? { chain: options.chain } : {}),
  });
  const sessions = new SessionStore({
    cookieName: options.cookieName ?? `example_rp_${base.port || (base.protocol === 'https:' ? 443 : 80)}`,
    secure: base.protocol === 'https:',
  });
  const onError = options.onError ?? ((err: unknown) => console.error('example app:', err));

  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', false);
  app.use((_req, res, next) => {
    res.setHeader(
      'Content-Security-Policy',
      [
        "default-src 'none'",
        "style-src 'self'",
        "img-src 'self'",
        `form-action 'self' ${trustgate.origin}`,
        "base-uri 'none'",
        "frame-ancestors 'none'",
      ].join('; '),
    );
    res.setHeader('X-Content-Type-Options', 'nosniff');
    // The callback URL carries the authorization code: it must not leak through Referer.
    res.setHeader('Referrer-Policy', 'no-referrer');
    res.setHeader('Cache-Control', 'no-store');
    next();
  });
  app.use(express.static(fileURLToPath(new URL('./public', import.meta.url)), { index: false }));
  const forms = express.urlencoded({ extended: false, limit: '4kb' });

  /** Sends `page` (built from the session) and forgets the one-time message it showed. */
  const send = (res: Response, session: RpSession, page: string, status = 200) => {
    session.flash = undefined;
    res.status(status).type('html').send(page);
  };

  /** The session of a form post, if its anti-forgery token is right (else a 403 page was sent). */
  const formSession = (req: Request, res: Response): RpSession | null => {
    const session = sessions.get(req, res);
    if (sessions.checkCsrf(session, (req.body as Record<string, unknown> | undefined)?.csrf)) return session;
    send(
      res,
      session,
      errorPage(session, appName, 'Expired form', 'This form expired. Please try again.'),
      403,
    );
    return null;
  };

  /** Sends the browser to Trustgate's authorization endpoint for `purpose`. */
  const authorize = async (res: Response, session: RpSession, purpose: Purpose) => {
    const codeVerifier = oidc.randomPKCECodeVerifier();
    const nonce = oidc.randomNonce();
    const stepUp = purpose === 'sensitive-action';
    const state = sessions.addPending(session, {
      purpose,
      codeVerifier,
      nonce,
      ...(stepUp ? { maxAge: SENSITIVE_MAX_AGE } : {}),
      createdAtMs: Date.now(),
    });
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: redirectUri,
      scope: SCOPE,
      code_challenge: await oidc.calculatePKCECodeChallenge(codeVerifier),
      code_challenge_method: 'S256',
      state,
      nonce,
      ...(stepUp ? { acr_values: SENSITIVE_ACR, max_age: String(SENSITIVE_MAX_AGE) } : {}),
    });
    res.redirect(303, url.href);
  };

  app.get('/', (req, res) => {
    const session = sessions.get(req, res);
    if (session.logoutState !== undefined && req.query.state === session.logoutState) {
      session.logoutState = undefined;
      session.flash = { kind: 'info', text: 'You are signed out.' };
    }
    send(res, session, homePage(session, appName));
  });

  app.post('/login', forms, async (req, res) => {
    const session = formSession(req, res);
    if (session) await authorize(res, session, 'sign-in');
  });

  app.post('/sensitive-action', forms, async (req, res) => {
    const session = formSession(req, res);
    if (!session) return;
    if (!session.user) {
      res.redirect(303, '/');
      return;
    }
    await authorize(res, session, 'sensitive-action');
  });

  app.get('/callback', async (req, res) => {
    let session = sessions.get(req, res);
    const taken = sessions.takePending(session, req.query.state);
    if (!taken) {
      send(
        res,
        session,
        errorPage(
          session,
          appName,
          'Sign-in not recognised',
          'This answer from Trustgate does not match a request made from this browser (or it was already used). Please start again.',
        ),
        400,
      );
      return;
    }
    const { state, pending } = taken;
    const back = pending.purpose === 'sensitive-action' && session.user ? '/profile' : '/';
    let tokens: Awaited<ReturnType<typeof oidc.authorizationCodeGrant>>;
    try {
      tokens = await oidc.authorizationCodeGrant(config, new URL(req.originalUrl, base), {
        pkceCodeVerifier: pending.codeVerifier,
        expectedState: state,
        expectedNonce: pending.nonce,
        idTokenExpected: true,
        ...(pending.maxAge !== undefined ? { maxAge: pending.maxAge } : {}),
      });
    } catch (err) {
      session.flash = { kind: 'error', text: describeFailure(err, pending.purpose) };
      if (!(err instanceof oidc.AuthorizationResponseError)) onError(err);
      res.redirect(303, back);
      return;
    }
    const claims = tokens.claims();
    if (!claims || !tokens.id_token) {
      session.flash = { kind: 'error', text: 'Trustgate sent no ID token.' };
      res.redirect(303, back);
      return;
    }
    const did = typeof claims.did === 'string' ? claims.did : undefined;
    const user: SignedInUser = {
      sub: claims.sub,
      ...(did ? { did } : {}),
      ...(typeof claims.name === 'string' ? { name: claims.name } : {}),
      ...(typeof claims.preferred_username === 'string' ? { username: claims.preferred_username } : {}),
      ...(typeof claims.acr === 'string' ? { acr: claims.acr } : {}),
      amr: Array.isArray(claims.amr) ? claims.amr.filter((v): v is string => typeof v === 'string') : [],
      ...(typeof claims.auth_time === 'number' ? { authTime: claims.auth_time } : {}),
      idToken: tokens.id_token,
      credential: await verifier.check(claims.assurance_credential, did),
    };

    if (pending.purpose === 'sign-in') {
      session = sessions.rotate(session, res);
      session.user = user;
      session.sensitiveActionAt = undefined;
      res.redirect(303, '/profile');
      return;
    }

    // The sensitive action: only for the person signed in here, and only with what it asked for. The
    // app checks the ID token itself: a provider that ignored acr_values must not get the action done.
    if (!session.user || session.user.sub !== user.sub) {
      session.flash = {
        kind: 'error',
        text: 'You confirmed as a different person: the sensitive action was not done.',
      };
      res.redirect(303, '/');
      return;
    }
    const ageS = user.authTime === undefined ? Infinity : Date.now() / 1000 - user.authTime;
    if (user.acr !== SENSITIVE_ACR || ageS > SENSITIVE_MAX_AGE + 30) {
      session.flash = {
        kind: 'error',
        text: `The sign-in reached acr “${user.acr ?? 'none'}”, not “${SENSITIVE_ACR}” within ${
          SENSITIVE_MAX_AGE / 60
        } minutes: the sensitive action was not done.`,
      };
      res.redirect(303, '/profile');
      return;
    }
    session.user = user;
    session.sensitiveActionAt = Date.now();
    session.flash = {
      kind: 'info',
      text: 'Sensitive action done: you confirmed with a phishing-resistant, hardware-bound authenticator.',
    };
    res.redirect(303, '/profile');
  });

  app.get('/profile', (req, res) => {
    const session = sessions.get(req, res);
    if (!session.user) {
      res.redirect(303, '/');
      return;
    }
    send(res, session, profilePage(session, session.user, appName));
  });

  app.post('/logout', forms, (req, res) => {
    const session = formSession(req, res);
    if (!session) return;
    const user = session.user;
    session.user = undefined;
    session.sensitiveActionAt = undefined;
    session.pending.clear();
    if (!user) {
      res.redirect(303, '/');
      return;
    }
    // The app forgets the person first; Trustgate then asks whether to end its own session too.
    const state = oidc.randomState();
    session.logoutState = state;
    const url = oidc.buildEndSessionUrl(config, {
      id_token_hint: user.idToken,
      post_logout_redirect_uri: postLogoutRedirectUri,
      state,
    });
    res.redirect(303, url.href);
  });

  app.use((req, res) => {
    const session = sessions.get(req, res);
    send(res, session, errorPage(session, appName, 'Not found', 'There is no such page.'), 404);
  });
  const onUnexpected: ErrorRequestHandler = (err, req, res, _next) => {
    onError(err);
    if (res.headersSent) return;
    const session = sessions.get(req, res);
    const status =
      typeof err?.status === 'number' && err.status >= 400 && err.status < 500 ? err.status : 500;
    send(res, session, errorPage(session, appName, 'Something went wrong', 'Please try again.'), status);
  };
  app.use(onUnexpected);

  return {
    app,
    issuer,
    clientId,
    redirectUri,
    postLogoutRedirectUri,
    ...(resolved.registered ? { registered: resolved.registered } : {}),
  };
}

/** The message for an authorization that did not end in tokens. */
function describeFailure(err: unknown, purpose: Purpose): string {
  if (err instanceof oidc.AuthorizationResponseError) {
    switch (err.error) {
      case 'unmet_authentication_requirements':
        return purpose === 'sensitive-action'
          ? 'Trustgate could not confirm a phishing-resistant, hardware-bound sign-in (acr phrh), so the sensitive action was not done. Use a security key or a device-bound passkey with a trusted attestation and try again.'
          : 'Trustgate could not reach the sign-in level this app asked for.';
      case 'access_denied':
        return 'You did not allow this app to sign you in with Trustgate.';
      case 'login_required':
      case 'interaction_required':
        return 'Trustgate needs you to sign in again.';
      default:
        return `Trustgate refused the request (${err.error}).`;
    }
  }
  return purpose === 'sensitive-action'
    ? 'The confirmation could not be completed: the sensitive action was not done.'
    : 'The sign-in could not be completed. Please try again.';
}
