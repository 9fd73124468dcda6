import { useMemo, useState } from 'react';
import type { WaterfallSpan } from '../../telemetry/trace-query.ts';
import { formatDuration } from '../lib/format.ts';

// The API's answer shape, shared with the server (a type only: nothing of the server is bundled).
export type { WaterfallSpan } from '../../telemetry/trace-query.ts';

const SERVICE_COLOURS = ['bg-indigo-500', 'bg-cyan-600', 'bg-emerald-600', 'bg-amber-500', 'bg-fuchsia-600'];

/** Spans in tree order (parents before children, siblings by start), each with its depth. */
function treeOrder(spans: WaterfallSpan[]): Array<{ span: WaterfallSpan; depth: number }> {
  const ids = new Set(spans.map((span) => span.span_id));
  const children = new Map<string | null, WaterfallSpan[]>();
  for (const span of spans) {
    // A parent Jaeger has not received (a still-running workflow's span) makes its children roots here.
    const parent = span.parent_span_id && ids.has(span.parent_span_id) ? span.parent_span_id : null;
    children.set(parent, [...(children.get(parent) ?? []), span]);
  }
  const ordered: Array<{ span: WaterfallSpan; depth: number }> = [];
  const visit = (parent: string | null, depth: number) => {
    for (const span of (children.get(parent) ?? []).sort((a, b) => a.start_us - b.start_us)) {
      ordered.push({ span, depth });
      visit(span.span_id, depth + 1);
    }
  };
  visit(null, 0);
  return ordered;
}

/** A trace waterfall: one row per span, its bar placed on the trace's time axis; errors in red. */
export function TraceWaterfall({ spans }: { spans: WaterfallSpan[] }) {
  const rows = useMemo(() => treeOrder(spans), [spans]);
  const [open, setOpen] = useState<string>();
  const total = Math.max(1, ...spans.map((span) => span.start_us + span.duration_us));
  const services = [...new Set(spans.map((span) => span.service))];
  const colour = (service: string) => SERVICE_COLOURS[services.indexOf(service) % SERVICE_COLOURS.length];
  return (
    <div data-testid="trace-waterfall">
      <ul className="mb-2 flex flex-wrap gap-3 text-xs" aria-label="Services">
        {services.map((service) => (
          <li key={service} className="flex items-center gap-1">
            <span aria-hidden="true" className={`inline-block h-2 w-3 rounded ${colour(service)}`} /> {service}
          </li>
        ))}
        <li className="flex items-center gap-1">
          <span aria-hidden="true" className="inline-block h-2 w-3 rounded bg-rose-600" /> error
        </li>
        <li className="text-slate-500">total {formatDuration(total / 1000)}</li>
      </ul>
      <ol className="divide-y divide-slate-100 text-xs">
        {rows.map(({ span, depth }) => (
          <li key={span.span_id} data-testid="trace-span" data-error={span.error || undefined}>
            <button
              type="button"
              className="grid w-full grid-cols-[minmax(0,2fr)_minmax(0,3fr)] items-center gap-2 py-1 text-left hover:bg-slate-50 md:grid-cols-[minmax(0,1fr)_minmax(0,2fr)]"
              aria-expanded={open === span.span_id}
              onClick={() => setOpen(open === span.span_id ? undefined : span.span_id)}
            >
              <span className="truncate" style={{ paddingLeft: `${Math.min(depth, 12) * 10}px` }} title={`${span.service}: ${span.name}`}>
                <span className={span.error ? 'font-semibold text-rose-700' : 'text-slate-800'}>{span.name}</span>
                <span className="ml-1 text-slate-400">{span.service}</span>
              </span>
              <span className="relative h-4 rounded bg-slate-100">
                <span
                  className={`absolute top-0 h-4 rounded ${span.error ? 'bg-rose-600' : colour(span.service)}`}
                  style={{ left: `${(span.start_us / total) * 100}%`, width: `max(2px, ${(span.duration_us / total) * 100}%)` }}
                />
                <span className="absolute right-1 top-0 leading-4 text-slate-700">{formatDuration(span.duration_us / 1000)}</span>
              </span>
            </button>
            {open === span.span_id && (
              <dl className="mb-2 grid grid-cols-[max-content_1fr] gap-x-3 gap-y-0.5 rounded bg-slate-50 p-2 font-mono">
                <dt className="text-slate-500">trace</dt>
                <dd className="break-all">{span.trace_id}</dd>
                <dt className="text-slate-500">starts at</dt>
                <dd>+{formatDuration(span.start_us / 1000)}</dd>
                {Object.entries(span.attributes).map(([key, value]) => (
                  <div key={key} className="contents">
                    <dt className="text-slate-500">{key}</dt>
                    <dd className="break-all">{String(value)}</dd>
                  </div>
                ))}
              </dl>
            )}
          </li>
        ))}
      </ol>
    </div>
  );
}
