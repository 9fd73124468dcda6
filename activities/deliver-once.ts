import type { Knex } from 'knex';
import type { EventFlowConfig } from '../src/config.ts';
import type { AttemptReport, DeliveryChannel, DeliveryRef } from '../src/shared/delivery.ts';
import { sendWebhook } from '../src/webhooks/send.ts';
import { signatureHeaders, webhookId } from '../src/webhooks/signing.ts';
import { createMailer, sendEmail } from '../src/email/send.ts';
import { renderEmail, resolveRecipients } from '../src/email/render.ts';
import { disableEndpoint, markEndpointFailing, markEndpointHealthy } from '../src/webhooks/queries.ts';
import { recordDelivery } from '../src/telemetry/metrics.ts';
import { inSpan, markFailed } from '../src/telemetry/spans.ts';

export interface StoredEvent {
  id: string;
  type: string;
  user_id: string | null;
  anonymous_id: string | null;
  timestamp: string;
  received_at: string;
  properties: Record<string, unknown>;
  context: Record<string, unknown>;
  enrichment: Record<string, unknown>;
}

interface TargetBase {
  id: string;
  channel: DeliveryChannel;
  retrySchedule: number[] | null;
  matches(type: string): boolean;
}

export interface WebhookTarget extends TargetBase {
  channel: 'webhook';
  url: string;
  headers: Record<string, string>;
  /** Current secret first; during a rotation's grace period the previous one too. */
  secrets: string[];
  failingSince: Date | null;
}

export interface EmailTarget extends TargetBase {
  channel: 'email';
  recipients: string[];
  recipientProperty: string | null;
  subjectTemplate: string;
  bodyTemplate: string;
}

export type DeliveryTarget = WebhookTarget | EmailTarget;

/** The Standard Webhooks payload shape: `{ type, timestamp, data }`. */
function webhookBody(event: StoredEvent): string {
  return JSON.stringify({ type: event.type, timestamp: event.timestamp, data: event });
}

/** Sends one attempt of one delivery over its channel, and applies what the outcome says about the target. */
export function createDeliverer(config: EventFlowConfig) {
  // Pooled SMTP transport, created lazily: most deployments configure webhooks only.
  let mailer: ReturnType<typeof createMailer> | undefined;

  function refFor(projectId: string, target: DeliveryTarget, event: StoredEvent): DeliveryRef {
    return {
      projectId,
      channel: target.channel,
      targetId: target.id,
      eventId: event.id,
      eventType: event.type,
      deliveryId: webhookId(target.id, event.id),
    };
  }

  /**
   * One attempt inside its own span (`eventflow.webhook.deliver` / `eventflow.email.send`): a failed
   * attempt is a returned outcome, not an exception, so the span's ERROR status is set here.
   */
  async function deliver(target: DeliveryTarget, event: StoredEvent, ref: DeliveryRef, attempt: number): Promise<AttemptReport> {
    const webhook = target.channel === 'webhook';
    const report = await inSpan(
      webhook ? 'eventflow.webhook.deliver' : 'eventflow.email.send',
      {
        [webhook ? 'eventflow.endpoint_id' : 'eventflow.rule_id']: target.id,
        'eventflow.event_id': event.id,
        'eventflow.delivery_id': ref.deliveryId,
        'eventflow.attempt': attempt,
      },
      async (span) => {
        const report = await attemptOnce(target, event, ref, attempt);
        span.setAttribute('eventflow.delivery.outcome', report.outcome);
        if (report.statusCode !== undefined) {
          span.setAttribute(webhook ? 'http.response.status_code' : 'eventflow.smtp.status_code', report.statusCode);
        }
        if (report.outcome !== 'delivered') {
          markFailed(span, report.error ?? (report.statusCode ? `HTTP ${report.statusCode}` : report.outcome));
        }
        return report;
      },
    );
    recordDelivery(target.channel, report.outcome, target.id);
    return report;
  }

  async function attemptOnce(target: DeliveryTarget, event: StoredEvent, ref: DeliveryRef, attempt: number): Promise<AttemptReport> {
    if (target.channel === 'webhook') {
      const body = webhookBody(event);
      const signed = signatureHeaders({
        id: ref.deliveryId,
        timestampSeconds: Math.floor(Date.now() / 1000),
        body,
        secrets: target.secrets,
      });
      const result = await sendWebhook({
        url: target.url,
        headers: { ...signed },
        customHeaders: target.headers,
        body,
        timeoutMs: config.webhooks.attemptTimeoutMs,
        allowList: config.webhooks.allowedPrivateTargets,
      });
      return { attempt, ...result };
    }
    if (!config.smtp.url) {
      return { attempt, outcome: 'retryable', durationMs: 0, error: 'SMTP_URL is not configured' };
    }
    const recipients = resolveRecipients(
      { recipients: target.recipients, recipient_property: target.recipientProperty },
      event,
    );
    if (recipients.length === 0) {
      return { attempt, outcome: 'permanent', durationMs: 0, error: 'no valid recipient for this event' };
    }
    mailer ??= createMailer(config.smtp.url, config.smtp.from);
    const rendered = renderEmail({ subject: target.subjectTemplate, body: target.bodyTemplate }, event);
    const result = await sendEmail(mailer, { to: recipients, ...rendered, deliveryId: ref.deliveryId });
    return { attempt, ...result };
  }

  async function afterSuccess(db: Knex, target: DeliveryTarget): Promise<void> {
    if (target.channel === 'webhook' && target.failingSince) await markEndpointHealthy(db, target.id);
  }

  /** Returns true when the target has been disabled, so further attempts are pointless. */
  async function afterFailure(db: Knex, target: DeliveryTarget, report: AttemptReport): Promise<boolean> {
    if (target.channel !== 'webhook') return false;
    if (report.outcome === 'gone') {
      await disableEndpoint(db, target.id, 'the endpoint answered 410 Gone');
      return true;
    }
    const failingSince = target.failingSince ?? new Date();
    if (!target.failingSince) await markEndpointFailing(db, target.id, failingSince);
    const windowMs = config.webhooks.disableAfterFailingSeconds * 1000;
    if (Date.now() - failingSince.getTime() >= windowMs) {
      await disableEndpoint(db, target.id, `failing continuously since ${failingSince.toISOString()}`);
      return true;
    }
    return false;
  }

  return { refFor, deliver, afterSuccess, afterFailure };
}
