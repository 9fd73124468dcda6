import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent, type ReactNode } from 'react';
import { Badge, Button, Card, Confirm, Empty, ErrorNote, Field, Input, Loading, PageTitle, Select, Table } from '../components/ui.tsx';
import { rest } from '../lib/api.ts';
import { formatTime } from '../lib/format.ts';
import { useSession, type Project } from '../lib/session.tsx';

// A project's people (src/api/routes/members.ts): members with roles, and open invitations for emails
// that have no account yet. Only owners give or take the owner role (mayAssignRole in src/auth/policy.ts).

type Role = 'owner' | 'admin' | 'developer' | 'viewer';
const ROLES: Role[] = ['owner', 'admin', 'developer', 'viewer'];

interface Member {
  user_id: string;
  email: string;
  name: string;
  role: Role;
  created_at: string;
}

interface Invitation {
  id: string;
  email: string;
  role: Role;
  created_at: string;
}

type InviteOutcome = { status: 'member'; user_id: string; email: string; role: Role } | { status: 'invited'; id: string; email: string; role: Role; created_at: string };

interface PendingConfirm {
  title: string;
  body: ReactNode;
  confirmLabel: string;
  run(): void;
}

export default function MembersPage() {
  const { project } = useSession();
  return (
    <>
      <PageTitle>Members</PageTitle>
      {project ? <ProjectMembers project={project} /> : <Empty>You are not a member of any project yet.</Empty>}
    </>
  );
}

function ProjectMembers({ project }: { project: Project }) {
  const { can, user, reload } = useSession();
  const queries = useQueryClient();
  const base = `/v1/projects/${encodeURIComponent(project.id)}`;
  const queryKey = ['members', project.id];
  const people = useQuery({ queryKey, queryFn: () => rest<{ data: Member[]; invitations: Invitation[] }>('GET', `${base}/members`) });
  const [confirming, setConfirming] = useState<PendingConfirm>();
  const refresh = () => queries.invalidateQueries({ queryKey });

  const changeRole = useMutation({
    mutationFn: ({ userId, role }: { userId: string; role: Role }) => rest('PATCH', `${base}/members/${encodeURIComponent(userId)}`, { role }),
    // One's own new role changes what this session may do: its permissions are read again.
    onSettled: (_, __, { userId }) => Promise.all([refresh(), userId === user?.id ? reload() : undefined]),
  });
  const remove = useMutation({
    mutationFn: (userId: string) => rest<void>('DELETE', `${base}/members/${encodeURIComponent(userId)}`),
    onSuccess: refresh,
  });
  const cancelInvitation = useMutation({
    mutationFn: (id: string) => rest<void>('DELETE', `${base}/invitations/${encodeURIComponent(id)}`),
    onSuccess: refresh,
  });

  const mayManage = can('members:manage');
  const mayManageOwners = can('owners:manage');
  const assignable = ROLES.filter((role) => role !== 'owner' || mayManageOwners);
  const busy = changeRole.isPending || remove.isPending || cancelInvitation.isPending;

  return (
    <>
      <div className="flex flex-col gap-4">
        {mayManage && <InviteForm base={base} roles={assignable} onInvited={refresh} />}

        <Card title="Members">
          <div className="mb-3 flex flex-col gap-2 empty:hidden">
            <ErrorNote error={people.error} />
            <ErrorNote error={changeRole.error} />
            <ErrorNote error={remove.error} />
          </div>
          {people.isPending ? (
            <Loading />
          ) : (
            <Table head={['Name', 'Email', 'Role', 'Member since', ...(mayManage ? [<span key="actions" className="sr-only">Actions</span>] : [])]}>
              {people.data?.data.map((member) => {
                const isSelf = member.user_id === user?.id;
                // Only owners touch owners; everyone else sees an owner's role as text.
                const mayChange = mayManage && (member.role !== 'owner' || mayManageOwners);
                return (
                  <tr key={member.user_id}>
                    <td className="px-2 py-2 whitespace-nowrap">
                      {member.name}
                      {isSelf && <span className="ml-1 text-xs text-slate-500">(you)</span>}
                    </td>
                    <td className="px-2 py-2 break-all">{member.email}</td>
                    <td className="px-2 py-2">
                      {mayChange ? (
                        <Select
                          aria-label={`Role of ${member.name}`}
                          value={member.role}
                          disabled={busy}
                          onChange={(event) => changeRole.mutate({ userId: member.user_id, role: event.target.value as Role })}
                        >
                          {assignable.map((role) => (
                            <option key={role} value={role}>
                              {role}
                            </option>
                          ))}
                        </Select>
                      ) : (
                        <Badge tone={member.role === 'owner' ? 'amber' : 'slate'}>{member.role}</Badge>
                      )}
                    </td>
                    <td className="px-2 py-2 whitespace-nowrap">{formatTime(member.created_at)}</td>
                    {mayManage && (
                      <td className="px-2 py-2 text-right">
                        {/* Leaving would strand this session in a project it no longer belongs to, so it is not offered here. */}
                        {mayChange && !isSelf && (
                          <Button
                            tone="danger"
                            disabled={busy}
                            aria-label={`Remove ${member.name}`}
                            onClick={() =>
                              setConfirming({
                                title: `Remove ${member.name}?`,
                                body: `${member.email} loses access to ${project.name} at once. They can be invited again later.`,
                                confirmLabel: 'Remove member',
                                run: () => remove.mutate(member.user_id),
                              })
                            }
                          >
                            Remove
                          </Button>
                        )}
                      </td>
                    )}
                  </tr>
                );
              })}
            </Table>
          )}
        </Card>

        {people.data && (
          <Card title="Pending invitations">
            <p className="mb-2 text-xs text-slate-500">These people join with the given role when they register with the invited email.</p>
            <ErrorNote error={cancelInvitation.error} />
            {people.data.invitations.length === 0 ? (
              <Empty>No open invitations.</Empty>
            ) : (
              <Table head={['Email', 'Role', 'Invited', ...(mayManage ? [<span key="actions" className="sr-only">Actions</span>] : [])]}>
                {people.data.invitations.map((invitation) => (
                  <tr key={invitation.id}>
                    <td className="px-2 py-2 break-all">{invitation.email}</td>
                    <td className="px-2 py-2">
                      <Badge>{invitation.role}</Badge>
                    </td>
                    <td className="px-2 py-2 whitespace-nowrap">{formatTime(invitation.created_at)}</td>
                    {mayManage && (
                      <td className="px-2 py-2 text-right">
                        <Button
                          disabled={busy}
                          aria-label={`Cancel the invitation of ${invitation.email}`}
                          onClick={() =>
                            setConfirming({
                              title: 'Cancel this invitation?',
                              body: `${invitation.email} will no longer join this project when registering.`,
                              confirmLabel: 'Cancel invitation',
                              run: () => cancelInvitation.mutate(invitation.id),
                            })
                          }
                        >
                          Cancel
                        </Button>
                      </td>
                    )}
                  </tr>
                ))}
              </Table>
            )}
          </Card>
        )}
      </div>

      <Confirm
        open={confirming !== undefined}
        title={confirming?.title ?? ''}
        confirmLabel={confirming?.confirmLabel ?? 'Confirm'}
        tone="danger"
        onCancel={() => setConfirming(undefined)}
        onConfirm={() => {
          confirming?.run();
          setConfirming(undefined);
        }}
      >
        {confirming?.body}
      </Confirm>
    </>
  );
}

