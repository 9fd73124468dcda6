import { useQueryClient } from '@tanstack/react-query';
import type { ReactNode } from 'react';
import { Link, useLocation } from 'wouter';
import { useSession } from '../lib/session.tsx';
import { NotificationBell } from './notification-bell.tsx';
import { Button, Select } from './ui.tsx';

const NAV: Array<{ href: string; label: string }> = [
  { href: '/', label: 'Overview' },
  { href: '/events', label: 'Events' },
  { href: '/webhooks', label: 'Webhooks' },
  { href: '/dead-letters', label: 'Dead letters' },
  { href: '/schemas', label: 'Schemas' },
  { href: '/keys', label: 'API keys' },
  { href: '/members', label: 'Members' },
  { href: '/rules', label: 'Notification rules' },
];

export function Layout({ children }: { children: ReactNode }) {
  const session = useSession();
  const queries = useQueryClient();
  const [location] = useLocation();
  const current = (href: string) => (href === '/' ? location === '/' : location.startsWith(href));
  return (
    <div className="min-h-screen md:flex">
      <a href="#main" className="sr-only focus:not-sr-only focus:absolute focus:p-2">
        Skip to content
      </a>
      <aside className="border-b border-slate-200 bg-white md:w-56 md:shrink-0 md:border-r md:border-b-0">
        <div className="flex items-center justify-between gap-2 px-4 py-3">
          <span className="text-lg font-bold text-indigo-700">EventFlow</span>
        </div>
        <nav aria-label="Main" className="flex gap-1 overflow-x-auto px-2 pb-2 md:flex-col md:overflow-visible">
          {NAV.map((item) => (
            <Link
              key={item.href}
              href={item.href}
              aria-current={current(item.href) ? 'page' : undefined}
              className={`whitespace-nowrap rounded-md px-3 py-1.5 text-sm ${current(item.href) ? 'bg-indigo-50 font-semibold text-indigo-700' : 'text-slate-700 hover:bg-slate-100'}`}
            >
              {item.label}
            </Link>
          ))}
        </nav>
      </aside>
      <div className="min-w-0 flex-1">
        <header className="flex flex-wrap items-center justify-end gap-3 border-b border-slate-200 bg-white px-4 py-2">
          {session.user && session.user.projects.length > 0 && (
            <label className="flex items-center gap-2 text-sm">
              <span className="text-slate-600">Project</span>
              <Select
                aria-label="Project"
                value={session.project?.id}
                onChange={(event) => {
                  session.selectProject(event.target.value);
                  // Everything cached belongs to the project just left.
                  queries.clear();
                }}
              >
                {session.user.projects.map((project) => (
                  <option key={project.id} value={project.id}>
                    {project.name} ({project.role})
                  </option>
                ))}
              </Select>
            </label>
          )}
          <NotificationBell />
          <span className="text-sm text-slate-600" data-testid="signed-in-as">
            {session.user?.email}
          </span>
          <Button
            onClick={async () => {
              await session.logout();
              queries.clear();
            }}
          >
            Log out
          </Button>
        </header>
        <main id="main" className="mx-auto max-w-6xl p-4">
          {session.project ? children : <p className="text-sm text-slate-600">You are not a member of any project yet: ask an owner to invite you.</p>}
        </main>
      </div>
    </div>
  );
}
