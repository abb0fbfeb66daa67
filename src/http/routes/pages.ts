/**
 * The hosted pages under `/t/{tenant}/`: sign-up, sign-in, step-up, account, TOTP enrolment, recovery
 * codes and recovery. They are documents with no personal data (the browser scripts fetch that from
 * the JSON API with the session cookie), rendered by `src/web/pages.ts`.
 */
import type { Response } from 'express';
import { z } from 'zod';
import type { Store } from '../../store/index.ts';
import { findTenant } from '../../tenants.ts';
import { WebAppManifest } from '../../web/app-build.ts';
import {
  accountPath,
  type PageContext,
  renderConsole,
  renderPortal,
  renderRecover,
  renderRecoveryCodes,
  renderSignIn,
  renderSignUp,
  renderStepUp,
  renderTotp,
  safeReturnPath,
} from '../../web/pages.ts';
import { defineRoute, type Route, tenantParams } from '../routes.ts';

export interface PageRouteDeps {
  store: Store;
  publicUrl: string;
}

// Anything is accepted here and checked by `safeReturnPath`: a refused value is ignored, not an error.
const returnQuery = z.object({
  return: z.unknown().optional().meta({
    description: 'Same-origin path to go to afterwards (`/…`, not `//…`); anything else is ignored.',
  }),
});

const htmlResponse = {
  200: { description: 'HTML page.', contentType: 'text/html' },
  404: { description: 'Unknown tenant.' },
};

/** Pages are the same for everyone, but they are part of sign-in: never cache them. */
function sendPage(res: Response, page: string): undefined {
  res.setHeader('Cache-Control', 'no-store');
  res.type('html').send(page);
  return undefined;
}

/** The routes of the hosted pages. */
export function pageRoutes(deps: PageRouteDeps): Route[] {
  const context = async (slug: string): Promise<PageContext> => {
    const tenant = await findTenant(deps.store, slug);
    return { tenant: { slug: tenant.slug, displayName: tenant.displayName } };
  };

  const simple = (
    page: string,
    operationId: string,
    summary: string,
    render: (ctx: PageContext) => string,
  ): Route =>
    defineRoute({
      method: 'get',
      path: `/t/:tenant/${page}`,
      operationId,
      summary,
      tags: ['pages'],
      params: tenantParams,
      responses: htmlResponse,
      handler: async ({ res, params }) => sendPage(res, render(await context(params.tenant))),
    });

  const returning = (
    page: string,
    operationId: string,
    summary: string,
    render: (ctx: PageContext & { returnTo: string }) => string,
  ): Route =>
    defineRoute({
      method: 'get',
      path: `/t/:tenant/${page}`,
      operationId,
      summary,
      tags: ['pages'],
      params: tenantParams,
      query: returnQuery,
      responses: htmlResponse,
      handler: async ({ res, params, query }) => {
        const ctx = await context(params.tenant);
        const returnTo = safeReturnPath(query.return) ?? accountPath(params.tenant);
        return sendPage(res, render({ ...ctx, returnTo }));
      },
    });

  const manifest = new WebAppManifest();
  const viewParams = tenantParams.extend({
    view: z.string().regex(/^[a-z][a-z-]{0,39}$/),
    id: z.string().min(1).max(200).optional(),
  });
  /** A built app: its base path and up to two segments under it, which the app routes in the browser. */
  const app = (
    page: string,
    operationId: string,
    summary: string,
    render: (ctx: PageContext) => string,
  ): Route[] => [
    simple(page, operationId, summary, render),
    ...[`/t/:tenant/${page}/:view`, `/t/:tenant/${page}/:view/:id`].map((path, i) =>
      defineRoute({
        method: 'get',
        path,
        operationId: `${operationId}View${i ? 'Item' : ''}`,
        summary: `${summary} (a view of it)`,
        tags: ['pages'],
        params: viewParams,
        responses: htmlResponse,
        handler: async ({ res, params }) => sendPage(res, render(await context(params.tenant))),
      }),
    ),
  ];

  return [
    simple('sign-up', 'pageSignUp', 'Page: create an account with a passkey.', renderSignUp),
    returning('sign-in', 'pageSignIn', 'Page: sign in with a passkey (button or autofill).', renderSignIn),
    returning(
      'step-up',
      'pageStepUp',
      'Page: confirm with a passkey or authenticator code, then return.',
      renderStepUp,
    ),
    ...app(
      'account',
      'pageAccount',
      'Page: the portal: identity and DID, devices, factors, sessions, credentials, activity.',
      (ctx) => renderPortal(ctx, manifest.entry('portal')),
    ),
    ...app(
      'admin',
      'pageConsole',
      'Page: the admin console: dashboard, people and devices, audit, policy, apps, tenants.',
      (ctx) => renderConsole(ctx, manifest.entry('console')),
    ),
    simple('totp', 'pageTotp', 'Page: set up an authenticator app.', renderTotp),
    simple(
      'recovery-codes',
      'pageRecoveryCodes',
      'Page: generate and save recovery codes.',
      renderRecoveryCodes,
    ),
    simple('recover', 'pageRecover', 'Page: recover an account with a recovery code.', renderRecover),
  ];
}
