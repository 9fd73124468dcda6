import type { Knex } from 'knex';
import { v7 as uuidv7 } from 'uuid';
import type { AttemptResult } from '../../../shared/delivery.ts';
import { NOTIFICATIONS_CHANNEL } from '../../../live/channels.ts';
import { renderEmail, type TemplateEvent } from '../email/render.ts';


export interface InAppNotice {
  projectId: string;
  ruleId: string;
  recipientEmails: string[];
  recipientRoles: string[];
  subjectTemplate: string;
  bodyTemplate: string;
}

/**
 * One in-app delivery: the rule's templates rendered once (the text part of the email rendering, so the
 * same templates serve both channels), one row per matching member in one INSERT, and a NOTIFY in the
 * same transaction so live streams hear of it only once it is committed. Idempotent per (rule, event,
 * user): a retry or replay inserts nothing twice and notifies only of what is new.
 */
export async function deliverInApp(db: Knex, notice: InAppNotice, event: TemplateEvent & { id: string; type: string }): Promise<AttemptResult> {
  const started = performance.now();
  const rendered = renderEmail({ subject: notice.subjectTemplate, body: notice.bodyTemplate }, event);
  const inserted = await db.transaction(async (trx) => {
    const members: Array<{ user_id: string }> = await trx('memberships as m')
      .join('users as u', 'u.id', 'm.user_id')
      .where('m.project_id', notice.projectId)
      .andWhere((where) =>
        where.whereRaw('m.role = ANY(?)', [notice.recipientRoles]).orWhereRaw('lower(u.email) = ANY(?)', [notice.recipientEmails.map((email) => email.toLowerCase())]),
      )
      .select('m.user_id');
    if (members.length === 0) return undefined;
    const rows: Array<{ id: string; user_id: string }> = await trx('notifications')
      .insert(
        members.map(({ user_id }) => ({
          id: uuidv7(),
          project_id: notice.projectId,
          user_id,
          rule_id: notice.ruleId,
          event_id: event.id,
          event_type: event.type,
          title: rendered.subject,
          body: rendered.text,
        })),
      )
      .onConflict(['rule_id', 'event_id', 'user_id'])
      .ignore()
      .returning(['id', 'user_id']);
    if (rows.length > 0) {
      await trx.raw('SELECT pg_notify(?, ?)', [NOTIFICATIONS_CHANNEL, JSON.stringify({ project_id: notice.projectId, user_ids: rows.map((row) => row.user_id) })]);
    }
    return rows;
  });
  const durationMs = Math.round(performance.now() - started);
  if (inserted === undefined) return { outcome: 'permanent', durationMs, error: 'no member of the project matches the rule\'s recipients' };
  return { outcome: 'delivered', durationMs };
}
