import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { Button, Card, CopyButton, Empty, ErrorNote, Field, Input, Loading, PageTitle, Select, Table, TextArea } from '../components/ui.tsx';
import { gql, rest } from '../lib/api.ts';
import { formatTime } from '../lib/format.ts';
import { useSession } from '../lib/session.tsx';

// JSON Schemas for events' `properties`, one versioned schema per event type (src/api/routes/schemas.ts).
// Storing a schema equal to the latest version stores nothing, so "replace" is safe to repeat.

interface LatestSchema {
  type: string;
  version: number;
  schema: object;
}

interface SchemaVersion {
  version: number;
  schema: object;
  created_at: string;
}

interface SchemaHistory extends SchemaVersion {
  type: string;
  versions: SchemaVersion[];
}

interface Draft {
  type: string;
  text: string;
}

const SCHEMAS_KEY = ['schemas'];
const SCHEMAS = 'query Schemas { schemas { type version schema } }';
// The API's own limit on an event type (MAX_TYPE_LENGTH in the route).
const MAX_TYPE_LENGTH = 128;
const EXAMPLE = '{\n  "type": "object",\n  "required": ["plan"],\n  "properties": { "plan": { "type": "string" } }\n}';

const schemaPath = (type: string) => `/v1/schemas/${encodeURIComponent(type)}`;
const pretty = (value: unknown) => JSON.stringify(value, null, 2);

export default function SchemasPage() {
  const { can } = useSession();
  const schemas = useQuery({ queryKey: SCHEMAS_KEY, queryFn: () => gql<{ schemas: LatestSchema[] }>(SCHEMAS).then((data) => data.schemas) });
  const [viewing, setViewing] = useState<string>();
  // Each "Replace" starts a fresh form with that schema in it; the counter remounts the form.
  const [draft, setDraft] = useState<Draft & { serial: number }>({ type: '', text: '', serial: 0 });
  const mayManage = can('schemas:manage');

  return (
    <>
      <PageTitle>Schemas</PageTitle>
      <p className="mb-4 max-w-3xl text-sm text-slate-600">
        Events whose type has a schema are checked against its latest version; events that do not match are rejected.
      </p>
      <div className="grid gap-4 lg:grid-cols-2">
        <Card title="Event types with a schema">
          <ErrorNote error={schemas.error} />
          {schemas.isPending ? (
            <Loading />
          ) : schemas.data?.length === 0 ? (
            <Empty>No schemas yet: events of every type are accepted as sent.</Empty>
          ) : (
            <Table head={['Event type', 'Version', <span key="actions" className="sr-only">Actions</span>]}>
              {schemas.data?.map((row) => (
                <tr key={row.type} className={row.type === viewing ? 'bg-indigo-50' : undefined}>
                  <td className="px-2 py-2 font-mono text-xs break-all">{row.type}</td>
                  <td className="px-2 py-2 tabular-nums">v{row.version}</td>
                  <td className="px-2 py-2">
                    <div className="flex flex-wrap justify-end gap-2">
                      <Button onClick={() => setViewing(row.type)} aria-label={`View schema of ${row.type}`} aria-pressed={row.type === viewing}>
                        View
                      </Button>
                      {mayManage && (
                        <Button
                          onClick={() => setDraft((previous) => ({ type: row.type, text: pretty(row.schema), serial: previous.serial + 1 }))}
                          aria-label={`Replace schema of ${row.type}`}
                        >
                          Replace
                        </Button>
                      )}
                    </div>
                  </td>
                </tr>
              ))}
            </Table>
          )}
        </Card>
        {viewing && <SchemaViewer key={viewing} type={viewing} onClose={() => setViewing(undefined)} />}
        {mayManage ? (
          <SchemaForm key={draft.serial} initial={draft} latest={schemas.data} onStored={setViewing} />
        ) : (
          <Card title="Create or replace a schema">
            <p className="text-sm text-slate-600">Your role can read schemas; developers, admins and owners create and replace them.</p>
          </Card>
        )}
      </div>
    </>
  );
}

