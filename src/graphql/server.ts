import { readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { costLimitPlugin } from '@escape.tech/graphql-armor-cost-limit';
import { maxAliasesPlugin } from '@escape.tech/graphql-armor-max-aliases';
import { maxDepthPlugin } from '@escape.tech/graphql-armor-max-depth';
import { context as otelContext, SpanStatusCode, trace } from '@opentelemetry/api';
import { getOperationAST, GraphQLError, NoSchemaIntrospectionCustomRule, print, type ValidationContext } from 'graphql';
import { createSchema, createYoga, type Plugin } from 'graphql-yoga';
import type { Middleware } from 'koa';
import type { RouteDeps } from '../api/deps.ts';
import { ApiError } from '../api/errors.ts';
import { MAX_BODY_BYTES } from '../api/middleware/json-body.ts';
import { PROJECT_HEADER } from '../api/middleware/auth.ts';
import type { ApiState } from '../api/state.ts';
import { createContext, type GraphQLContext } from './context.ts';
import { createResolvers } from './resolvers.ts';

// GraphQL Yoga: a maintained, spec-compliant server built on the Fetch API, so it plugs into Koa as one
// middleware (no framework adapter to keep in step) and takes envelop plugins — graphql-armor's depth,
// cost and alias limits among them. The schema is the checked-in SDL beside this file.

export const GRAPHQL_PATH = '/graphql';
const typeDefs = readFileSync(new URL('./schema.graphql', import.meta.url), 'utf8');
const MAX_DOCUMENT_CHARS_ON_SPAN = 2_000;
const SECRET_NAME = /pass|secret|token|key|authorization/i;
const tracer = trace.getTracer('eventflow');

const STATUS_CODES: Record<number, string> = {
  400: 'BAD_USER_INPUT',
  401: 'UNAUTHENTICATED',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  409: 'CONFLICT',
  413: 'PAYLOAD_TOO_LARGE',
  429: 'TOO_MANY_REQUESTS',
  503: 'SERVICE_UNAVAILABLE',
};

/** Variables as they may appear on a span: values under secret-looking names are replaced. */
function redact(value: unknown, depth = 0): unknown {
  if (depth > 8 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((item) => redact(item, depth + 1));
  return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, SECRET_NAME.test(key) ? '[redacted]' : redact(item, depth + 1)]));
}

/** Each operation is a span (`graphql.operation.type`/`.name`, a truncated document, redacted variables). */
const tracing: Plugin = {
  onExecute({ args, executeFn, setExecuteFn }) {
    const operation = getOperationAST(args.document, args.operationName);
    const span = tracer.startSpan(`graphql ${operation?.operation ?? 'operation'}${operation?.name ? ` ${operation.name.value}` : ''}`, {
      attributes: {
        'graphql.operation.type': operation?.operation ?? 'unknown',
        'graphql.operation.name': operation?.name?.value ?? args.operationName ?? '',
        'graphql.document': print(args.document).slice(0, MAX_DOCUMENT_CHARS_ON_SPAN),
        'graphql.variables': JSON.stringify(redact(args.variableValues ?? {})).slice(0, MAX_DOCUMENT_CHARS_ON_SPAN),
      },
    });
    setExecuteFn((executeArgs) => otelContext.with(trace.setSpan(otelContext.active(), span), () => executeFn(executeArgs)));
    return {
      onExecuteDone({ result }) {
        const errors = 'errors' in result ? result.errors : undefined;
        if (errors?.length) span.setStatus({ code: SpanStatusCode.ERROR, message: errors[0].message });
        span.end();
      },
    };
  },
};

function validationError(message: string, nodes?: GraphQLError['nodes']): GraphQLError {
  return new GraphQLError(message.replace(/^Syntax Error: /, ''), { nodes, extensions: { code: 'GRAPHQL_VALIDATION_FAILED', http: { status: 400 } } });
}

/** graphql-armor's refusals reported as validation errors (400, with a code) instead of thrown. */
const asValidationError = {
  propagateOnRejection: false,
  onReject: [(context: ValidationContext | null, error: GraphQLError) => context?.reportError(validationError(error.message))],
};

