import { Router } from '@koa/router';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Middleware } from 'koa';
import serve from 'koa-static';
import type { RouteDeps } from '../deps.ts';
import { ApiError } from '../errors.ts';
import type { ApiState } from '../state.ts';

// The web dashboard (src/dashboard, built by Vite) served by the API itself, so the stack needs nothing
// else to show it. Assets carry content hashes in their names and are cached for a year; index.html is
// revalidated every time so a deploy is picked up at the next load. Every answer carries a strict CSP:
// the app loads only its own scripts and styles and talks only to this origin.

export const DASHBOARD_PATH = '/dashboard';
const ONE_YEAR_SECONDS = 365 * 24 * 3600;
const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "font-src 'self'",
  "object-src 'none'",
  "base-uri 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

export function dashboardRouter({ config }: RouteDeps): Router<ApiState> {
  const router = new Router<ApiState>();
  const dir = config.dashboard.dir;
  const assets = serve(dir, {
    index: false,
    gzip: false,
    brotli: false,
    setHeaders: (res, path) => {
      res.setHeader('Cache-Control', path.includes(`${join(dir, 'assets')}`) ? `public, max-age=${ONE_YEAR_SECONDS}, immutable` : 'no-cache');
    },
  });

  // What the app needs to know before anyone signs in; nothing secret.
  router.get('/v1/dashboard/config', (ctx) => {
    ctx.set('Cache-Control', 'no-cache');
    ctx.body = { tracing: Boolean(config.otlpEndpoint), signup: config.auth.signup };
  });

  router.get('/', (ctx) => ctx.redirect(`${DASHBOARD_PATH}/`));

  const securityHeaders: Middleware<ApiState> = async (ctx, next) => {
    ctx.set({
      'Content-Security-Policy': CONTENT_SECURITY_POLICY,
      'X-Content-Type-Options': 'nosniff',
      'Referrer-Policy': 'same-origin',
      'X-Frame-Options': 'DENY',
    });
    if (!existsSync(join(dir, 'index.html'))) {
      throw new ApiError(503, 'dashboard_not_built', 'the dashboard is not built: run `npm run build:dashboard` (the dev stack builds it when missing)');
    }
    await next();
  };

  // Files under the dashboard path; any other path there is a page of the app (client-side routing).
  router.get(`${DASHBOARD_PATH}{/*path}`, securityHeaders, async (ctx, next) => {
    // The app's relative asset URLs need the trailing slash.
    if (ctx.path === DASHBOARD_PATH) return ctx.redirect(`${DASHBOARD_PATH}/`);
    const path = ctx.path.slice(DASHBOARD_PATH.length);
    const original = ctx.path;
    ctx.path = path === '/' || !/\.[a-z0-9]+$/i.test(path) ? '/index.html' : path;
    await assets(ctx, next);
    ctx.path = original;
    // A missing hashed file is a 404, not the app (a stale page asking for an old asset).
    if (ctx.body == null && ctx.status === 404) throw new ApiError(404, 'not_found', `no dashboard file ${path}`);
  });
  return router;
}