/** One type's schema, latest version first, with its earlier versions a select away. */
function SchemaViewer({ type, onClose }: { type: string; onClose(): void }) {
  const history = useQuery({ queryKey: ['schema', type], queryFn: () => rest<SchemaHistory>('GET', schemaPath(type)) });
  const [version, setVersion] = useState<number>();
  const shown = history.data?.versions.find((candidate) => candidate.version === version) ?? history.data;
  return (
    <Card
      title={
        <>
          Schema of <code className="font-mono break-all">{type}</code>
        </>
      }
      actions={
        <div className="flex flex-wrap items-center gap-2">
          {history.data && history.data.versions.length > 1 && (
            <Select aria-label="Version" value={shown?.version} onChange={(event) => setVersion(Number(event.target.value))}>
              {[...history.data.versions].reverse().map((candidate) => (
                <option key={candidate.version} value={candidate.version}>
                  v{candidate.version}
                  {candidate.version === history.data.version ? ' (latest)' : ''}
                </option>
              ))}
            </Select>
          )}
          {shown && <CopyButton text={pretty(shown.schema)} label="Copy JSON" />}
          <Button onClick={onClose}>Close</Button>
        </div>
      }
    >
      <ErrorNote error={history.error} />
      {history.isPending && <Loading />}
      {shown && (
        <>
          <p className="mb-2 text-xs text-slate-500">
            Version {shown.version}, stored {formatTime(shown.created_at)}
          </p>
          <pre className="max-h-[32rem] overflow-auto rounded-md bg-slate-50 p-3 font-mono text-xs ring-1 ring-slate-200" tabIndex={0} aria-label={`JSON Schema of ${type}, version ${shown.version}`}>
            {pretty(shown.schema)}
          </pre>
        </>
      )}
    </Card>
  );
}

/** The text as a JSON object, or why it cannot be one — said before anything is sent. */
function parseSchema(text: string): { schema: object } | { problem: string } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return { problem: `The schema is not valid JSON: ${(error as Error).message}` };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { problem: 'A JSON Schema must be a JSON object, for example { "type": "object" }.' };
  }
  return { schema: value };
}

function SchemaForm({ initial, latest, onStored }: { initial: Draft; latest: LatestSchema[] | undefined; onStored(type: string): void }) {
  const queries = useQueryClient();
  const [type, setType] = useState(initial.type);
  const [text, setText] = useState(initial.text);
  const [problem, setProblem] = useState<string>();
  const [outcome, setOutcome] = useState<string>();
  const store = useMutation({
    mutationFn: (input: { type: string; schema: object }) =>
      // Wrapped in { schema }, so a schema with its own top-level "schema" keyword is never mistaken for the wrapper.
      rest<LatestSchema>('PUT', schemaPath(input.type), { schema: input.schema }),
    onSuccess: async (stored) => {
      const previous = latest?.find((row) => row.type === stored.type)?.version;
      setOutcome(previous === stored.version ? `Unchanged: identical to version ${stored.version} of ${stored.type}.` : `Stored as version ${stored.version} of ${stored.type}.`);
      onStored(stored.type);
      await Promise.all([queries.invalidateQueries({ queryKey: SCHEMAS_KEY }), queries.invalidateQueries({ queryKey: ['schema', stored.type] })]);
    },
  });

  function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    setOutcome(undefined);
    store.reset();
    const parsed = parseSchema(text);
    if ('problem' in parsed) {
      setProblem(parsed.problem);
      return;
    }
    setProblem(undefined);
    store.mutate({ type: type.trim(), schema: parsed.schema });
  }

  return (
    <Card title="Create or replace a schema" className="lg:col-span-2">
      <form onSubmit={submit} className="flex flex-col gap-3" aria-label="Create or replace a schema">
        <Field label="Event type" hint="A new schema for an existing type becomes its next version.">
          <Input value={type} onChange={(event) => setType(event.target.value)} required maxLength={MAX_TYPE_LENGTH} placeholder="signup.completed" spellCheck={false} list="schema-types" />
        </Field>
        <datalist id="schema-types">
          {latest?.map((row) => (
            <option key={row.type} value={row.type} />
          ))}
        </datalist>
        <Field label="JSON Schema" hint="Validates the event's properties. $id is not allowed: schemas are identified by type and version.">
          <TextArea
            value={text}
            onChange={(event) => {
              setText(event.target.value);
              setProblem(undefined);
            }}
            required
            rows={14}
            spellCheck={false}
            placeholder={EXAMPLE}
            aria-invalid={problem ? true : undefined}
            className="text-xs"
          />
        </Field>
        <ErrorNote error={problem} />
        <ErrorNote error={store.error} />
        {outcome && (
          <p role="status" className="text-sm text-emerald-700">
            {outcome}
          </p>
        )}
        <div className="flex flex-wrap gap-2">
          <Button tone="primary" type="submit" disabled={store.isPending}>
            {store.isPending ? 'Saving…' : 'Save schema'}
          </Button>
          {!text && (
            <Button onClick={() => setText(EXAMPLE)} title="Fill in an example schema">
              Use an example
            </Button>
          )}
        </div>
      </form>
    </Card>
  );
}
