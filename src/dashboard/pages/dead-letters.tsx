import { useInfiniteQuery, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { Link } from 'wouter';
import { Badge, Button, Card, Confirm, Empty, ErrorNote, Field, Input, Loading, PageTitle, Select, Table } from '../components/ui.tsx';
import { gql, rest } from '../lib/api.ts';
import { formatCount, formatTime, fromLocalInput } from '../lib/format.ts';
import { useSession } from '../lib/session.tsx';

// Dead letters: deliveries whose workflow gave up and is parked, waiting for an operator to replay or
// discard it (src/api/routes/dead-letters.ts). The list pages through REST (GraphQL's deadLetters has no
// cursor); the actions are GraphQL, except a replay to another URL, which only REST takes.

interface DeadLetter {
  id: string;
  channel: 'webhook' | 'email' | 'in_app';
  endpoint_id: string | null;
  notification_rule_id: string | null;
  event_id: string;
  event_type: string;
  last_error: string | null;
  updated_at: string;
}

/** The applied filter, in the REST query's names; GraphQL's DeadLetterFilter takes the same in camelCase. */
interface Filter {
  endpoint_id?: string;
  event_type?: string;
  from?: string;
  to?: string;
}

interface EndpointChoice {
  id: string;
  url: string;
  description: string | null;
}

interface BulkReplay {
  matched: number;
  replayed: number;
  remaining: number;
}

const PAGE_SIZE = 50;
const MAX_REASON_LENGTH = 1000;
const MAX_URL_LENGTH = 2048;
const DEAD_LETTERS_KEY = ['dead-letters'];
// A replay or discard is a signal; the parked workflow updates the Postgres mirror this list reads a
// moment later, so the list is read again once that has had time to happen.
const MIRROR_LAG_MS = 1500;

const ENDPOINTS = `query DeadLetterEndpoints { webhooks { id url description } }`;
const REPLAY = `mutation ReplayDeadLetter($id: ID!) { replayDeadLetter(id: $id) { id status } }`;
const DISCARD = `mutation DiscardDeadLetter($id: ID!, $reason: String) { discardDeadLetter(id: $id, reason: $reason) { id status } }`;
const BULK_REPLAY = `mutation ReplayDeadLetters($filter: DeadLetterFilter, $dryRun: Boolean) { replayDeadLetters(filter: $filter, dryRun: $dryRun) { matched replayed remaining } }`;

function listPath(filter: Filter, cursor: string | undefined): string {
  const query = new URLSearchParams({ ...filter, limit: String(PAGE_SIZE), ...(cursor ? { cursor } : {}) });
  return `/v1/dead-letters?${query}`;
}

function graphqlFilter(filter: Filter) {
  return { endpointId: filter.endpoint_id, eventType: filter.event_type, from: filter.from, to: filter.to };
}

export default function DeadLettersPage() {
  const { can } = useSession();
  const act = can('deliveries:act');
  const queries = useQueryClient();
  const [filter, setFilter] = useState<Filter>({});
  const [selected, setSelected] = useState<ReadonlySet<string>>(new Set());

  const endpoints = useQuery({
    queryKey: ['webhooks', 'choices'],
    queryFn: () => gql<{ webhooks: EndpointChoice[] }>(ENDPOINTS).then((data) => data.webhooks),
  });
  const deadLetters = useInfiniteQuery({
    queryKey: [...DEAD_LETTERS_KEY, filter],
    queryFn: ({ pageParam }) => rest<{ data: DeadLetter[]; next_cursor: string | null }>('GET', listPath(filter, pageParam)),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (page) => page.next_cursor ?? undefined,
  });
  const rows = deadLetters.data?.pages.flatMap((page) => page.data) ?? [];
  const urlOf = new Map(endpoints.data?.map((endpoint) => [endpoint.id, endpoint.url]));

  function refreshAfterAction() {
    setSelected(new Set());
    void queries.invalidateQueries({ queryKey: DEAD_LETTERS_KEY });
    setTimeout(() => void queries.invalidateQueries({ queryKey: DEAD_LETTERS_KEY }), MIRROR_LAG_MS);
  }

  function applyFilter(next: Filter) {
    setSelected(new Set());
    setFilter(next);
  }

  return (
    <>
      <PageTitle>Dead letters</PageTitle>
      <div className="flex flex-col gap-4">
        <Card title="Filters">
          <FilterForm endpoints={endpoints.data ?? []} onApply={applyFilter} />
          <div className="mt-2">
            <ErrorNote error={endpoints.error} />
          </div>
        </Card>
        {act && <BulkReplayAll filter={filter} onDone={refreshAfterAction} />}
        <Card title="Parked deliveries">
          <ErrorNote error={deadLetters.error} />
          {act && <SelectionActions ids={[...selected]} onDone={refreshAfterAction} />}
          {deadLetters.isPending ? (
            <Loading />
          ) : rows.length === 0 && !deadLetters.error ? (
            <Empty>No dead letters match.</Empty>
          ) : (
            <DeadLetterTable rows={rows} urlOf={urlOf} act={act} selected={selected} onSelect={setSelected} onReplayed={refreshAfterAction} />
          )}
          <div className="mt-3 flex flex-wrap gap-2">
            {deadLetters.hasNextPage && (
              <Button onClick={() => void deadLetters.fetchNextPage()} disabled={deadLetters.isFetchingNextPage}>
                {deadLetters.isFetchingNextPage ? 'Loading…' : 'Load more'}
              </Button>
            )}
            <Button onClick={() => void deadLetters.refetch()} disabled={deadLetters.isFetching}>
              Refresh
            </Button>
          </div>
        </Card>
      </div>
    </>
  );
}

function FilterForm({ endpoints, onApply }: { endpoints: EndpointChoice[]; onApply(filter: Filter): void }) {
  function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const data = new FormData(event.currentTarget);
    const text = (name: string) => String(data.get(name) ?? '').trim() || undefined;
    const filter: Filter = {
      endpoint_id: text('endpoint'),
      event_type: text('eventType'),
      from: fromLocalInput(String(data.get('from') ?? '')),
      to: fromLocalInput(String(data.get('to') ?? '')),
    };
    onApply(Object.fromEntries(Object.entries(filter).filter(([, value]) => value !== undefined)));
  }
  return (
    <form onSubmit={submit} onReset={() => onApply({})} aria-label="Filter dead letters" className="flex flex-col gap-3">
      <div className="grid gap-3 sm:grid-cols-2 lg:grid-cols-4">
        <Field label="Endpoint">
          <Select name="endpoint" defaultValue="">
            <option value="">All endpoints</option>
            {endpoints.map((endpoint) => (
              <option key={endpoint.id} value={endpoint.id}>
                {endpoint.description ? `${endpoint.description} — ${endpoint.url}` : endpoint.url}
              </option>
            ))}
          </Select>
        </Field>
        <Field label="Event type">
          <Input name="eventType" maxLength={128} placeholder="order.created" />
        </Field>
        <Field label="Parked from">
          <Input name="from" type="datetime-local" />
        </Field>
        <Field label="Parked before">
          <Input name="to" type="datetime-local" />
        </Field>
      </div>
      <div className="flex flex-wrap gap-2">
        <Button tone="primary" type="submit">
          Apply filters
        </Button>
        <Button type="reset">Clear</Button>
      </div>
    </form>
  );
}

