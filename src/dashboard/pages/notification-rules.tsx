import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { Badge, Button, Card, Confirm, Empty, ErrorNote, Field, Input, Loading, PageTitle, Select, Table, TextArea } from '../components/ui.tsx';
import { gql } from '../lib/api.ts';
import { useSession } from '../lib/session.tsx';

// Which event types mail whom (email) or notify which members in the app (in_app), with what text
// (src/api/operations/notification-rules.ts). The API checks patterns and templates; this page only
// turns the form into the rule's fields.

type Channel = 'email' | 'in_app';
type Role = 'owner' | 'admin' | 'developer' | 'viewer';
const ROLES: Role[] = ['owner', 'admin', 'developer', 'viewer'];

interface Rule {
  id: string;
  channel: Channel;
  eventTypes: string[];
  recipients: string[];
  recipientRoles: Role[];
  recipientProperty: string | null;
  subjectTemplate: string;
  bodyTemplate: string;
  enabled: boolean;
}

type RuleInput = Omit<Rule, 'id'>;

const RULES_KEY = ['notification-rules'];
const RULE_FIELDS = 'id channel eventTypes recipients recipientRoles recipientProperty subjectTemplate bodyTemplate enabled';
const RULES = `query NotificationRules { notificationRules { ${RULE_FIELDS} } }`;
const CREATE = `mutation CreateNotificationRule($input: NotificationRuleInput!) { createNotificationRule(input: $input) { ${RULE_FIELDS} } }`;
const UPDATE = `mutation UpdateNotificationRule($id: ID!, $input: NotificationRulePatch!) { updateNotificationRule(id: $id, input: $input) { ${RULE_FIELDS} } }`;
const DELETE = 'mutation DeleteNotificationRule($id: ID!) { deleteNotificationRule(id: $id) }';

const CHANNEL_LABEL: Record<Channel, string> = { email: 'Email', in_app: 'In-app' };

/** "a, b\nc" → ["a", "b", "c"]: commas or line breaks, blanks dropped. */
const splitList = (text: string) =>
  text
    .split(/[,\n]/)
    .map((item) => item.trim())
    .filter(Boolean);

