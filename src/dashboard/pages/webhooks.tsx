import { useInfiniteQuery, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useId, useState, type FormEvent } from 'react';
import { Link } from 'wouter';
import { Badge, Button, Card, Confirm, CopyButton, Empty, ErrorNote, Field, Input, Loading, PageTitle, Table } from '../components/ui.tsx';
import { gql, rest } from '../lib/api.ts';
import { formatDuration, formatTime } from '../lib/format.ts';
import { useSession } from '../lib/session.tsx';

// A project's webhook endpoints (GraphQL), each with its attempt log (REST: GraphQL has no per-endpoint
// log) and a "send test event" that goes through the same signing and SSRF guard as real deliveries.
// The signing secret comes back from create and rotate only, so it is shown once and then forgotten.

interface Endpoint {
  id: string;
  url: string;
  eventTypes: string[];
  description: string | null;
  enabled: boolean;
  createdAt: string;
}

interface EndpointValues {
  url: string;
  eventTypes: string[];
  description: string | null;
}

type Outcome = 'delivered' | 'retryable' | 'permanent' | 'gone';

interface Attempt {
  id: string;
  event_id: string;
  attempt: number;
  attempted_at: string;
  status_code: number | null;
  duration_ms: number;
  response_excerpt: string | null;
  error: string | null;
  outcome: Outcome;
}

interface TestResult {
  eventId: string;
  delivered: boolean;
  outcome: Outcome;
  statusCode: number | null;
  durationMs: number;
  responseExcerpt: string | null;
  error: string | null;
}

const ENDPOINT_FIELDS = 'id url eventTypes description enabled createdAt';
const LIST = `query Webhooks { webhooks { ${ENDPOINT_FIELDS} } }`;
const CREATE = `mutation CreateWebhook($input: WebhookInput!) { createWebhook(input: $input) { secret endpoint { ${ENDPOINT_FIELDS} } } }`;
const UPDATE = `mutation UpdateWebhook($id: ID!, $input: WebhookPatch!) { updateWebhook(id: $id, input: $input) { ${ENDPOINT_FIELDS} } }`;
const DELETE = `mutation DeleteWebhook($id: ID!) { deleteWebhook(id: $id) }`;
const ROTATE = `mutation RotateWebhookSecret($id: ID!) { rotateWebhookSecret(id: $id) { id secret } }`;
const TEST = `mutation TestWebhook($id: ID!, $eventType: String) { testWebhook(id: $id, eventType: $eventType) { eventId delivered outcome statusCode durationMs responseExcerpt error } }`;

// Limits from the API's endpoint schema (src/api/operations/webhooks.ts).
const MAX_URL_LENGTH = 2048;
const MAX_DESCRIPTION_LENGTH = 1000;
const ATTEMPTS_PER_PAGE = 20;
const EXCERPT_CHARS = 160;

const OUTCOME_TONE = { delivered: 'green', retryable: 'amber', permanent: 'red', gone: 'red' } as const;
const WEBHOOKS_KEY = ['webhooks'];

export default function WebhooksPage() {
  const { can } = useSession();
  const manage = can('webhooks:manage');
  const endpoints = useQuery({ queryKey: WEBHOOKS_KEY, queryFn: () => gql<{ webhooks: Endpoint[] }>(LIST).then((data) => data.webhooks) });
  return (
    <>
      <PageTitle>Webhooks</PageTitle>
      <div className="flex flex-col gap-4">
        {manage && <CreateEndpoint />}
        <Card title="Endpoints">
          <ErrorNote error={endpoints.error} />
          {endpoints.isPending ? (
            <Loading />
          ) : endpoints.data?.length === 0 ? (
            <Empty>No webhook endpoints yet.</Empty>
          ) : (
            <ul className="flex flex-col gap-3">
              {endpoints.data?.map((endpoint) => <EndpointCard key={endpoint.id} endpoint={endpoint} manage={manage} />)}
            </ul>
          )}
        </Card>
      </div>
    </>
  );
}

/** "order.*, invoice.paid" as the API's list of patterns. */
function parsePatterns(text: string): string[] {
  return text
    .split(',')
    .map((pattern) => pattern.trim())
    .filter(Boolean);
}

