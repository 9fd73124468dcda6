import { Router } from '@koa/router';
import type { RouteDeps } from '../deps.ts';
import { forbidden, notFound } from '../errors.ts';
import { createKey, findKey, listKeys, revokeKey, type KeyKind } from '../../keys/queries.ts';
import { requires } from '../middleware/auth.ts';
import { jsonBody } from '../middleware/json-body.ts';
import { validateBody, type Valid } from '../middleware/validate.ts';
import { uuidParam } from '../params.ts';
import { KEY_KINDS } from '../../auth/policy.ts';
import { visibleProject } from '../project-access.ts';
import type { ApiState } from '../state.ts';

const CREATE_KEY = {
  type: 'object',
  additionalProperties: false,
  required: ['kind'],
  properties: {
    kind: { enum: KEY_KINDS },
    name: { type: ['string', 'null'], maxLength: 200 },
  },
} as const;

interface CreateKey {
  kind: KeyKind;
  name?: string | null;
}

/** Keys of one project, managed by its admins or the root key. Clear keys are shown only at creation. */
export function keysRouter({ db, auth }: RouteDeps): Router<ApiState> {
  const router = new Router<ApiState>({ prefix: '/v1/projects/:projectId/keys' });

  router.post<Valid<CreateKey>>('/', requires('keys:manage'), jsonBody, validateBody<CreateKey>(CREATE_KEY), async (ctx) => {
    const project = await visibleProject(db, ctx.state.auth, ctx.params.projectId);
    const { kind, name } = ctx.state.input;
    const key = await createKey(db, project.id, kind, name ?? null);
    ctx.status = 201;
    ctx.body = { id: key.id, kind: key.kind, name: key.name, key: key.key, prefix: key.prefix, created_at: key.created_at };
  });

  router.get('/', requires('keys:manage'), async (ctx) => {
    const project = await visibleProject(db, ctx.state.auth, ctx.params.projectId);
    ctx.body = { data: await listKeys(db, project.id) };
  });

  router.delete('/:keyId', requires('keys:manage'), async (ctx) => {
    const project = await visibleProject(db, ctx.state.auth, ctx.params.projectId);
    const key = await findKey(db, project.id, uuidParam(ctx.params.keyId, 'key'));
    if (!key) throw notFound('key');
    // The root key comes from EVENTFLOW_ADMIN_KEY and is restored at every boot; rotate it there.
    if (key.is_root) throw forbidden('the root key is managed by EVENTFLOW_ADMIN_KEY and cannot be revoked here');
    await revokeKey(db, project.id, key.id);
    // Immediate in this process; other API processes notice within the auth cache TTL.
    auth.forget(key.key_hash);
    ctx.status = 204;
  });

  return router;
}
