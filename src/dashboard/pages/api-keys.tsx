import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { Badge, Button, Card, Confirm, CopyButton, Empty, ErrorNote, Field, Input, Loading, PageTitle, Select, Table } from '../components/ui.tsx';
import { rest } from '../lib/api.ts';
import { formatTime } from '../lib/format.ts';
import { useSession } from '../lib/session.tsx';

// A project's API keys (src/api/routes/keys.ts). The API keeps only a hash of each key, so the clear key
// is in the create answer and nowhere else: this page shows it once and then forgets it.

type KeyKind = 'admin' | 'write' | 'read';

interface ApiKey {
  id: string;
  kind: KeyKind;
  name: string | null;
  prefix: string;
  is_root: boolean;
  created_at: string;
  revoked_at: string | null;
}

interface CreatedKey {
  id: string;
  kind: KeyKind;
  name: string | null;
  key: string;
  prefix: string;
  created_at: string;
}

// What each kind may do, from KEY_GRANTS in src/auth/policy.ts.
const KINDS: Array<{ kind: KeyKind; label: string }> = [
  { kind: 'write', label: 'write — sends events only' },
  { kind: 'read', label: 'read — reads the project, changes nothing' },
  { kind: 'admin', label: 'admin — acts as a project admin' },
];
const KIND_TONE = { admin: 'amber', write: 'indigo', read: 'slate' } as const;
const MAX_NAME_LENGTH = 200;

export default function ApiKeysPage() {
  const { can, project } = useSession();
  return (
    <>
      <PageTitle>API keys</PageTitle>
      {project && can('keys:manage') ? (
        <ManageKeys projectId={project.id} />
      ) : (
        <Card>
          <p className="text-sm text-slate-600">Only project admins and owners manage API keys.</p>
        </Card>
      )}
    </>
  );
}

function ManageKeys({ projectId }: { projectId: string }) {
  const queries = useQueryClient();
  const path = `/v1/projects/${encodeURIComponent(projectId)}/keys`;
  const queryKey = ['api-keys', projectId];
  const keys = useQuery({ queryKey, queryFn: () => rest<{ data: ApiKey[] }>('GET', path).then((answer) => answer.data) });
  const [created, setCreated] = useState<CreatedKey>();
  const [revoking, setRevoking] = useState<ApiKey>();

  const create = useMutation({
    mutationFn: (input: { name: string | null; kind: KeyKind }) => rest<CreatedKey>('POST', path, input),
    onSuccess: (key) => {
      setCreated(key);
      return queries.invalidateQueries({ queryKey });
    },
  });
  const revoke = useMutation({
    mutationFn: (id: string) => rest<void>('DELETE', `${path}/${encodeURIComponent(id)}`),
    onSuccess: () => queries.invalidateQueries({ queryKey }),
  });

  function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = event.currentTarget;
    const data = new FormData(form);
    const name = String(data.get('name')).trim();
    create.mutate({ name: name || null, kind: String(data.get('kind')) as KeyKind }, { onSuccess: () => form.reset() });
  }

  return (
    <div className="flex flex-col gap-4">
      <Card title="Create a key">
        <form onSubmit={submit} aria-label="Create an API key" className="flex flex-wrap items-end gap-3">
          <Field label="Name">
            <Input name="name" maxLength={MAX_NAME_LENGTH} placeholder="Production ingest" />
          </Field>
          <Field label="Kind">
            <Select name="kind" defaultValue="write">
              {KINDS.map(({ kind, label }) => (
                <option key={kind} value={kind}>
                  {label}
                </option>
              ))}
            </Select>
          </Field>
          <Button tone="primary" type="submit" disabled={create.isPending}>
            {create.isPending ? 'Creating…' : 'Create key'}
          </Button>
        </form>
        <div className="mt-3">
          <ErrorNote error={create.error} />
        </div>
      </Card>

      {created && <NewKey created={created} onDone={() => setCreated(undefined)} />}

      <Card title="Keys">
        <ErrorNote error={keys.error ?? revoke.error} />
        {keys.isPending ? (
          <Loading />
        ) : keys.data?.length === 0 ? (
          <Empty>No keys yet.</Empty>
        ) : (
          <Table head={['Name', 'Kind', 'Prefix', 'Created', 'Status', <span key="actions" className="sr-only">Actions</span>]}>
            {keys.data?.map((key) => (
              <tr key={key.id} className={key.revoked_at ? 'text-slate-400' : undefined}>
                <td className="px-2 py-2">{key.name ?? <span className="text-slate-400">unnamed</span>}</td>
                <td className="px-2 py-2">
                  <Badge tone={KIND_TONE[key.kind]}>{key.kind}</Badge>
                </td>
                <td className="px-2 py-2 font-mono text-xs whitespace-nowrap">{key.prefix}…</td>
                <td className="px-2 py-2 whitespace-nowrap">{formatTime(key.created_at)}</td>
                <td className="px-2 py-2 whitespace-nowrap">
                  {key.revoked_at ? (
                    <Badge tone="red">revoked {formatTime(key.revoked_at)}</Badge>
                  ) : key.is_root ? (
                    <Badge tone="amber">root key</Badge>
                  ) : (
                    <Badge tone="green">active</Badge>
                  )}
                </td>
                <td className="px-2 py-2 text-right">
                  {/* The root key is restored from EVENTFLOW_ADMIN_KEY at every boot, so the API refuses to revoke it. */}
                  {!key.revoked_at && !key.is_root && (
                    <Button tone="danger" onClick={() => setRevoking(key)} disabled={revoke.isPending} aria-label={`Revoke key ${key.name ?? key.prefix}`}>
                      Revoke
                    </Button>
                  )}
                </td>
              </tr>
            ))}
          </Table>
        )}
      </Card>

      <Confirm
        open={revoking !== undefined}
        title="Revoke this key?"
        confirmLabel="Revoke key"
        tone="danger"
        onCancel={() => setRevoking(undefined)}
        onConfirm={() => {
          if (revoking) revoke.mutate(revoking.id);
          setRevoking(undefined);
        }}
      >
        {revoking && (
          <>
            Calls with <code className="font-mono">{revoking.prefix}…</code>
            {revoking.name ? ` (${revoking.name})` : ''} will be refused from now on. This cannot be undone.
          </>
        )}
      </Confirm>
    </div>
  );
}

function NewKey({ created, onDone }: { created: CreatedKey; onDone(): void }) {
  return (
    <section role="status" aria-label="New API key" className="rounded-lg bg-amber-50 p-4 ring-1 ring-amber-200">
      <h2 className="text-sm font-semibold text-amber-900">
        Copy the new {created.kind} key{created.name ? ` “${created.name}”` : ''} now: it is shown only once.
      </h2>
      <div className="mt-2 flex flex-wrap items-center gap-2">
        <code data-testid="api-key-secret" className="min-w-0 flex-1 rounded bg-white px-2 py-1.5 font-mono text-xs break-all ring-1 ring-amber-200">
          {created.key}
        </code>
        <CopyButton text={created.key} label="Copy key" />
        <Button onClick={onDone}>Done</Button>
      </div>
    </section>
  );
}
