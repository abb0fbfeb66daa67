/**
 * Devices for tests: browsers that send a device fingerprint with every sign-in (so the risk engine
 * records the device and sessions and passkeys link to it), and a Shared Signals push receiver.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type {
  PublicKeyCredentialCreationOptionsJSON,
  PublicKeyCredentialRequestOptionsJSON,
} from '@simplewebauthn/server';
import { AuthClient } from './auth-client.ts';
import type { SoftAuthenticator } from './webauthn/soft-authenticator.ts';

/** A plausible fingerprint payload (what web/assets/risk-capture.js sends), distinct per `seed`. */
export function devicePayload(seed: string) {
  const components: Record<string, string> = {};
  for (const name of [
    'audio',
    'canvas',
    'fonts',
    'hardware.cores',
    'math',
    'plugins',
    'webgl',
    'system.platform',
    'screen.depth',
    'locales.languages',
  ]) {
    components[name] = Buffer.from(`${seed}:${name}`).toString('hex').slice(0, 16);
  }
  return {
    thumbmark: Buffer.from(`thumb:${seed}`).toString('hex').padEnd(32, '0').slice(0, 32),
    components,
  };
}

const USER_AGENT =
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';

/** A browser on device `seed`: every sign-up, sign-in and step-up carries its fingerprint. */
export class DeviceBrowser extends AuthClient {
  constructor(
    base: string,
    readonly seed: string,
    authenticator?: SoftAuthenticator,
    tenant = 'default',
  ) {
    super(base, authenticator, tenant);
  }

  private get risk() {
    return { device: devicePayload(this.seed) };
  }

  override async signUp(username: string) {
    const options = await this.call<{ options: PublicKeyCredentialCreationOptionsJSON }>(
      'POST',
      this.t('/auth/sign-up/options'),
      { username },
      { 'user-agent': USER_AGENT },
    );
    if (options.status !== 200) return options as never;
    return this.call(
      'POST',
      this.t('/auth/sign-up/verify'),
      { response: this.register(options.body.options), risk: this.risk },
      { 'user-agent': USER_AGENT },
    );
  }

  override async signIn() {
    const options = await this.signInOptions();
    if (options.status !== 200) return options as never;
    return this.call(
      'POST',
      this.t('/auth/passkey/verify'),
      { response: this.assert(options.body.options), risk: this.risk },
      { 'user-agent': USER_AGENT },
    );
  }

  override async stepUpWithPasskey() {
    const options = await this.call<{ options: PublicKeyCredentialRequestOptionsJSON }>(
      'POST',
      this.t('/auth/step-up/passkey/options'),
      {},
    );
    if (options.status !== 200) return options as never;
    return this.call('POST', this.t('/auth/step-up/passkey/verify'), {
      response: this.assert(options.body.options),
      risk: this.risk,
    });
  }

  /** The same person on another device (shares the passkeys: a synced passkey). */
  onDevice(seed: string): DeviceBrowser {
    return new DeviceBrowser(this.base, seed, this.authenticator, this.tenant);
  }

  async devices() {
    const r = await this.call<{ devices: Array<Record<string, unknown> & { id: string; current: boolean }> }>(
      'GET',
      this.t('/api/me/devices'),
    );
    if (r.status !== 200) throw new Error(`devices: ${r.status} ${JSON.stringify(r.body)}`);
    return r.body.devices;
  }

  /** This browser's device id (the one its session is on). */
  async currentDeviceId(): Promise<string> {
    const current = (await this.devices()).find((d) => d.current);
    if (!current) throw new Error('this session is on no known device');
    return current.id;
  }
}

/** An RFC 8935 push receiver on 127.0.0.1: answers 202 and keeps every SET (and its headers). */
export class SetReceiver {
  readonly received: Array<{ token: string; contentType?: string; authorization?: string; atMs: number }> =
    [];
  /** How many of the next deliveries to refuse with 503. */
  failures = 0;
  readonly url: string;

  private constructor(
    private readonly server: Server,
    url: string,
  ) {
    this.url = url;
  }

  static async start(): Promise<SetReceiver> {
    let receiver: SetReceiver | undefined;
    const server = createServer((req, res) => {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (chunk: string) => {
        body += chunk;
      });
      req.on('end', () => {
        if (receiver && receiver.failures > 0) {
          receiver.failures--;
          res.writeHead(503).end();
          return;
        }
        receiver?.received.push({
          token: body,
          ...(req.headers['content-type'] ? { contentType: req.headers['content-type'] } : {}),
          ...(req.headers.authorization ? { authorization: req.headers.authorization } : {}),
          atMs: Date.now(),
        });
        res.writeHead(202).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    receiver = new SetReceiver(server, `http://127.0.0.1:${port}/ssf/push`);
    return receiver;
  }

  async waitFor(count: number, timeoutMs = 10_000) {
    const deadline = Date.now() + timeoutMs;
    while (this.received.length < count) {
      if (Date.now() > deadline) throw new Error(`expected ${count} SETs, got ${this.received.length}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    return this.received;
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

/** Polls `read` until `done` holds (throws after `timeoutMs` with the last value). */
export async function eventually<T>(read: () => Promise<T>, done: (v: T) => boolean, timeoutMs = 15_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`condition not met; last value: ${JSON.stringify(value)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
