import { useQuery } from '@tanstack/react-query';
import { Link, useParams } from 'wouter';
import { TraceWaterfall, type WaterfallSpan } from '../components/trace-waterfall.tsx';
import { Badge, Card, ErrorNote, Loading, PageTitle } from '../components/ui.tsx';
import { ApiError, rest } from '../lib/api.ts';
import { formatDuration, formatTime } from '../lib/format.ts';

interface Stage {
  kind: string;
  at: string | null;
  outcome: 'ok' | 'failed' | 'pending';
  summary: string;
  detail: Record<string, unknown>;
}

interface Timeline {
  event_id: string;
  type: string;
  status: 'stored' | 'rejected';
  event: { properties: unknown; context: unknown; enrichment: unknown; user_id: string | null; timestamp: string } | null;
  batch: { id: string; workflow_id: string } | null;
  deliveries: Array<{ delivery_id: string; channel: string; target: string | null; status: string; workflow_id: string }>;
  stages: Stage[];
  trace_ids: string[];
  links: { batch: string | null; deliveries: Record<string, string> };
}

interface Waterfall {
  trace_ids: string[];
  missing: string[];
  spans: WaterfallSpan[];
}

const OUTCOME_TONE = { ok: 'green', failed: 'red', pending: 'amber' } as const;
// Spans arrive in Jaeger a few seconds after the work (batched export), and a parked delivery's spans later.
const TRACE_REFRESH_MS = 3_000;

export default function EventTimelinePage() {
  const { id } = useParams<{ id: string }>();
  const eventId = decodeURIComponent(id);
  const path = `/v1/events/${encodeURIComponent(eventId)}`;
  const timeline = useQuery({ queryKey: ['timeline', eventId], queryFn: () => rest<Timeline>('GET', `${path}/timeline`), refetchInterval: 5_000 });
  const trace = useQuery({
    queryKey: ['trace', eventId],
    queryFn: () => rest<Waterfall>('GET', `${path}/trace`),
    enabled: Boolean(timeline.data?.trace_ids.length),
    refetchInterval: (query) => (query.state.data && query.state.data.missing.length === 0 ? false : TRACE_REFRESH_MS),
  });

  if (timeline.isPending) return <Loading />;
  if (timeline.error) return <ErrorNote error={timeline.error} />;
  const data = timeline.data;
  return (
    <>
      <PageTitle actions={<Link href="/events" className="text-sm text-indigo-700 hover:underline">All events</Link>}>
        <span className="break-all">{data.type}</span> <Badge tone={data.status === 'stored' ? 'green' : 'red'}>{data.status}</Badge>
      </PageTitle>
      <p className="mb-4 font-mono text-xs break-all text-slate-500">{data.event_id}</p>
      <div className="grid gap-4 lg:grid-cols-2">
        <Card title="Timeline">
          <ol className="relative border-l border-slate-200 pl-4" data-testid="timeline">
            {data.stages.map((stage, index) => (
              <li key={index} className="mb-3" data-testid="timeline-stage" data-kind={stage.kind}>
                <span aria-hidden="true" className={`absolute -left-1.5 mt-1.5 h-3 w-3 rounded-full ${stage.outcome === 'ok' ? 'bg-emerald-500' : stage.outcome === 'failed' ? 'bg-rose-500' : 'bg-amber-400'}`} />
                <p className="text-sm">
                  <Badge tone={OUTCOME_TONE[stage.outcome]}>{stage.kind.replace('_', ' ')}</Badge> <span className="ml-1">{stage.summary}</span>
                </p>
                <p className="text-xs text-slate-500">{stage.at ? formatTime(stage.at) : 'within the batch'}</p>
                <StageDetail stage={stage} />
              </li>
            ))}
          </ol>
        </Card>
        <div className="flex flex-col gap-4">
          <Card title="Runs in Temporal">
            <ul className="text-sm">
              <li>
                Batch {data.batch ? <RunLink href={data.links.batch} label={data.batch.workflow_id} /> : '—'}
              </li>
              {data.deliveries.map((delivery) => (
                <li key={delivery.delivery_id}>
                  {delivery.channel} to {delivery.target ?? 'a removed target'} ({delivery.status}) <RunLink href={data.links.deliveries[delivery.delivery_id] ?? null} label={delivery.workflow_id} />
                </li>
              ))}
            </ul>
          </Card>
          {data.event && (
            <Card title="Event">
              <pre className="max-h-80 overflow-auto rounded bg-slate-50 p-2 text-xs">{JSON.stringify({ user_id: data.event.user_id, timestamp: data.event.timestamp, properties: data.event.properties, context: data.event.context, enrichment: data.event.enrichment }, null, 2)}</pre>
            </Card>
          )}
        </div>
      </div>
      <Card title="Trace" className="mt-4">
        {data.trace_ids.length === 0 ? (
          <p className="text-sm text-slate-500">This event was accepted while tracing was off.</p>
        ) : trace.error ? (
          trace.error instanceof ApiError && trace.error.code === 'tracing_unavailable' ? <p className="text-sm text-slate-500">{trace.error.message}</p> : <ErrorNote error={trace.error} />
        ) : !trace.data ? (
          <Loading />
        ) : (
          <>
            {trace.data.missing.length > 0 && <p className="mb-2 text-xs text-slate-500">Waiting for {trace.data.missing.length} trace(s) to reach the trace store…</p>}
            <TraceWaterfall spans={trace.data.spans} />
          </>
        )}
      </Card>
    </>
  );
}

function RunLink({ href, label }: { href: string | null; label: string }) {
  if (!href) return <code className="font-mono text-xs">{label}</code>;
  return (
    <a href={href} target="_blank" rel="noreferrer" className="font-mono text-xs text-indigo-700 hover:underline">
      {label} ↗
    </a>
  );
}

function StageDetail({ stage }: { stage: Stage }) {
  const detail = stage.detail;
  if (stage.kind === 'rejected') {
    const reasons = Array.isArray(detail.reasons) ? (detail.reasons as unknown[]) : [];
    return (
      <ul className="mt-1 list-disc pl-5 text-xs text-rose-800">
        {reasons.map((reason, index) => (
          <li key={index}>{typeof reason === 'string' ? reason : JSON.stringify(reason)}</li>
        ))}
      </ul>
    );
  }
  if (stage.kind === 'attempt') {
    return (
      <p className="mt-1 text-xs text-slate-600" data-testid="timeline-attempt">
        {String(detail.target ?? detail.target_id)} · {detail.status_code ? `HTTP ${String(detail.status_code)}` : 'no response'} · {formatDuration(Number(detail.duration_ms))}
        {detail.error ? <span className="block text-rose-700">{String(detail.error)}</span> : null}
        {detail.response_excerpt ? <code className="block truncate font-mono text-slate-500">{String(detail.response_excerpt)}</code> : null}
      </p>
    );
  }
  if (stage.kind === 'received' && detail.sent_at) {
    return <p className="text-xs text-slate-500">sent at {formatTime(String(detail.sent_at))}</p>;
  }
  return null;
}
