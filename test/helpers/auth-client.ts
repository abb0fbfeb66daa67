/**
 * A browser stand-in for the sign-in API: a cookie jar, the site's `Origin` on every request, and a
 * software authenticator. Used by HTTP tests and the sign-in benchmark.
 */
import type {
  AuthenticationResponseJSON,
  PublicKeyCredentialCreationOptionsJSON,
  PublicKeyCredentialRequestOptionsJSON,
  RegistrationResponseJSON,
} from '@simplewebauthn/server';
import { type CeremonyContext, SoftAuthenticator } from './webauthn/soft-authenticator.ts';

export interface Answer<T = Record<string, unknown>> {
  status: number;
  headers: Headers;
  body: T;
}

export class AuthClient {
  readonly cookies = new Map<string, string>();
  readonly origin: string;

  constructor(
    readonly base: string,
    readonly authenticator: SoftAuthenticator = new SoftAuthenticator(),
    readonly tenant = 'default',
    /** The site's origin, when the service's PUBLIC_URL differs from the address it is reached at. */
    origin?: string,
  ) {
    this.origin = origin ?? new URL(base).origin;
  }

  /** A JSON request with the jar's cookies and this site's Origin. */
  async call<T = Record<string, unknown>>(
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<Answer<T>> {
    const res = await fetch(`${this.base}${path}`, {
      method,
      headers: {
        origin: this.origin,
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...(this.cookies.size > 0 ? { cookie: this.cookieHeader() } : {}),
        ...headers,
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    for (const line of res.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const eq = pair!.indexOf('=');
      const name = pair!.slice(0, eq);
      const value = pair!.slice(eq + 1);
      if (value === '' || /Max-Age=0/.test(line)) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    const text = await res.text();
    return { status: res.status, headers: res.headers, body: (text ? JSON.parse(text) : {}) as T };
  }

  cookieHeader(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  /** `/t/{tenant}` + path. */
  t(path: string): string {
    return `/t/${this.tenant}${path}`;
  }

  async registrationOptions(username: string, displayName?: string) {
    const r = await this.call<{ options: PublicKeyCredentialCreationOptionsJSON }>(
      'POST',
      this.t('/auth/sign-up/options'),
      { username, ...(displayName ? { displayName } : {}) },
    );
    return r;
  }

  register(
    options: PublicKeyCredentialCreationOptionsJSON,
    context: Partial<CeremonyContext> = {},
  ): RegistrationResponseJSON {
    return this.authenticator.createCredential(options, { origin: this.origin, ...context });
  }

  assert(
    options: PublicKeyCredentialRequestOptionsJSON,
    context: Partial<CeremonyContext> = {},
  ): AuthenticationResponseJSON {
    return this.authenticator.getAssertion(options, { origin: this.origin, ...context });
  }

  /** Sign up with a new passkey; returns the final answer. */
  async signUp(username: string, context: Partial<CeremonyContext> = {}): Promise<Answer> {
    const options = await this.registrationOptions(username);
    if (options.status !== 200) return options as unknown as Answer;
    return this.call('POST', this.t('/auth/sign-up/verify'), {
      response: this.register(options.body.options, context),
    });
  }

  async signInOptions() {
    return this.call<{ options: PublicKeyCredentialRequestOptionsJSON }>(
      'POST',
      this.t('/auth/passkey/options'),
      {},
    );
  }

  /** Sign in with a passkey; `context` overrides the client data for attack tests. */
  async signIn(context: Partial<CeremonyContext> = {}): Promise<Answer> {
    const options = await this.signInOptions();
    if (options.status !== 200) return options as unknown as Answer;
    return this.call('POST', this.t('/auth/passkey/verify'), {
      response: this.assert(options.body.options, context),
    });
  }

  async stepUpWithPasskey(context: Partial<CeremonyContext> = {}): Promise<Answer> {
    const options = await this.call<{ options: PublicKeyCredentialRequestOptionsJSON }>(
      'POST',
      this.t('/auth/step-up/passkey/options'),
      {},
    );
    if (options.status !== 200) return options as unknown as Answer;
    return this.call('POST', this.t('/auth/step-up/passkey/verify'), {
      response: this.assert(options.body.options, context),
    });
  }

  /** Adds a passkey, created by `authenticator` (another device) or this client's own. */
  async addPasskey(
    name?: string,
    context: Partial<CeremonyContext> = {},
    authenticator: SoftAuthenticator = this.authenticator,
  ): Promise<Answer> {
    const options = await this.call<{ options: PublicKeyCredentialCreationOptionsJSON }>(
      'POST',
      this.t('/api/me/passkeys/options'),
      {},
    );
    if (options.status !== 200) return options as unknown as Answer;
    return this.call('POST', this.t('/api/me/passkeys'), {
      response: authenticator.createCredential(options.body.options, { origin: this.origin, ...context }),
      ...(name ? { name } : {}),
    });
  }

  session() {
    return this.call<{ account: Record<string, unknown>; session: Record<string, unknown> }>(
      'GET',
      this.t('/auth/session'),
    );
  }

  /** A second browser with no cookies sharing this one's authenticator (its passkeys). */
  fork(): AuthClient {
    return new AuthClient(this.base, this.authenticator, this.tenant, this.origin);
  }
}
