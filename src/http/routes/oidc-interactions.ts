/**
 * The provider's interactions on Trustgate's pages, `/t/{tenant}/interaction/{uid}`:
 *
 *   - login: without a live Trustgate session the person goes to the sign-in page (which runs the
 *     risk engine and the tenant's policy) and comes back; a step-up still owed, a `max_age` or
 *     `prompt=login` that asks for a fresh proof, or `acr_values` the session does not reach send them to
 *     the step-up page. When the session is enough, the login is finished with its `acr` (the first
 *     requested value it satisfies), `amr` and `auth_time`. If a step-up made for this request still
 *     does not reach the requested `acr`, the person sees why and can go back to the app, which gets
 *     `unmet_authentication_requirements`.
 *   - consent: first-party clients are granted what they asked for; third-party clients get a page.
 */
import type { Request, Response } from 'express';
import type { Interaction } from 'oidc-provider';
import { z } from 'zod';
import { TrustgateError } from '../../errors.ts';
import { acrFor, requestedAcrs } from '../../oidc/assurance.ts';
import { FIRST_PARTY, type TenantProviders } from '../../oidc/provider.ts';
import type { ActiveSession, Sessions } from '../../sessions/sessions.ts';
import type { Tenant } from '../../store/generated/postgres/client.ts';
import { pagePath } from '../../web/layout.ts';
import { renderConsent, renderOidcError, renderUnmet } from '../../web/oidc-pages.ts';
import { defineRoute, type Route, tenantParams } from '../routes.ts';
import type { SessionEdge } from '../session-auth.ts';

export interface OidcInteractionDeps {
  providers: TenantProviders;
  edge: SessionEdge;
  sessions: Sessions;
}

export class InteractionNotFoundError extends TrustgateError {
  constructor() {
    super(
      'interaction_not_found',
      404,
      'Sign-in request not found',
      'This sign-in request expired or belongs to another browser: start again from the app.',
    );
  }
}

const params = tenantParams.extend({ uid: z.string().regex(/^[A-Za-z0-9_-]{10,64}$/, 'an interaction id') });

/** Proofs made this long before the request still count as made for it (clock skew between instances). */
const FRESH_SKEW_MS = 2_000;