/** Runs one action over several dead letters; one refusal (already replayed, say) does not stop the rest. */
async function eachOf(ids: string[], action: (id: string) => Promise<unknown>): Promise<{ done: number; failures: unknown[] }> {
  const results = await Promise.allSettled(ids.map(action));
  const failures = results.flatMap((result) => (result.status === 'rejected' ? [result.reason] : []));
  return { done: ids.length - failures.length, failures };
}

function SelectionActions({ ids, onDone }: { ids: string[]; onDone(): void }) {
  const [discarding, setDiscarding] = useState(false);
  const [reason, setReason] = useState('');
  const replay = useMutation({ mutationFn: () => eachOf(ids, (id) => gql(REPLAY, { id })), onSuccess: onDone });
  const discard = useMutation({
    mutationFn: (why: string) => eachOf(ids, (id) => gql(DISCARD, { id, reason: why || null })),
    onSuccess: onDone,
  });
  const outcome = replay.data ? { verb: 'Replaying', ...replay.data } : discard.data ? { verb: 'Discarding', ...discard.data } : undefined;
  const busy = replay.isPending || discard.isPending;
  return (
    <div className="mb-3 flex flex-col gap-2">
      <div className="flex flex-wrap items-center gap-2">
        <span className="text-sm text-slate-600">{ids.length} selected</span>
        <Button
          tone="primary"
          disabled={ids.length === 0 || busy}
          onClick={() => {
            discard.reset();
            replay.mutate();
          }}
        >
          {replay.isPending ? 'Replaying…' : 'Replay selected'}
        </Button>
        <Button tone="danger" disabled={ids.length === 0 || busy} onClick={() => setDiscarding(true)}>
          {discard.isPending ? 'Discarding…' : 'Discard selected'}
        </Button>
      </div>
      {outcome && (
        <p role="status" className="text-sm text-slate-700">
          {outcome.verb} {formatCount(outcome.done)} {outcome.done === 1 ? 'delivery' : 'deliveries'}
          {outcome.failures.length > 0 && `; ${formatCount(outcome.failures.length)} refused`}.
        </p>
      )}
      <ErrorNote error={replay.error ?? discard.error ?? outcome?.failures[0]} />
      <Confirm
        open={discarding}
        title={`Discard ${ids.length} dead ${ids.length === 1 ? 'letter' : 'letters'}?`}
        confirmLabel="Discard"
        tone="danger"
        onCancel={() => setDiscarding(false)}
        onConfirm={() => {
          setDiscarding(false);
          replay.reset();
          discard.mutate(reason.trim(), { onSuccess: () => setReason('') });
        }}
      >
        <p className="mb-3">Their events will not be delivered to these targets. This cannot be undone.</p>
        <Field label="Reason (optional)">
          <Input value={reason} maxLength={MAX_REASON_LENGTH} onChange={(event) => setReason(event.target.value)} placeholder="Receiver retired" />
        </Field>
      </Confirm>
    </div>
  );
}

