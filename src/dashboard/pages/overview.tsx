import { useQuery, useQueryClient } from '@tanstack/react-query';
import { Link } from 'wouter';
import { BarChart, DoughnutChart } from '../components/charts.tsx';
import { Card, Empty, ErrorNote, Loading, PageTitle } from '../components/ui.tsx';
import { gql } from '../lib/api.ts';
import { formatCount, formatTime } from '../lib/format.ts';
import { useSubscription } from '../lib/live.ts';
import { useSession } from '../lib/session.tsx';

interface Stats {
  totalEvents: number;
  eventsToday: number;
  eventsThisWeek: number;
  uniqueUsers: number;
  topEvents: Array<{ type: string; count: number }>;
  eventsByType: Array<{ type: string; count: number }>;
  hourly: Array<{ hour: string; count: number }>;
}

interface RecentEvent {
  id: string;
  type: string;
  userId: string | null;
  receivedAt: string;
}

const STATS = `query OverviewStats { eventStats { totalEvents eventsToday eventsThisWeek uniqueUsers topEvents { type count } eventsByType { type count } hourly { hour count } } }`;
const RECENT = `query RecentEvents { events(first: 15) { edges { node { id type userId receivedAt } } } }`;
const FEED_LENGTH = 15;
const hourLabel = new Intl.DateTimeFormat('en', { hour: '2-digit', minute: '2-digit' });

export function OverviewPage() {
  const { project } = useSession();
  const queries = useQueryClient();
  const stats = useQuery({ queryKey: ['stats'], queryFn: () => gql<{ eventStats: Stats }>(STATS).then((data) => data.eventStats) });
  const recent = useQuery({
    queryKey: ['recent-events'],
    queryFn: () => gql<{ events: { edges: Array<{ node: RecentEvent }> } }>(RECENT).then((data) => data.events.edges.map((edge) => edge.node)),
  });
  // Each commit that stored events refreshes the feed and the numbers; a burst of commits while a
  // refetch is running is folded into it by the query cache.
  useSubscription(
    'subscription LiveEvents { eventsStored { stored } }',
    {},
    () => {
      void queries.invalidateQueries({ queryKey: ['recent-events'] });
      void queries.invalidateQueries({ queryKey: ['stats'] });
    },
    project?.id,
  );

  const data = stats.data;
  return (
    <>
      <PageTitle>Overview</PageTitle>
      <ErrorNote error={stats.error} />
      <div className="grid grid-cols-2 gap-3 lg:grid-cols-4">
        <StatCard label="Total events" value={data?.totalEvents} />
        <StatCard label="Today" value={data?.eventsToday} />
        <StatCard label="This week" value={data?.eventsThisWeek} />
        <StatCard label="Unique users" value={data?.uniqueUsers} />
      </div>
      <div className="mt-4 grid gap-4 lg:grid-cols-3">
        <Card title="Events per hour, last 24 h" className="lg:col-span-2">
          {data ? <BarChart label="Events per hour over the last 24 hours" labels={data.hourly.map((bucket) => hourLabel.format(new Date(bucket.hour)))} values={data.hourly.map((bucket) => bucket.count)} /> : <Loading />}
        </Card>
        <Card title="Live activity">
          <LiveFeed events={recent.data} error={recent.error} />
        </Card>
        <Card title="Top events" className="lg:col-span-2">
          {data ? (
            data.topEvents.length ? (
              <BarChart horizontal label="Most frequent event types" labels={data.topEvents.map((row) => row.type)} values={data.topEvents.map((row) => row.count)} />
            ) : (
              <Empty>No events yet.</Empty>
            )
          ) : (
            <Loading />
          )}
        </Card>
        <Card title="Events by type">
          {data ? (
            data.eventsByType.length ? (
              <DoughnutChart label="Share of events by type" labels={data.eventsByType.map((row) => row.type)} values={data.eventsByType.map((row) => row.count)} />
            ) : (
              <Empty>No events yet.</Empty>
            )
          ) : (
            <Loading />
          )}
        </Card>
      </div>
    </>
  );
}

function StatCard({ label, value }: { label: string; value: number | undefined }) {
  return (
    <div className="rounded-lg bg-white p-4 shadow-sm ring-1 ring-slate-200">
      <p className="text-xs font-medium uppercase text-slate-500">{label}</p>
      <p className="mt-1 text-2xl font-semibold tabular-nums" data-testid={`stat-${label.toLowerCase().replaceAll(' ', '-')}`}>
        {value === undefined ? '…' : formatCount(value)}
      </p>
    </div>
  );
}

function LiveFeed({ events, error }: { events: RecentEvent[] | undefined; error: unknown }) {
  if (error) return <ErrorNote error={error} />;
  if (!events) return <Loading />;
  if (events.length === 0) return <Empty>Waiting for the first event…</Empty>;
  return (
    <ol aria-live="polite" aria-label="Recently stored events" className="divide-y divide-slate-100 text-sm" data-testid="live-feed">
      {events.slice(0, FEED_LENGTH).map((event) => (
        <li key={event.id} className="flex items-center justify-between gap-2 py-1.5">
          <Link href={`/events/${encodeURIComponent(event.id)}`} className="truncate font-medium text-indigo-700 hover:underline">
            {event.type}
          </Link>
          <span className="truncate text-xs text-slate-500">
            {event.userId ?? 'anonymous'} · {formatTime(event.receivedAt)}
          </span>
        </li>
      ))}
    </ol>
  );
}