function CreateEndpoint() {
  const queries = useQueryClient();
  const [secret, setSecret] = useState<string>();
  const create = useMutation({
    mutationFn: (input: EndpointValues) => gql<{ createWebhook: { secret: string; endpoint: Endpoint } }>(CREATE, { input }),
    onSuccess: (data) => {
      setSecret(data.createWebhook.secret);
      return queries.invalidateQueries({ queryKey: WEBHOOKS_KEY });
    },
  });
  return (
    <Card title="Add an endpoint">
      {secret ? (
        <OnceSecret secret={secret} intro="The endpoint was created. Its signing secret:" onDone={() => setSecret(undefined)} />
      ) : (
        <EndpointForm label="Add a webhook endpoint" submitLabel="Create endpoint" pending={create.isPending} error={create.error} onSubmit={(values) => create.mutate(values)} />
      )}
    </Card>
  );
}

/** The secret as the API sent it, with the one chance to copy it. */
function OnceSecret({ secret, intro, onDone }: { secret: string; intro: string; onDone(): void }) {
  return (
    <div role="status" className="flex flex-col gap-2 rounded-md bg-amber-50 p-3 text-sm ring-1 ring-amber-200">
      <p className="font-medium text-amber-900">{intro}</p>
      <div className="flex flex-wrap items-center gap-2">
        <code data-testid="webhook-secret" className="min-w-0 break-all rounded bg-white px-2 py-1 font-mono text-xs ring-1 ring-amber-200">
          {secret}
        </code>
        <CopyButton text={secret} label="Copy secret" />
      </div>
      <p className="text-amber-900">Store it now: it won't be shown again. Receivers check the webhook-signature header with it; rotating makes a new one.</p>
      <div>
        <Button onClick={onDone}>Done</Button>
      </div>
    </div>
  );
}

function EndpointForm({ label, initial, submitLabel, pending, error, onSubmit, onCancel }: {
  label: string;
  initial?: Endpoint;
  submitLabel: string;
  pending: boolean;
  error: unknown;
  onSubmit(values: EndpointValues): void;
  onCancel?(): void;
}) {
  function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const data = new FormData(event.currentTarget);
    const description = String(data.get('description')).trim();
    onSubmit({ url: String(data.get('url')).trim(), eventTypes: parsePatterns(String(data.get('eventTypes'))), description: description || null });
  }
  return (
    <form onSubmit={submit} aria-label={label} className="flex flex-col gap-3">
      <div className="grid gap-3 sm:grid-cols-2">
        <Field label="URL">
          <Input name="url" type="url" required maxLength={MAX_URL_LENGTH} defaultValue={initial?.url} placeholder="https://example.com/webhooks/eventflow" />
        </Field>
        <Field label="Event types" hint="Comma-separated patterns: order.created, order.*, or * for every event.">
          <Input name="eventTypes" required defaultValue={initial?.eventTypes.join(', ')} placeholder="order.*, invoice.paid" />
        </Field>
      </div>
      <Field label="Description">
        <Input name="description" maxLength={MAX_DESCRIPTION_LENGTH} defaultValue={initial?.description ?? ''} placeholder="Orders to the ERP" />
      </Field>
      <ErrorNote error={error} />
      <div className="flex flex-wrap gap-2">
        <Button tone="primary" type="submit" disabled={pending}>
          {pending ? 'Saving…' : submitLabel}
        </Button>
        {onCancel && <Button onClick={onCancel}>Cancel</Button>}
      </div>
    </form>
  );
}

