import { useQuery, useQueryClient } from '@tanstack/react-query';
import { Link } from 'wouter';
import { gql } from '../lib/api.ts';
import { useSubscription } from '../lib/live.ts';
import { useSession } from '../lib/session.tsx';

export const UNREAD_KEY = ['unread-notifications'];

/** The unread count, kept current by the notificationAdded subscription. */
export function NotificationBell() {
  const { project } = useSession();
  const queries = useQueryClient();
  const unread = useQuery({
    queryKey: UNREAD_KEY,
    queryFn: () => gql<{ unreadNotificationCount: number }>('query Unread { unreadNotificationCount }').then((data) => data.unreadNotificationCount),
  });
  useSubscription(
    'subscription Bell { notificationAdded { id } }',
    {},
    () => {
      void queries.invalidateQueries({ queryKey: UNREAD_KEY });
      void queries.invalidateQueries({ queryKey: ['notifications'] });
    },
    project?.id,
  );
  const count = unread.data ?? 0;
  return (
    <Link href="/notifications" className="relative inline-flex items-center rounded-md p-1.5 text-slate-700 hover:bg-slate-100" aria-label={`Notifications, ${count} unread`}>
      <svg aria-hidden="true" viewBox="0 0 24 24" className="h-5 w-5" fill="none" stroke="currentColor" strokeWidth="2">
        <path d="M18 8a6 6 0 10-12 0c0 7-3 9-3 9h18s-3-2-3-9M13.7 21a2 2 0 01-3.4 0" />
      </svg>
      {count > 0 && (
        <span data-testid="unread-count" className="absolute -top-1 -right-1 min-w-5 rounded-full bg-rose-600 px-1 text-center text-xs font-semibold text-white">
          {count > 99 ? '99+' : count}
        </span>
      )}
    </Link>
  );
}
