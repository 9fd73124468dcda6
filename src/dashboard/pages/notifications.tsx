import { useInfiniteQuery, useMutation, useQueryClient } from '@tanstack/react-query';
import { Link } from 'wouter';
import { UNREAD_KEY } from '../components/notification-bell.tsx';
import { Badge, Button, Empty, ErrorNote, Loading, PageTitle } from '../components/ui.tsx';
import { gql, rest } from '../lib/api.ts';
import { formatTime } from '../lib/format.ts';

// The signed-in user's in-app notifications in this project, unread first, newest first. The list comes
// from REST because it pages by cursor (GraphQL's `notifications` has no cursor); marking read is GraphQL.

interface Notification {
  id: string;
  rule_id: string;
  event_id: string;
  event_type: string;
  title: string;
  body: string;
  created_at: string;
  read_at: string | null;
}

interface InboxPage {
  data: Notification[];
  next_cursor: string | null;
  unread_count: number;
}

// The bell invalidates exactly this key when a notification arrives live.
const NOTIFICATIONS_KEY = ['notifications'];
const PAGE_SIZE = 50;
const MARK_READ = 'mutation MarkNotificationsRead($ids: [ID!], $all: Boolean) { markNotificationsRead(ids: $ids, all: $all) }';

function inboxPage(cursor: string | undefined): Promise<InboxPage> {
  const query = new URLSearchParams({ limit: String(PAGE_SIZE), ...(cursor ? { cursor } : {}) });
  return rest<InboxPage>('GET', `/v1/notifications?${query}`);
}

export default function NotificationsPage() {
  const queries = useQueryClient();
  const inbox = useInfiniteQuery({
    queryKey: NOTIFICATIONS_KEY,
    queryFn: ({ pageParam }) => inboxPage(pageParam),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (last) => last.next_cursor ?? undefined,
  });
  const markRead = useMutation({
    mutationFn: (which: { ids: string[] } | { all: true }) => gql<{ markNotificationsRead: number }>(MARK_READ, which),
    onSuccess: () => Promise.all([queries.invalidateQueries({ queryKey: UNREAD_KEY }), queries.invalidateQueries({ queryKey: NOTIFICATIONS_KEY })]),
  });

  const notifications = inbox.data?.pages.flatMap((page) => page.data) ?? [];
  // Every page answers the count at its own time; the latest page's is the freshest.
  const unread = inbox.data?.pages.at(-1)?.unread_count ?? 0;
  const markOne = (notification: Notification) => {
    if (!notification.read_at) markRead.mutate({ ids: [notification.id] });
  };

  return (
    <>
      <PageTitle
        actions={
          <Button onClick={() => markRead.mutate({ all: true })} disabled={unread === 0 || markRead.isPending}>
            Mark all read
          </Button>
        }
      >
        Notifications
        {unread > 0 && <span className="ml-2 text-sm font-normal text-slate-500">{unread} unread</span>}
      </PageTitle>
      <div className="flex flex-col gap-3">
        <ErrorNote error={inbox.error} />
        <ErrorNote error={markRead.error} />
        {inbox.isPending ? (
          <Loading />
        ) : notifications.length === 0 ? (
          <Empty>No notifications. Notification rules with the in-app channel send them here.</Empty>
        ) : (
          <ul className="flex flex-col gap-2" aria-label="Notifications">
            {notifications.map((notification) => {
              const unreadItem = !notification.read_at;
              return (
                <li
                  key={notification.id}
                  data-testid="notification-item"
                  data-unread={unreadItem || undefined}
                  className={`rounded-lg p-3 shadow-sm ring-1 ${unreadItem ? 'border-l-4 border-indigo-500 bg-indigo-50 ring-indigo-200' : 'bg-white ring-slate-200'}`}
                >
                  <div className="flex flex-wrap items-start justify-between gap-2">
                    <h2 className={`min-w-0 text-sm break-words ${unreadItem ? 'font-semibold text-slate-900' : 'font-medium text-slate-700'}`}>
                      {unreadItem && <span className="sr-only">Unread: </span>}
                      {notification.title}
                    </h2>
                    <time dateTime={notification.created_at} className="text-xs whitespace-nowrap text-slate-500">
                      {formatTime(notification.created_at)}
                    </time>
                  </div>
                  {notification.body && <p className="mt-1 text-sm break-words whitespace-pre-line text-slate-700">{notification.body}</p>}
                  <div className="mt-2 flex flex-wrap items-center gap-2 text-sm">
                    <Badge tone="indigo">{notification.event_type}</Badge>
                    <Link
                      href={`/events/${encodeURIComponent(notification.event_id)}`}
                      onClick={() => markOne(notification)}
                      aria-label={`View the ${notification.event_type} event`}
                      className="text-indigo-700 hover:underline"
                    >
                      View event
                    </Link>
                    {unreadItem && (
                      <Button className="ml-auto" onClick={() => markOne(notification)} disabled={markRead.isPending} aria-label={`Mark “${notification.title}” read`}>
                        Mark read
                      </Button>
                    )}
                  </div>
                </li>
              );
            })}
          </ul>
        )}
        {inbox.hasNextPage && (
          <div className="flex justify-center">
            <Button onClick={() => inbox.fetchNextPage()} disabled={inbox.isFetchingNextPage}>
              {inbox.isFetchingNextPage ? 'Loading…' : 'Show more'}
            </Button>
          </div>
        )}
      </div>
    </>
  );
}
