/**
 * Routes declared once: method, path, zod schemas for params, query and body, responses. The same
 * declaration validates requests at run time and generates `/openapi.json`, so the documentation
 * cannot drift from what the server accepts.
 */
import express, { type Request, type RequestHandler, type Response, type Router } from 'express';
import { z } from 'zod';
import { InvalidRequestError, UnsupportedMediaTypeError } from '../errors.ts';

export type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';

type AnyObject = z.ZodObject<z.ZodRawShape>;

export interface ResponseSpec {
  description: string;
  /** Body schema (JSON); omit for empty or non-JSON bodies. */
  schema?: z.ZodType;
  /** Media type when it is not application/json. */
  contentType?: string;
}

export interface RouteContext<P, Q, B> {
  req: Request;
  res: Response;
  params: P;
  query: Q;
  body: B;
}

export interface RouteSpec<P extends AnyObject, Q extends AnyObject, B extends z.ZodType> {
  method: Method;
  /** Express path, `:name` for parameters. */
  path: string;
  operationId: string;
  summary: string;
  description?: string;
  tags: string[];
  params?: P;
  query?: Q;
  body?: B;
  /** Status of a successful JSON answer (default 200). */
  status?: number;
  responses: Record<number, ResponseSpec>;
  /** Returns the JSON body to send, or undefined when it wrote the response itself. */
  handler: (ctx: RouteContext<z.output<P>, z.output<Q>, z.output<B>>) => Promise<unknown> | unknown;
}

/** A declared route (type parameters erased for collections). */
export type Route = RouteSpec<AnyObject, AnyObject, z.ZodType>;

/** The `:tenant` path parameter every tenant route has: a tenant slug. */
export const tenantParams = z.object({
  tenant: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'a tenant slug'),
});

/** Declares a route; the identity function, there for type inference. */
export function defineRoute<
  P extends AnyObject = z.ZodObject<Record<string, never>>,
  Q extends AnyObject = z.ZodObject<Record<string, never>>,
  B extends z.ZodType = z.ZodUndefined,
>(spec: RouteSpec<P, Q, B>): Route {
  return spec as unknown as Route;
}

/** Media types accepted for JSON bodies. */
const JSON_TYPES = ['application/json', 'application/*+json'];

function issuesOf(error: z.ZodError, where: string) {
  return error.issues.map((i) => ({ in: where, path: i.path.join('.'), message: i.message }));
}

function parsePart<S extends z.ZodType>(
  schema: S | undefined,
  value: unknown,
  where: string,
): z.output<S> | undefined {
  if (!schema) return undefined;
  const result = schema.safeParse(value);
  if (!result.success) {
    throw new InvalidRequestError(`The request ${where} is invalid.`, {
      extensions: { errors: issuesOf(result.error, where) },
    });
  }
  return result.data;
}

/** Mounts `routes` on `router`: content-type check, size-limited JSON parsing, validation, handler. */
export function mountRoutes(router: Router, routes: Route[], options: { bodyLimit: string }): void {
  const json = express.json({ limit: options.bodyLimit, strict: true, type: JSON_TYPES });
  const requireJson: RequestHandler = (req, _res, next) => {
    const hasBody =
      req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;
    if (!hasBody) return next(new InvalidRequestError('This endpoint needs a JSON body.'));
    if (!req.is(JSON_TYPES)) return next(new UnsupportedMediaTypeError(['application/json']));
    next();
  };
  for (const route of routes) {
    const handlers: RequestHandler[] = [];
    if (route.body) handlers.push(requireJson, json);
    handlers.push(async (req, res, next) => {
      try {
        const params = parsePart(route.params, req.params, 'path parameters');
        const query = parsePart(route.query, req.query, 'query');
        const body = parsePart(route.body, req.body, 'body');
        const result = await route.handler({ req, res, params, query, body } as Parameters<
          Route['handler']
        >[0]);
        if (result !== undefined && !res.headersSent) res.status(route.status ?? 200).json(result);
      } catch (err) {
        next(err);
      }
    });
    router[route.method](route.path, ...handlers);
  }
}

/** Compiles an Express path to a RegExp (for the 405 check). */
function pathPattern(path: string): RegExp {
  const escaped = path
    .split('/')
    .map((seg) => (seg.startsWith(':') ? '[^/]+' : seg.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
    .join('/');
  return new RegExp(`^${escaped}/?$`);
}

/** Methods registered for `path` (empty when no route matches it at all). */
export function allowedMethods(routes: Route[], path: string): string[] {
  const methods = new Set<string>();
  for (const route of routes) if (pathPattern(route.path).test(path)) methods.add(route.method.toUpperCase());
  if (methods.has('GET')) methods.add('HEAD');
  return [...methods];
}

/** JSON Schema of a zod schema, for OpenAPI 3.1 (which uses JSON Schema 2020-12). */
function jsonSchema(schema: z.ZodType): Record<string, unknown> {
  const out = z.toJSONSchema(schema, {
    target: 'draft-2020-12',
    unrepresentable: 'any',
    io: 'input',
  }) as Record<string, unknown>;
  delete out.$schema;
  return out;
}

/** The RFC 9457 problem schema shared by every error response. */
export const problemSchema = z
  .object({
    type: z.string().meta({ description: 'urn:trustgate:problem:<code>' }),
    title: z.string(),
    status: z.number().int(),
    code: z.string().meta({ description: 'Stable machine-readable error code.' }),
    detail: z.string().optional(),
    requestId: z.string().optional(),
  })
  .catchall(z.unknown())
  .meta({ id: 'Problem', description: 'RFC 9457 problem details.' });

/** Builds the OpenAPI 3.1 document for `routes`. */
export function openApiDocument(
  routes: Route[],
  info: { title: string; version: string; serverUrl: string },
) {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) {
    const oaPath = route.path.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
    const parameters: unknown[] = [];
    for (const [where, schema] of [
      ['path', route.params],
      ['query', route.query],
    ] as const) {
      if (!schema) continue;
      for (const [name, prop] of Object.entries(schema.shape)) {
        const propSchema = prop as z.ZodType;
        parameters.push({
          name,
          in: where,
          required: where === 'path' || !propSchema.safeParse(undefined).success,
          description: propSchema.description,
          schema: jsonSchema(propSchema),
        });
      }
    }
    const responses: Record<string, unknown> = {};
    for (const [status, spec] of Object.entries(route.responses)) {
      const type =
        spec.contentType ?? (Number(status) >= 400 ? 'application/problem+json' : 'application/json');
      const schema = spec.schema ?? (Number(status) >= 400 ? problemSchema : undefined);
      responses[status] = {
        description: spec.description,
        ...(schema || spec.contentType
          ? { content: { [type]: schema ? { schema: jsonSchema(schema) } : {} } }
          : {}),
      };
    }
    responses.default = {
      description: 'Error (RFC 9457 problem details).',
      content: { 'application/problem+json': { schema: jsonSchema(problemSchema) } },
    };
    paths[oaPath] ??= {};
    paths[oaPath][route.method] = {
      operationId: route.operationId,
      summary: route.summary,
      ...(route.description ? { description: route.description } : {}),
      tags: route.tags,
      ...(parameters.length ? { parameters } : {}),
      ...(route.body
        ? {
            requestBody: {
              required: true,
              content: { 'application/json': { schema: jsonSchema(route.body) } },
            },
          }
        : {}),
      responses,
    };
  }
  return {
    openapi: '3.1.0',
    info: { title: info.title, version: info.version },
    servers: [{ url: info.serverUrl }],
    paths,
  };
}