export default function NotificationRulesPage() {
  const { can } = useSession();
  const queries = useQueryClient();
  const rules = useQuery({ queryKey: RULES_KEY, queryFn: () => gql<{ notificationRules: Rule[] }>(RULES).then((data) => data.notificationRules) });
  // undefined: no form open; null: a new rule; a rule: editing it.
  const [editing, setEditing] = useState<Rule | null>();
  const [deleting, setDeleting] = useState<Rule>();
  const refresh = () => queries.invalidateQueries({ queryKey: RULES_KEY });

  const toggle = useMutation({
    mutationFn: (rule: Rule) => gql(UPDATE, { id: rule.id, input: { enabled: !rule.enabled } }),
    onSuccess: refresh,
  });
  const remove = useMutation({
    mutationFn: (id: string) => gql(DELETE, { id }),
    onSuccess: (_, id) => {
      if (editing?.id === id) setEditing(undefined);
      return refresh();
    },
  });

  const mayManage = can('rules:manage');
  return (
    <>
      <PageTitle
        actions={
          mayManage &&
          editing === undefined && (
            <Button tone="primary" onClick={() => setEditing(null)}>
              New rule
            </Button>
          )
        }
      >
        Notification rules
      </PageTitle>
      <div className="flex flex-col gap-4">
        {mayManage && editing !== undefined && <RuleForm key={editing?.id ?? 'new'} rule={editing} onDone={() => setEditing(undefined)} />}

        <Card title="Rules">
          <div className="mb-3 flex flex-col gap-2 empty:hidden">
            <ErrorNote error={rules.error} />
            <ErrorNote error={toggle.error} />
            <ErrorNote error={remove.error} />
          </div>
          {rules.isPending ? (
            <Loading />
          ) : rules.data?.length === 0 ? (
            <Empty>No rules yet: events notify nobody.</Empty>
          ) : (
            <Table head={['Channel', 'Event types', 'Recipients', 'Subject', 'Status', ...(mayManage ? [<span key="actions" className="sr-only">Actions</span>] : [])]}>
              {rules.data?.map((rule) => (
                <tr key={rule.id} className={rule.enabled ? undefined : 'text-slate-400'}>
                  <td className="px-2 py-2">
                    <Badge tone={rule.channel === 'email' ? 'indigo' : 'green'}>{CHANNEL_LABEL[rule.channel]}</Badge>
                  </td>
                  <td className="px-2 py-2 font-mono text-xs">{rule.eventTypes.join(', ')}</td>
                  <td className="px-2 py-2">
                    <Recipients rule={rule} />
                  </td>
                  <td className="max-w-64 truncate px-2 py-2" title={rule.subjectTemplate}>
                    {rule.subjectTemplate}
                  </td>
                  <td className="px-2 py-2">{rule.enabled ? <Badge tone="green">enabled</Badge> : <Badge>disabled</Badge>}</td>
                  {mayManage && (
                    <td className="px-2 py-2">
                      <div className="flex flex-wrap justify-end gap-2">
                        <Button onClick={() => setEditing(rule)} aria-label={`Edit the ${CHANNEL_LABEL[rule.channel]} rule for ${rule.eventTypes.join(', ')}`}>
                          Edit
                        </Button>
                        <Button
                          onClick={() => toggle.mutate(rule)}
                          disabled={toggle.isPending}
                          aria-label={`${rule.enabled ? 'Disable' : 'Enable'} the ${CHANNEL_LABEL[rule.channel]} rule for ${rule.eventTypes.join(', ')}`}
                        >
                          {rule.enabled ? 'Disable' : 'Enable'}
                        </Button>
                        <Button
                          tone="danger"
                          onClick={() => setDeleting(rule)}
                          disabled={remove.isPending}
                          aria-label={`Delete the ${CHANNEL_LABEL[rule.channel]} rule for ${rule.eventTypes.join(', ')}`}
                        >
                          Delete
                        </Button>
                      </div>
                    </td>
                  )}
                </tr>
              ))}
            </Table>
          )}
        </Card>
      </div>

      <Confirm
        open={deleting !== undefined}
        title="Delete this rule?"
        confirmLabel="Delete rule"
        tone="danger"
        onCancel={() => setDeleting(undefined)}
        onConfirm={() => {
          if (deleting) remove.mutate(deleting.id);
          setDeleting(undefined);
        }}
      >
        {deleting && (
          <>
            {CHANNEL_LABEL[deleting.channel]} notifications for <code className="font-mono">{deleting.eventTypes.join(', ')}</code> stop. To pause them instead, disable the rule.
          </>
        )}
      </Confirm>
    </>
  );
}

function Recipients({ rule }: { rule: Rule }) {
  return (
    <div className="flex flex-wrap items-center gap-1">
      {rule.recipientRoles.map((role) => (
        <Badge key={role}>every {role}</Badge>
      ))}
      {rule.recipients.map((email) => (
        <span key={email} className="break-all">
          {email}
        </span>
      ))}
      {rule.recipientProperty && (
        <span className="text-xs text-slate-500">
          + address in <code className="font-mono">{rule.recipientProperty}</code>
        </span>
      )}
    </div>
  );
}

interface Draft {
  channel: Channel;
  eventTypes: string;
  recipients: string;
  recipientRoles: Role[];
  recipientProperty: string;
  subjectTemplate: string;
  bodyTemplate: string;
  enabled: boolean;
}

function draftOf(rule: Rule | null): Draft {
  return {
    channel: rule?.channel ?? 'email',
    eventTypes: rule?.eventTypes.join(', ') ?? '',
    recipients: rule?.recipients.join(', ') ?? '',
    recipientRoles: rule?.recipientRoles ?? [],
    recipientProperty: rule?.recipientProperty ?? '',
    subjectTemplate: rule?.subjectTemplate ?? '',
    bodyTemplate: rule?.bodyTemplate ?? '',
    enabled: rule?.enabled ?? true,
  };
}

/**
 * Every field, always: a rule is checked as it will be stored, so switching channel must also clear what
 * the other channel used (roles are in-app only, the recipient property is email only).
 */
function inputOf(draft: Draft): RuleInput {
  const property = draft.recipientProperty.trim();
  return {
    channel: draft.channel,
    eventTypes: splitList(draft.eventTypes),
    recipients: splitList(draft.recipients),
    recipientRoles: draft.channel === 'in_app' ? draft.recipientRoles : [],
    recipientProperty: draft.channel === 'email' && property ? property : null,
    subjectTemplate: draft.subjectTemplate,
    bodyTemplate: draft.bodyTemplate,
    enabled: draft.enabled,
  };
}

