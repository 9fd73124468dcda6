import type { Knex } from 'knex';
import type { EventFlowConfig } from '../config.ts';
import type { DeliverableEvent } from '../events/queries.ts';
import type { AttemptReport, AttemptResult, DeliveryRef } from '../shared/delivery.ts';
import { recordDelivery } from '../telemetry/metrics.ts';
import { inSpan, markFailed } from '../telemetry/spans.ts';
import { renderEmail, resolveRecipients } from './channels/email/render.ts';
import { closeMailer, createMailer, sendEmail } from './channels/email/send.ts';
import { deliverInApp } from './channels/in-app/deliver.ts';
import { sendWebhook } from './channels/webhook/send.ts';
import { signatureHeaders, webhookId } from './channels/webhook/signing.ts';
import type { DeliveryTarget, WebhookTarget } from './targets.ts';

/** The Standard Webhooks payload shape: `{ type, timestamp, data }`. */
function webhookBody(event: DeliverableEvent): string {
  return JSON.stringify({ type: event.type, timestamp: event.timestamp, data: event });
}

/**
 * One signed POST of one event to one endpoint, with the SSRF guard and the attempt timeout: the
 * worker's attempts and the API's test sends go through here, so a test proves what deliveries do.
 */
export async function sendSignedWebhook(
  config: Pick<EventFlowConfig, 'webhooks'>,
  target: Pick<WebhookTarget, 'url' | 'headers' | 'secrets'>,
  event: DeliverableEvent,
  deliveryId: string,
): Promise<AttemptResult> {
  const body = webhookBody(event);
  const signed = signatureHeaders({ id: deliveryId, timestampSeconds: Math.floor(Date.now() / 1000), body, secrets: target.secrets });
  return sendWebhook({
    url: target.url,
    headers: { ...signed },
    customHeaders: target.headers,
    body,
    timeoutMs: config.webhooks.attemptTimeoutMs,
    allowList: config.webhooks.allowedPrivateTargets,
  });
}

const SPAN_NAMES = { webhook: 'eventflow.webhook.deliver', email: 'eventflow.email.send', in_app: 'eventflow.in_app.notify' } as const;

/** Sends one attempt of one delivery over its channel, and applies what the outcome says about the target. */
export function createDeliverer(config: EventFlowConfig, db: Knex) {
  // Pooled SMTP transport, created lazily: most deployments configure webhooks only.
  let mailer: ReturnType<typeof createMailer> | undefined;

  function refFor(projectId: string, target: DeliveryTarget, event: DeliverableEvent): DeliveryRef {
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
   * One attempt inside its own span (`eventflow.webhook.deliver` / `eventflow.email.send` /
   * `eventflow.in_app.notify`): a failed attempt is a returned outcome, not an exception, so the span's
   * ERROR status is set here.
   */
  async function deliver(target: DeliveryTarget, event: DeliverableEvent, ref: DeliveryRef, attempt: number): Promise<AttemptReport> {
    const webhook = target.channel === 'webhook';
    const report = await inSpan(
      SPAN_NAMES[target.channel],
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

  async function attemptOnce(target: DeliveryTarget, event: DeliverableEvent, ref: DeliveryRef, attempt: number): Promise<AttemptReport> {
    if (target.channel === 'webhook') {
      return { attempt, ...(await sendSignedWebhook(config, target, event, ref.deliveryId)) };
    }
    if (target.channel === 'in_app') {
      const notice = { ...target, ruleId: target.id };
      return { attempt, ...(await deliverInApp(db, notice, event)) };
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

  /** Closes the pooled SMTP connections (worker shutdown). */
  function close(): void {
    if (mailer) closeMailer(mailer);
  }

  return { refFor, deliver, close };
}
