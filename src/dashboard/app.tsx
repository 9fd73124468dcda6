import { lazy, Suspense } from 'react';
import { Redirect, Route, Router, Switch } from 'wouter';
import { Layout } from './components/layout.tsx';
import { Loading } from './components/ui.tsx';
import { useSession } from './lib/session.tsx';
import { LoginPage } from './pages/login.tsx';
import { OverviewPage } from './pages/overview.tsx';

// The overview is the landing page and ships in the first bundle; every other page loads on first visit.
const EventsPage = lazy(() => import('./pages/events.tsx'));
const EventTimelinePage = lazy(() => import('./pages/event-timeline.tsx'));
const WebhooksPage = lazy(() => import('./pages/webhooks.tsx'));
const DeadLettersPage = lazy(() => import('./pages/dead-letters.tsx'));
const SchemasPage = lazy(() => import('./pages/schemas.tsx'));
const ApiKeysPage = lazy(() => import('./pages/api-keys.tsx'));
const MembersPage = lazy(() => import('./pages/members.tsx'));
const NotificationRulesPage = lazy(() => import('./pages/notification-rules.tsx'));
const NotificationsPage = lazy(() => import('./pages/notifications.tsx'));

export const BASE = '/dashboard';

export function App() {
  const session = useSession();
  if (session.status === 'loading') return <Loading />;
  return (
    <Router base={BASE}>
      {session.status === 'signed-out' ? (
        <Switch>
          <Route path="/login" component={LoginPage} />
          <Route>
            <Redirect to="/login" replace />
          </Route>
        </Switch>
      ) : (
        <Layout>
          <Suspense fallback={<Loading />}>
            <Switch>
              <Route path="/" component={OverviewPage} />
              <Route path="/login">
                <Redirect to="/" replace />
              </Route>
              <Route path="/events" component={EventsPage} />
              <Route path="/events/:id" component={EventTimelinePage} />
              <Route path="/webhooks" component={WebhooksPage} />
              <Route path="/dead-letters" component={DeadLettersPage} />
              <Route path="/schemas" component={SchemasPage} />
              <Route path="/keys" component={ApiKeysPage} />
              <Route path="/members" component={MembersPage} />
              <Route path="/rules" component={NotificationRulesPage} />
              <Route path="/notifications" component={NotificationsPage} />
              <Route>
                <p className="text-sm text-slate-600">No such page.</p>
              </Route>
            </Switch>
          </Suspense>
        </Layout>
      )}
    </Router>
  );
}