/** Every other refusal before execution (syntax, unknown fields) carries the same code. */
const codedValidationErrors: Plugin = {
  onValidate() {
    return ({ result, setResult }) => {
      if (result.some((error) => !error.extensions?.code)) {
        setResult(result.map((error) => (error.extensions?.code ? error : validationError(error.message, error.nodes))));
      }
    };
  },
};

const noIntrospection: Plugin = {
  onValidate({ addValidationRule }) {
    addValidationRule(NoSchemaIntrospectionCustomRule);
  },
};

export function graphqlRoute(deps: RouteDeps): Middleware<ApiState> {
  const { db, auth, temporal, accept, config, log, liveFeed, accounts } = deps;
  type ServerContext = { koa: { ip: string; userAgent: string; path: string } };
  const yoga = createYoga<ServerContext, GraphQLContext>({
    schema: createSchema<ServerContext & GraphQLContext>({ typeDefs, resolvers: createResolvers({ accounts, db, temporal, accept, liveFeed, config }) }),
    graphqlEndpoint: GRAPHQL_PATH,
    graphiql: config.graphql.graphiql,
    landingPage: false,
    logging: false,
    context: ({ request, koa }) =>
      createContext(
        db,
        auth,
        {
          authorization: request.headers.get('authorization') ?? '',
          apiKey: request.headers.get('x-api-key') ?? '',
          project: request.headers.get(PROJECT_HEADER) ?? '',
          path: koa.path,
        },
        { ip: koa.ip, userAgent: koa.userAgent },
      ),
    plugins: [
      // Introspection counts too: nested __schema queries are the classic bomb.
      maxDepthPlugin({ n: config.graphql.maxDepth, exposeLimits: true, ignoreIntrospection: false, ...asValidationError }),
      costLimitPlugin({ maxCost: config.graphql.maxCost, exposeLimits: true, ...asValidationError }),
      maxAliasesPlugin({ n: 15, exposeLimits: true, ...asValidationError }),
      ...(config.graphql.introspection ? [] : [noIntrospection]),
      tracing,
      codedValidationErrors,
    ],
    maskedErrors: {
      maskError(error) {
        const original = error instanceof GraphQLError ? error.originalError : error;
        if (original instanceof ApiError) {
          return new GraphQLError(original.message, {
            nodes: (error as GraphQLError).nodes,
            path: (error as GraphQLError).path,
            extensions: {
              code: STATUS_CODES[original.status] ?? 'BAD_REQUEST',
              reason: original.code,
              status: original.status,
              details: original.details,
              ...(original.headers['Retry-After'] ? { retryAfter: Number(original.headers['Retry-After']) } : {}),
            },
          });
        }
        if (original instanceof GraphQLError || (error instanceof GraphQLError && !original)) return error as GraphQLError;
        // Argument coercion failures (a bad DateTime) arrive as plain TypeErrors from scalars.
        if (original instanceof TypeError && error instanceof GraphQLError && /Variable|Expected value|argument/i.test(error.message)) return error;
        log.error({ err: original ?? error }, 'GraphQL resolver failed');
        return new GraphQLError('Unexpected error.', { extensions: { code: 'INTERNAL_SERVER_ERROR' } });
      },
    },
  });

  return async (ctx, next) => {
    if (ctx.path !== GRAPHQL_PATH) return next();
    if ((ctx.request.length ?? 0) > MAX_BODY_BYTES) {
      throw new ApiError(413, 'payload_too_large', `request bodies are limited to ${MAX_BODY_BYTES} bytes`);
    }
    const response = await yoga.handleNodeRequestAndResponse(ctx.req, ctx.res, { koa: { ip: ctx.ip, userAgent: ctx.get('User-Agent'), path: ctx.path } });
    ctx.status = response.status;
    response.headers.forEach((value, key) => ctx.append(key, value));
    // Streamed, not buffered: a subscription's text/event-stream answer lasts as long as the subscription.
    // Yoga's ponyfilled stream wraps a Node Readable, which Koa pipes as it is.
    const body = response.body as unknown as { readable?: Readable } | null;
    ctx.body = body?.readable ?? (response.body ? Readable.fromWeb(response.body as unknown as WebReadableStream) : null);
  };
}