function EndpointCard({ endpoint, manage }: { endpoint: Endpoint; manage: boolean }) {
  const queries = useQueryClient();
  const refresh = () => queries.invalidateQueries({ queryKey: WEBHOOKS_KEY });
  const [editing, setEditing] = useState(false);
  const [confirming, setConfirming] = useState<'delete' | 'rotate'>();
  const [rotatedSecret, setRotatedSecret] = useState<string>();
  const [showAttempts, setShowAttempts] = useState(false);
  const attemptsId = useId();

  const update = useMutation({
    mutationFn: (input: Partial<EndpointValues> & { enabled?: boolean }) => gql<{ updateWebhook: Endpoint }>(UPDATE, { id: endpoint.id, input }),
    onSuccess: () => {
      setEditing(false);
      return refresh();
    },
  });
  const remove = useMutation({ mutationFn: () => gql(DELETE, { id: endpoint.id }), onSuccess: refresh });
  const rotate = useMutation({
    mutationFn: () => gql<{ rotateWebhookSecret: { secret: string } }>(ROTATE, { id: endpoint.id }),
    onSuccess: (data) => setRotatedSecret(data.rotateWebhookSecret.secret),
  });

  return (
    <li data-testid="webhook-row" className="rounded-md p-3 ring-1 ring-slate-200">
      {editing ? (
        <EndpointForm
          label={`Edit endpoint ${endpoint.url}`}
          initial={endpoint}
          submitLabel="Save changes"
          pending={update.isPending}
          error={update.error}
          onSubmit={(values) => update.mutate(values)}
          onCancel={() => {
            update.reset();
            setEditing(false);
          }}
        />
      ) : (
        <EndpointSummary endpoint={endpoint} />
      )}

      {manage && !editing && (
        <div className="mt-3 flex flex-wrap gap-2">
          <Button onClick={() => setEditing(true)} aria-label={`Edit endpoint ${endpoint.url}`}>
            Edit
          </Button>
          <Button onClick={() => update.mutate({ enabled: !endpoint.enabled })} disabled={update.isPending} aria-label={`${endpoint.enabled ? 'Disable' : 'Enable'} endpoint ${endpoint.url}`}>
            {endpoint.enabled ? 'Disable' : 'Enable'}
          </Button>
          <Button onClick={() => setConfirming('rotate')} disabled={rotate.isPending} aria-label={`Rotate the signing secret of ${endpoint.url}`}>
            Rotate secret
          </Button>
          <Button tone="danger" onClick={() => setConfirming('delete')} disabled={remove.isPending} aria-label={`Delete endpoint ${endpoint.url}`}>
            Delete
          </Button>
        </div>
      )}
      {!editing && (
        <div className="mt-3">
          <ErrorNote error={update.error ?? rotate.error ?? remove.error} />
        </div>
      )}
      {rotatedSecret && (
        <div className="mt-3">
          <OnceSecret secret={rotatedSecret} intro="The new signing secret (the previous one keeps working for a grace period):" onDone={() => setRotatedSecret(undefined)} />
        </div>
      )}
      {manage && <TestSend endpoint={endpoint} />}

      <div className="mt-3">
        <Button aria-expanded={showAttempts} aria-controls={attemptsId} onClick={() => setShowAttempts((shown) => !shown)}>
          {showAttempts ? 'Hide attempts' : 'Show attempts'}
        </Button>
        <div id={attemptsId}>{showAttempts && <AttemptLog endpointId={endpoint.id} />}</div>
      </div>

      {manage && (
        <>
          <Confirm
            open={confirming === 'delete'}
            title="Delete this endpoint?"
            confirmLabel="Delete endpoint"
            tone="danger"
            onCancel={() => setConfirming(undefined)}
            onConfirm={() => {
              setConfirming(undefined);
              remove.mutate();
            }}
          >
            <p className="break-all">{endpoint.url} will receive no more events. Its attempt log goes with it.</p>
          </Confirm>
          <Confirm
            open={confirming === 'rotate'}
            title="Rotate the signing secret?"
            confirmLabel="Rotate secret"
            onCancel={() => setConfirming(undefined)}
            onConfirm={() => {
              setConfirming(undefined);
              rotate.mutate();
            }}
          >
            <p>Deliveries are signed with both secrets for a grace period, so the receiver can switch over without failures.</p>
          </Confirm>
        </>
      )}
    </li>
  );
}

function EndpointSummary({ endpoint }: { endpoint: Endpoint }) {
  return (
    <div className="flex flex-col gap-1.5 text-sm">
      <div className="flex flex-wrap items-center gap-2">
        <span className="min-w-0 break-all font-mono text-xs font-medium text-slate-900">{endpoint.url}</span>
        <Badge tone={endpoint.enabled ? 'green' : 'slate'}>{endpoint.enabled ? 'enabled' : 'disabled'}</Badge>
      </div>
      {endpoint.description && <p className="text-slate-700">{endpoint.description}</p>}
      <div className="flex flex-wrap items-center gap-1" aria-label="Event types">
        {endpoint.eventTypes.map((pattern) => (
          <Badge key={pattern} tone="indigo">
            {pattern}
          </Badge>
        ))}
      </div>
      <p className="text-xs text-slate-500">Created {formatTime(endpoint.createdAt)}</p>
    </div>
  );
}