function BulkReplayAll({ filter, onDone }: { filter: Filter; onDone(): void }) {
  const [matched, setMatched] = useState<number>();
  const variables = { filter: graphqlFilter(filter) };
  // The dry run only counts; nothing is replayed until the count has been confirmed.
  const count = useMutation({
    mutationFn: () => gql<{ replayDeadLetters: BulkReplay }>(BULK_REPLAY, { ...variables, dryRun: true }).then((data) => data.replayDeadLetters.matched),
    onSuccess: setMatched,
  });
  const replay = useMutation({
    mutationFn: () => gql<{ replayDeadLetters: BulkReplay }>(BULK_REPLAY, { ...variables, dryRun: false }).then((data) => data.replayDeadLetters),
    onSuccess: onDone,
  });
  const done = replay.data;
  return (
    <Card title="Replay all matching">
      <div className="flex flex-wrap items-center gap-2">
        <Button
          tone="primary"
          disabled={count.isPending || replay.isPending}
          onClick={() => {
            replay.reset();
            count.mutate();
          }}
        >
          {count.isPending ? 'Counting…' : replay.isPending ? 'Replaying…' : 'Replay all matching'}
        </Button>
        <span className="text-xs text-slate-500">Every dead letter matching the filters above, not only the ones shown.</span>
      </div>
      {count.data === 0 && !count.isPending && (
        <p role="status" className="mt-2 text-sm text-slate-700">
          No dead letters match these filters.
        </p>
      )}
      {done && (
        <p role="status" className="mt-2 text-sm text-slate-700">
          Replayed {formatCount(done.replayed)} of {formatCount(done.matched)}; {formatCount(done.remaining)} remaining
          {done.remaining > 0 && ' (one run replays at most 1,000: run it again for the rest)'}.
        </p>
      )}
      <div className="mt-2">
        <ErrorNote error={count.error ?? replay.error} />
      </div>
      <Confirm
        open={matched !== undefined && matched > 0}
        title="Replay all matching dead letters?"
        confirmLabel="Replay all"
        onCancel={() => setMatched(undefined)}
        onConfirm={() => {
          setMatched(undefined);
          replay.mutate();
        }}
      >
        {/* Rendered only with a count, so a closed dialog never shows a stale or placeholder number. */}
        {matched !== undefined && (
          <p>
            <span data-testid="bulk-replay-count" className="font-semibold">
              {formatCount(matched)}
            </span>{' '}
            {matched === 1 ? 'dead letter matches' : 'dead letters match'} the filters. Each is sent again on its retry schedule.
          </p>
        )}
      </Confirm>
    </Card>
  );
}

function targetOf(row: DeadLetter, urlOf: Map<string, string>): string {
  if (row.endpoint_id) return urlOf.get(row.endpoint_id) ?? row.endpoint_id;
  if (row.notification_rule_id) return `rule ${row.notification_rule_id}`;
  return row.channel;
}

