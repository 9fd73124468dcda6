import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { Link } from 'wouter';
import { Button, Card, Empty, ErrorNote, Field, Input, Loading, PageTitle, Table } from '../components/ui.tsx';
import { gql } from '../lib/api.ts';
import { formatCount, formatTime, fromLocalInput } from '../lib/format.ts';

interface EventNode {
  id: string;
  type: string;
  userId: string | null;
  anonymousId: string | null;
  timestamp: string;
  receivedAt: string;
}

interface EventPage {
  events: { edges: Array<{ node: EventNode }>; pageInfo: { hasNextPage: boolean; endCursor: string | null }; totalCount: number };
}

interface Filter {
  type?: string;
  userId?: string;
  from?: string;
  to?: string;
}

const EVENTS = `query EventsPage($filter: EventFilter, $first: Int, $after: String) {
  events(filter: $filter, first: $first, after: $after) {
    edges { node { id type userId anonymousId timestamp receivedAt } }
    pageInfo { hasNextPage endCursor }
    totalCount
  }
}`;
const PAGE_SIZE = 50;

export default function EventsPage() {
  const [filter, setFilter] = useState<Filter>({});
  // Cursors of the pages before the current one: "Previous" pops, "Next" pushes (keyset paging has no offsets).
  const [cursors, setCursors] = useState<Array<string | undefined>>([undefined]);
  const after = cursors[cursors.length - 1];
  const page = useQuery({
    queryKey: ['events', filter, after],
    queryFn: () => gql<EventPage>(EVENTS, { filter, first: PAGE_SIZE, after }).then((data) => data.events),
    placeholderData: keepPreviousData,
  });

  function applyFilter(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const text = (name: string) => String(form.get(name) ?? '').trim() || undefined;
    setFilter({ type: text('type'), userId: text('userId'), from: fromLocalInput(String(form.get('from') ?? '')), to: fromLocalInput(String(form.get('to') ?? '')) });
    setCursors([undefined]);
  }

  return (
    <>
      <PageTitle>Events</PageTitle>
      <Card>
        <form onSubmit={applyFilter} className="mb-4 grid grid-cols-1 gap-3 sm:grid-cols-2 lg:grid-cols-5" aria-label="Filter events">
          <Field label="Type">
            <Input name="type" placeholder="e.g. signup" maxLength={128} />
          </Field>
          <Field label="User id">
            <Input name="userId" maxLength={256} />
          </Field>
          <Field label="From">
            <Input name="from" type="datetime-local" step="1" />
          </Field>
          <Field label="To">
            <Input name="to" type="datetime-local" step="1" />
          </Field>
          <div className="flex items-end">
            <Button tone="primary" type="submit" className="w-full">
              Apply
            </Button>
          </div>
        </form>
        <ErrorNote error={page.error} />
        {page.isPending ? (
          <Loading />
        ) : page.data && page.data.edges.length > 0 ? (
          <>
            <p className="mb-2 text-xs text-slate-500">{formatCount(page.data.totalCount)} matching events</p>
            <Table head={['Type', 'User', 'Timestamp', 'Received', 'Id']}>
              {page.data.edges.map(({ node }) => (
                <tr key={node.id} data-testid="event-row">
                  <td className="px-2 py-1.5">
                    <Link href={`/events/${encodeURIComponent(node.id)}`} className="font-medium text-indigo-700 hover:underline">
                      {node.type}
                    </Link>
                  </td>
                  <td className="px-2 py-1.5">{node.userId ?? <span className="text-slate-400">{node.anonymousId ?? '—'}</span>}</td>
                  <td className="px-2 py-1.5 whitespace-nowrap">{formatTime(node.timestamp)}</td>
                  <td className="px-2 py-1.5 whitespace-nowrap">{formatTime(node.receivedAt)}</td>
                  <td className="px-2 py-1.5 font-mono text-xs text-slate-500">{node.id}</td>
                </tr>
              ))}
            </Table>
            <nav aria-label="Pages" className="mt-3 flex justify-between">
              <Button disabled={cursors.length === 1} onClick={() => setCursors(cursors.slice(0, -1))}>
                Previous
              </Button>
              <Button disabled={!page.data.pageInfo.hasNextPage} onClick={() => setCursors([...cursors, page.data.pageInfo.endCursor ?? undefined])}>
                Next
              </Button>
            </nav>
          </>
        ) : (
          <Empty>No events match.</Empty>
        )}
      </Card>
    </>
  );
}
