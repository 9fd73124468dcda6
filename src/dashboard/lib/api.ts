// The dashboard's one way to call EventFlow: REST and GraphQL share the session's access token and the
// selected project (X-Project-Id), and both surface failures as ApiError with the API's machine-readable code.

export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly details: unknown;
  constructor(status: number, code: string, message: string, details?: unknown) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

interface Credentials {
  /** The current access token, refreshed first when it is about to expire. */
  token(): Promise<string | undefined>;
  projectId(): string | undefined;
  /** Called once a token was refused: the session renews it (or ends) and says whether to retry. */
  refused(): Promise<boolean>;
}

let credentials: Credentials | undefined;

export function useCredentials(source: Credentials): void {
  credentials = source;
}

async function headers(extra: Record<string, string> = {}): Promise<Record<string, string>> {
  const token = await credentials?.token();
  const project = credentials?.projectId();
  return {
    ...(token ? { authorization: `Bearer ${token}` } : {}),
    ...(project ? { 'x-project-id': project } : {}),
    ...extra,
  };
}

async function send(input: string, init: RequestInit, retry = true): Promise<Response> {
  const response = await fetch(input, { ...init, headers: await headers(init.headers as Record<string, string>), credentials: 'same-origin' });
  if (response.status === 401 && retry && credentials && (await credentials.refused())) return send(input, init, false);
  return response;
}

async function failure(response: Response): Promise<ApiError> {
  const body = (await response.json().catch(() => undefined)) as { error?: { code?: string; message?: string; details?: unknown } } | undefined;
  return new ApiError(response.status, body?.error?.code ?? `http_${response.status}`, body?.error?.message ?? response.statusText, body?.error?.details);
}

/** A REST call under /v1; the JSON answer, or an ApiError. */
export async function rest<T>(method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', path: string, body?: unknown): Promise<T> {
  const response = await send(path, {
    method,
    ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
  });
  if (!response.ok) throw await failure(response);
  return (response.status === 204 ? undefined : await response.json()) as T;
}

interface GraphQLAnswer<T> {
  data?: T | null;
  errors?: Array<{ message: string; extensions?: { code?: string; details?: unknown } }>;
}

const STATUS_OF_CODE: Record<string, number> = { BAD_USER_INPUT: 400, UNAUTHENTICATED: 401, FORBIDDEN: 403, NOT_FOUND: 404, CONFLICT: 409 };

/** A GraphQL operation at /graphql; its data, or the first error as an ApiError. */
export async function gql<T>(query: string, variables: Record<string, unknown> = {}): Promise<T> {
  const response = await send('/graphql', {
    method: 'POST',
    body: JSON.stringify({ query, variables }),
    headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json, application/json' },
  });
  const answer = (await response.json().catch(() => ({}))) as GraphQLAnswer<T>;
  const error = answer.errors?.[0];
  if (error) {
    const code = error.extensions?.code ?? 'GRAPHQL_ERROR';
    if (code === 'UNAUTHENTICATED' && credentials && (await credentials.refused())) return gql(query, variables);
    throw new ApiError(STATUS_OF_CODE[code] ?? response.status, code, error.message, error.extensions?.details);
  }
  if (!response.ok || !answer.data) throw await failure(response);
  return answer.data;
}

/** Headers for a streaming call made outside `rest` (Server-Sent Events). */
export function authHeaders(): Promise<Record<string, string>> {
  return headers();
}
