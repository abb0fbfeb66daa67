import net from 'node:net';

/** A TCP proxy in front of a real server, so tests can make the server hang, drop, or vanish. */
export interface TcpProxy {
  /** `redis://` URL that reaches the target through the proxy. */
  readonly url: string;
  /** Stops forwarding in both directions while keeping connections open: a server that hangs. */
  freeze(): void;
  /** Closes every current connection; new ones are still accepted: a network blip. */
  dropConnections(): void;
  /** Closes the listener and every connection: a server that is gone. */
  stop(): Promise<void>;
}

/** Starts a proxy on a free loopback port forwarding to `targetUrl` (a `redis://host:port` URL). */
export async function startTcpProxy(targetUrl: string): Promise<TcpProxy> {
  const target = new URL(targetUrl);
  const sockets = new Set<net.Socket>();
  let frozen = false;
  const track = (socket: net.Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
  };
  const server = net.createServer((client) => {
    const upstream = net.connect(Number(target.port || 6379), target.hostname);
    track(client);
    track(upstream);
    client.on('data', (chunk) => frozen || upstream.write(chunk));
    upstream.on('data', (chunk) => frozen || client.write(chunk));
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  const auth = target.username || target.password ? `${target.username}:${target.password}@` : '';
  const destroyAll = () => {
    for (const socket of sockets) socket.destroy();
  };
  return {
    url: `redis://${auth}127.0.0.1:${port}${target.pathname}`,
    freeze: () => {
      frozen = true;
    },
    dropConnections: destroyAll,
    stop: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      destroyAll();
      await closed;
    },
  };
}