export function oidcInteractionRoutes(deps: OidcInteractionDeps): Route[] {
  const details = async (req: Request, res: Response, slug: string) => {
    const { provider, tenant } = await deps.providers.get(slug);
    try {
      const interaction = await provider.interactionDetails(req, res);
      return { provider, tenant, interaction };
    } catch {
      throw new InteractionNotFoundError();
    }
  };

  const live = async (req: Request, tenant: Tenant): Promise<ActiveSession | null> =>
    deps.sessions.find(deps.edge.tokenOf(req), tenant);

  return [
    defineRoute({
      method: 'get',
      path: '/t/:tenant/interaction/:uid',
      operationId: 'oidcInteraction',
      summary: 'Page: continues an app’s sign-in request (sign-in, step-up or consent as needed).',
      tags: ['oidc'],
      params,
      responses: {
        200: {
          description: 'The consent page, or why the requested assurance was not reached.',
          contentType: 'text/html',
        },
        303: { description: 'To sign-in, step-up, or back to the provider.' },
        404: { description: 'interaction_not_found: expired or another browser’s request.' },
      },
      handler: async ({ req, res, params: p }) => {
        let found: Awaited<ReturnType<typeof details>>;
        try {
          found = await details(req, res, p.tenant);
        } catch (err) {
          if (!(err instanceof InteractionNotFoundError)) throw err;
          const tenant = await deps.providers.get(p.tenant).then((t) => t.tenant);
          res
            .status(404)
            .type('html')
            .send(
              renderOidcError({
                tenant: { slug: tenant.slug, displayName: tenant.displayName },
                error: 'interaction_not_found',
                description: err.message,
              }),
            );
          return undefined;
        }
        const { provider, tenant, interaction } = found;
        const here = `/t/${tenant.slug}/interaction/${interaction.uid}`;
        const back = `?return=${encodeURIComponent(here)}`;
        const pageTenant = { slug: tenant.slug, displayName: tenant.displayName };
        const clientId = String(interaction.params.client_id);
        const client = await provider.Client.find(clientId);
        const clientName = client?.clientName ?? clientId;

        if (interaction.prompt.name === 'login') {
          const session = await live(req, tenant);
          if (!session) return redirect(res, `${pagePath(tenant.slug, 'sign-in')}${back}`);
          if (session.pending) return redirect(res, `${pagePath(tenant.slug, 'step-up')}${back}`);
          const nowMs = Date.now();
          const startedMs = interaction.iat * 1000 - FRESH_SKEW_MS;
          const provedForThis = session.authTimeMs >= startedMs;
          if (!provedForThis && needsFreshProof(interaction, session, nowMs)) {
            return redirect(res, `${pagePath(tenant.slug, 'step-up')}${back}`);
          }
          const wanted = requestedAcrs(interaction.params.acr_values);
          const acr = acrFor(session.assurance, session.authTimeMs, wanted);
          if (!acr) {
            if (!provedForThis) return redirect(res, `${pagePath(tenant.slug, 'step-up')}${back}`);
            res
              .status(200)
              .type('html')
              .send(
                renderUnmet({
                  tenant: pageTenant,
                  uid: interaction.uid,
                  clientName,
                  needs: describeAcrs(wanted),
                  stepUpHref: `${pagePath(tenant.slug, 'step-up')}${back}`,
                }),
              );
            return undefined;
          }
          await provider.interactionFinished(
            req,
            res,
            {
              login: {
                accountId: session.row.accountId,
                acr,
                amr: session.assurance.amr,
                ts: Math.floor(session.authTimeMs / 1000),
              },
            },
            { mergeWithLastSubmission: false },
          );
          return undefined;
        }

        if (interaction.prompt.name === 'consent') {
          // The consent is given by the person whose Trustgate session this is.
          const session = await live(req, tenant);
          if (!session || session.row.accountId !== interaction.session?.accountId) {
            return redirect(res, `${pagePath(tenant.slug, 'sign-in')}${back}`);
          }
          if (client && (client as unknown as Record<string, unknown>)[FIRST_PARTY] === true) {
            const grantId = await grantAll(provider, interaction);
            await provider.interactionFinished(
              req,
              res,
              { consent: { grantId } },
              { mergeWithLastSubmission: true },
            );
            return undefined;
          }
          res
            .status(200)
            .type('html')
            .send(
              renderConsent({
                tenant: pageTenant,
                uid: interaction.uid,
                clientName,
                ...(client?.clientUri ? { clientUri: client.clientUri } : {}),
                scopes: String(interaction.params.scope ?? '')
                  .split(' ')
                  .filter(Boolean),
              }),
            );
          return undefined;
        }
        throw new TrustgateError(
          'unsupported_prompt',
          400,
          'Unsupported prompt',
          `Prompt ${interaction.prompt.name} is not supported.`,
        );
      },
    }),
    defineRoute({
      method: 'post',
      path: '/t/:tenant/interaction/:uid/consent',
      operationId: 'oidcConsent',
      summary: 'Allow a third-party app what it asked for; answers where the browser goes next.',
      tags: ['oidc'],
      params,
      body: z.strictObject({}),
      responses: { 200: { description: '`{ location }`: continue the sign-in there.' } },
      handler: async ({ req, res, params: p }) => {
        deps.edge.assertSameSite(req);
        const { provider, tenant, interaction } = await details(req, res, p.tenant);
        if (interaction.prompt.name !== 'consent') throw new InteractionNotFoundError();
        const session = await live(req, tenant);
        if (!session || session.row.accountId !== interaction.session?.accountId)
          throw new InteractionNotFoundError();
        const grantId = await grantAll(provider, interaction);
        const location = await provider.interactionResult(req, res, { consent: { grantId } });
        return { location };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/t/:tenant/interaction/:uid/abort',
      operationId: 'oidcAbort',
      summary: 'Deny an app, or give up on a stronger sign-in; the app receives the error.',
      tags: ['oidc'],
      params,
      body: z.strictObject({ reason: z.enum(['denied', 'unmet']) }),
      responses: { 200: { description: '`{ location }`: back to the app with the error.' } },
      handler: async ({ req, res, params: p, body }) => {
        deps.edge.assertSameSite(req);
        const { provider } = await details(req, res, p.tenant);
        const result =
          body.reason === 'denied'
            ? { error: 'access_denied', error_description: 'The person did not allow the request.' }
            : {
                error: 'unmet_authentication_requirements',
                error_description: 'The requested authentication level could not be reached.',
              };
        const location = await provider.interactionResult(req, res, result, {
          mergeWithLastSubmission: false,
        });
        return { location };
      },
    }),
  ];
}

function redirect(res: Response, location: string): undefined {
  res.redirect(303, location);
  return undefined;
}

/** `prompt=login`, or `max_age` that the session's last proof is older than. */
function needsFreshProof(interaction: Interaction, session: ActiveSession, nowMs: number): boolean {
  const reasons = interaction.prompt.reasons;
  if (reasons.includes('login_prompt')) return true;
  const maxAge = interaction.params.max_age;
  if (maxAge !== undefined) {
    const seconds = Number(maxAge);
    if (Number.isFinite(seconds) && nowMs - session.authTimeMs > seconds * 1000) return true;
  }
  return false;
}

/** Grants what the prompt says is missing (scopes, claims, resource scopes) and saves the grant. */
async function grantAll(
  provider: Awaited<ReturnType<TenantProviders['get']>>['provider'],
  interaction: Interaction,
): Promise<string> {
  const existing = interaction.grantId ? await provider.Grant.find(interaction.grantId) : undefined;
  const grant =
    existing ??
    new provider.Grant({
      accountId: interaction.session!.accountId,
      clientId: String(interaction.params.client_id),
    });
  const missing = interaction.prompt.details as {
    missingOIDCScope?: string[];
    missingOIDCClaims?: string[];
    missingResourceScopes?: Record<string, string[]>;
  };
  if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
  if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
  for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes ?? {})) {
    grant.addResourceScope(indicator, scopes.join(' '));
  }
  return grant.save();
}

function describeAcrs(acrs: string[]): string {
  const words: Record<string, string> = {
    phrh: 'a phishing-resistant, hardware-bound authenticator',
    phr: 'a phishing-resistant authenticator',
  };
  const first = acrs[0];
  if (!first) return 'a stronger sign-in';
  return words[first] ?? `assurance level ${first.split('/').pop()}`;
}