function InviteForm({ base, roles, onInvited }: { base: string; roles: Role[]; onInvited(): Promise<void> }) {
  const [outcome, setOutcome] = useState<string>();
  const invite = useMutation({
    mutationFn: (input: { email: string; role: Role }) => rest<InviteOutcome>('POST', `${base}/invitations`, input),
    onSuccess: (answer) => {
      setOutcome(
        answer.status === 'member'
          ? `${answer.email} already had an account and is now a member, as ${answer.role}.`
          : `${answer.email} is invited as ${answer.role}: they join when they register with this email.`,
      );
      return onInvited();
    },
  });

  function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    setOutcome(undefined);
    const form = event.currentTarget;
    const data = new FormData(form);
    invite.mutate({ email: String(data.get('email')).trim(), role: String(data.get('role')) as Role }, { onSuccess: () => form.reset() });
  }

  return (
    <Card title="Invite someone">
      <form onSubmit={submit} aria-label="Invite a member" className="flex flex-wrap items-end gap-3">
        <Field label="Email">
          <Input name="email" type="email" required maxLength={254} autoComplete="off" placeholder="ada@example.com" />
        </Field>
        <Field label="Role">
          <Select name="role" defaultValue="developer">
            {roles.map((role) => (
              <option key={role} value={role}>
                {role}
              </option>
            ))}
          </Select>
        </Field>
        <Button tone="primary" type="submit" disabled={invite.isPending}>
          {invite.isPending ? 'Inviting…' : 'Invite'}
        </Button>
      </form>
      <div className="mt-3 flex flex-col gap-2">
        <ErrorNote error={invite.error} />
        {outcome && (
          <p role="status" className="text-sm text-emerald-700">
            {outcome}
          </p>
        )}
      </div>
    </Card>
  );
}