function RuleForm({ rule, onDone }: { rule: Rule | null; onDone(): void }) {
  const queries = useQueryClient();
  const [draft, setDraft] = useState(() => draftOf(rule));
  const set = <K extends keyof Draft>(field: K, value: Draft[K]) => setDraft((previous) => ({ ...previous, [field]: value }));
  const save = useMutation({
    mutationFn: (input: RuleInput) => (rule ? gql(UPDATE, { id: rule.id, input }) : gql(CREATE, { input })),
    onSuccess: async () => {
      await queries.invalidateQueries({ queryKey: RULES_KEY });
      onDone();
    },
  });

  function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    save.mutate(inputOf(draft));
  }

  const inApp = draft.channel === 'in_app';
  const title = rule ? 'Edit rule' : 'New rule';
  return (
    <Card title={title}>
      <form onSubmit={submit} aria-label={title} className="grid gap-3 md:grid-cols-2">
        <Field label="Channel">
          <Select value={draft.channel} onChange={(event) => set('channel', event.target.value as Channel)}>
            <option value="email">Email</option>
            <option value="in_app">In-app notification</option>
          </Select>
        </Field>
        <Field label="Event types" hint='Comma-separated. "*" matches every type, "order.*" every type under order.'>
          <Input value={draft.eventTypes} onChange={(event) => set('eventTypes', event.target.value)} required placeholder="signup.completed, order.*" spellCheck={false} />
        </Field>
        <Field
          label={inApp ? 'Members by email' : 'Recipients'}
          hint={inApp ? 'Comma-separated emails of project members to notify, besides the roles below.' : 'Comma-separated email addresses.'}
        >
          <Input value={draft.recipients} onChange={(event) => set('recipients', event.target.value)} placeholder="ops@example.com, ada@example.com" spellCheck={false} />
        </Field>
        {inApp ? (
          <fieldset className="flex flex-col gap-1 text-sm">
            <legend className="mb-1 font-medium text-slate-700">Recipient roles</legend>
            <div className="flex flex-wrap gap-x-4 gap-y-1">
              {ROLES.map((role) => (
                <label key={role} className="inline-flex items-center gap-1.5">
                  <input
                    type="checkbox"
                    checked={draft.recipientRoles.includes(role)}
                    onChange={(event) =>
                      set('recipientRoles', event.target.checked ? ROLES.filter((r) => r === role || draft.recipientRoles.includes(r)) : draft.recipientRoles.filter((r) => r !== role))
                    }
                  />
                  {role}
                </label>
              ))}
            </div>
            <span className="text-xs text-slate-500">Every member with a ticked role is notified.</span>
          </fieldset>
        ) : (
          <Field label="Recipient property (optional)" hint="A dotted path to an email address in the event, e.g. properties.email.">
            <Input value={draft.recipientProperty} onChange={(event) => set('recipientProperty', event.target.value)} maxLength={200} placeholder="properties.email" spellCheck={false} />
          </Field>
        )}
        <div className="md:col-span-2">
          <Field label={inApp ? 'Title template' : 'Subject template'} hint="Placeholders read the event: {{ event.type }}, {{ properties.plan }}, {{ context.ip }}.">
            <Input value={draft.subjectTemplate} onChange={(event) => set('subjectTemplate', event.target.value)} required maxLength={1000} placeholder="New {{ event.type }}" />
          </Field>
        </div>
        <div className="md:col-span-2">
          <Field label="Body template" hint={inApp ? 'Shown as plain text.' : 'HTML; placeholder values are escaped.'}>
            <TextArea value={draft.bodyTemplate} onChange={(event) => set('bodyTemplate', event.target.value)} required rows={6} placeholder="{{ properties.name }} signed up on the {{ properties.plan }} plan." />
          </Field>
        </div>
        <label className="inline-flex items-center gap-2 text-sm md:col-span-2">
          <input type="checkbox" checked={draft.enabled} onChange={(event) => set('enabled', event.target.checked)} />
          Enabled
        </label>
        <div className="md:col-span-2">
          <ErrorNote error={save.error} />
        </div>
        <div className="flex flex-wrap gap-2 md:col-span-2">
          <Button tone="primary" type="submit" disabled={save.isPending}>
            {save.isPending ? 'Saving…' : rule ? 'Save changes' : 'Create rule'}
          </Button>
          <Button onClick={onDone}>Cancel</Button>
        </div>
      </form>
    </Card>
  );
}