function TestSend({ endpoint }: { endpoint: Endpoint }) {
  const send = useMutation({
    mutationFn: (eventType: string | undefined) => gql<{ testWebhook: TestResult }>(TEST, { id: endpoint.id, eventType }).then((data) => data.testWebhook),
  });
  function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const eventType = String(new FormData(event.currentTarget).get('eventType')).trim();
    send.mutate(eventType || undefined);
  }
  const result = send.data;
  return (
    <div className="mt-3 flex flex-col gap-2">
      <form onSubmit={submit} aria-label={`Send a test event to ${endpoint.url}`} className="flex flex-wrap items-end gap-2">
        <Field label="Test event type">
          <Input name="eventType" maxLength={128} placeholder="eventflow.test" disabled={!endpoint.enabled} />
        </Field>
        <Button type="submit" disabled={!endpoint.enabled || send.isPending}>
          {send.isPending ? 'Sending…' : 'Send test event'}
        </Button>
        {!endpoint.enabled && <span className="text-xs text-slate-500">Enable the endpoint to send a test event.</span>}
      </form>
      <ErrorNote error={send.error} />
      {result && (
        <div role="status" className="rounded-md bg-slate-50 p-3 text-sm ring-1 ring-slate-200">
          <p className="flex flex-wrap items-center gap-2">
            <Badge tone={OUTCOME_TONE[result.outcome]}>{result.outcome}</Badge>
            <span>{result.statusCode === null ? 'no response' : `HTTP ${result.statusCode}`}</span>
            <span className="text-slate-500">in {formatDuration(result.durationMs)}</span>
          </p>
          {result.error && result.error !== `HTTP ${result.statusCode}` && <p className="mt-1 break-all text-rose-700">{result.error}</p>}
          {result.responseExcerpt && <pre className="mt-1 max-h-40 overflow-auto whitespace-pre-wrap break-all rounded bg-white p-2 font-mono text-xs ring-1 ring-slate-200">{result.responseExcerpt}</pre>}
          <p className="mt-1 text-xs text-slate-500">Test events are not stored and do not appear in the attempt log.</p>
        </div>
      )}
    </div>
  );
}

function attemptsPath(endpointId: string, cursor: string | undefined): string {
  const query = new URLSearchParams({ limit: String(ATTEMPTS_PER_PAGE), ...(cursor ? { cursor } : {}) });
  return `/v1/webhooks/${encodeURIComponent(endpointId)}/attempts?${query}`;
}

function AttemptLog({ endpointId }: { endpointId: string }) {
  const attempts = useInfiniteQuery({
    queryKey: ['webhook-attempts', endpointId],
    queryFn: ({ pageParam }) => rest<{ data: Attempt[]; next_cursor: string | null }>('GET', attemptsPath(endpointId, pageParam)),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (page) => page.next_cursor ?? undefined,
  });
  const rows = attempts.data?.pages.flatMap((page) => page.data) ?? [];
  if (attempts.isPending) return <Loading />;
  return (
    <div className="mt-2 flex flex-col gap-2">
      <ErrorNote error={attempts.error} />
      {rows.length === 0 && !attempts.error ? (
        <Empty>No delivery attempts yet.</Empty>
      ) : (
        <Table head={['Time', 'Event', 'Attempt', 'Status', 'Duration', 'Outcome', 'Error / response']}>
          {rows.map((attempt) => (
            <AttemptRow key={attempt.id} attempt={attempt} />
          ))}
        </Table>
      )}
      <div className="flex flex-wrap gap-2">
        {attempts.hasNextPage && (
          <Button onClick={() => void attempts.fetchNextPage()} disabled={attempts.isFetchingNextPage}>
            {attempts.isFetchingNextPage ? 'Loading…' : 'Load older attempts'}
          </Button>
        )}
        <Button onClick={() => void attempts.refetch()} disabled={attempts.isFetching}>
          Refresh
        </Button>
      </div>
    </div>
  );
}

function AttemptRow({ attempt }: { attempt: Attempt }) {
  const detail = attempt.error ?? attempt.response_excerpt;
  return (
    <tr data-testid="attempt-row">
      <td className="whitespace-nowrap px-2 py-2">{formatTime(attempt.attempted_at)}</td>
      <td className="px-2 py-2">
        <Link href={`/events/${encodeURIComponent(attempt.event_id)}`} className="font-mono text-xs text-indigo-700 hover:underline">
          {attempt.event_id}
        </Link>
      </td>
      <td className="px-2 py-2 tabular-nums">#{attempt.attempt}</td>
      <td className="px-2 py-2 tabular-nums">{attempt.status_code ?? '—'}</td>
      <td className="whitespace-nowrap px-2 py-2 tabular-nums">{attempt.duration_ms} ms</td>
      <td className="px-2 py-2">
        <Badge tone={OUTCOME_TONE[attempt.outcome]}>{attempt.outcome}</Badge>
      </td>
      <td className="max-w-xs px-2 py-2 text-xs text-slate-600">
        {detail ? (
          <span className="block truncate font-mono" title={detail}>
            {detail.length > EXCERPT_CHARS ? `${detail.slice(0, EXCERPT_CHARS)}…` : detail}
          </span>
        ) : (
          '—'
        )}
      </td>
    </tr>
  );
}