function DeadLetterTable({ rows, urlOf, act, selected, onSelect, onReplayed }: {
  rows: DeadLetter[];
  urlOf: Map<string, string>;
  act: boolean;
  selected: ReadonlySet<string>;
  onSelect(ids: ReadonlySet<string>): void;
  onReplayed(): void;
}) {
  const [redirecting, setRedirecting] = useState<DeadLetter>();
  const allSelected = rows.length > 0 && rows.every((row) => selected.has(row.id));
  function toggle(id: string, on: boolean) {
    const next = new Set(selected);
    if (on) next.add(id);
    else next.delete(id);
    onSelect(next);
  }
  const head = [
    ...(act
      ? [<input key="all" type="checkbox" aria-label="Select all dead letters shown" checked={allSelected} onChange={(event) => onSelect(new Set(event.target.checked ? rows.map((row) => row.id) : []))} />]
      : []),
    'Event',
    'Event type',
    'Target',
    'Last error',
    'Parked',
    ...(act ? [<span key="actions" className="sr-only">Actions</span>] : []),
  ];
  return (
    <>
      <Table head={head}>
        {rows.map((row) => (
          <tr key={row.id} data-testid="dead-letter-row">
            {act && (
              <td className="px-2 py-2">
                <input type="checkbox" aria-label={`Select dead letter of event ${row.event_id}`} checked={selected.has(row.id)} onChange={(event) => toggle(row.id, event.target.checked)} />
              </td>
            )}
            <td className="px-2 py-2">
              <Link href={`/events/${encodeURIComponent(row.event_id)}`} className="font-mono text-xs text-indigo-700 hover:underline">
                {row.event_id}
              </Link>
            </td>
            <td className="px-2 py-2">{row.event_type}</td>
            <td className="px-2 py-2">
              <span className="flex items-center gap-1.5">
                <Badge>{row.channel}</Badge>
                <span className="max-w-56 truncate font-mono text-xs" title={targetOf(row, urlOf)}>
                  {targetOf(row, urlOf)}
                </span>
              </span>
            </td>
            <td className="max-w-xs px-2 py-2 text-xs text-rose-800">
              <span className="block truncate" title={row.last_error ?? undefined}>
                {row.last_error ?? '—'}
              </span>
            </td>
            <td className="whitespace-nowrap px-2 py-2">{formatTime(row.updated_at)}</td>
            {act && (
              <td className="px-2 py-2 text-right">
                {row.channel === 'webhook' && (
                  <Button onClick={() => setRedirecting(row)} aria-label={`Replay event ${row.event_id} to a new URL`} className="whitespace-nowrap">
                    Replay to URL…
                  </Button>
                )}
              </td>
            )}
          </tr>
        ))}
      </Table>
      {redirecting && <ReplayToUrl key={redirecting.id} deadLetter={redirecting} currentUrl={redirecting.endpoint_id ? urlOf.get(redirecting.endpoint_id) : undefined} onClose={() => setRedirecting(undefined)} onReplayed={onReplayed} />}
    </>
  );
}

/** One dead letter replayed to another URL (a receiver that moved): REST's replay takes a `url` override. */
function ReplayToUrl({ deadLetter, currentUrl, onClose, onReplayed }: { deadLetter: DeadLetter; currentUrl: string | undefined; onClose(): void; onReplayed(): void }) {
  const [url, setUrl] = useState(currentUrl ?? '');
  const replay = useMutation({
    mutationFn: () => rest('POST', `/v1/dead-letters/${encodeURIComponent(deadLetter.id)}/replay`, { url: url.trim() }),
    onSuccess: () => {
      onClose();
      onReplayed();
    },
  });
  return (
    <Confirm open title={`Replay event ${deadLetter.event_id} to a new URL`} confirmLabel={replay.isPending ? 'Replaying…' : 'Replay'} onCancel={onClose} onConfirm={() => replay.mutate()}>
      <div className="flex flex-col gap-3">
        <p>This delivery only is sent to the URL below; the endpoint keeps its own URL.</p>
        <Field label="New URL">
          <Input type="url" required maxLength={MAX_URL_LENGTH} value={url} onChange={(event) => setUrl(event.target.value)} placeholder="https://example.com/webhooks/eventflow" />
        </Field>
        <ErrorNote error={replay.error} />
      </div>
    </Confirm>
  );
}
