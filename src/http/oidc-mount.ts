/**
 * Sends the provider's endpoints under `/t/{tenant}/` to that tenant's oidc-provider instance, before
 * the router and with no body parser in front (the provider reads its own bodies). The provider sees
 * the path below the tenant and derives its mount path from `originalUrl`.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RequestHandler } from 'express';
import type Provider from 'oidc-provider';
import type { TenantProviders } from '../oidc/provider.ts';

const PROVIDER_PATH =
  /^\/t\/([a-z0-9][a-z0-9-]{0,62})(\/(?:authorize|token|userinfo|jwks|introspect|revoke|register|logout|par)(?:\/[^/]*)*|\/\.well-known\/openid-configuration)$/;

type Callback = (req: IncomingMessage, res: ServerResponse) => Promise<void>;

export function oidcMount(providers: TenantProviders): RequestHandler {
  const callbacks = new WeakMap<Provider, Callback>();
  return (req, res, next) => {
    const match = PROVIDER_PATH.exec(req.path);
    if (!match) {
      next();
      return;
    }
    const slug = match[1]!;
    providers
      .get(slug)
      .then(async ({ provider }) => {
        let callback = callbacks.get(provider);
        if (!callback) {
          callback = provider.callback() as Callback;
          callbacks.set(provider, callback);
        }
        req.url = req.url.slice(`/t/${slug}`.length);
        await callback(req, res);
      })
      .catch(next);
  };
}
