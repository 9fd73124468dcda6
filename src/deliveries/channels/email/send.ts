import nodemailer, { type Transporter } from 'nodemailer';
import type SMTPTransport from 'nodemailer/lib/smtp-transport/index.js';
import type { AttemptResult } from '../../../shared/delivery.ts';

// Email notifications over SMTP. One pooled transport per process: opening an SMTP session (greeting,
// EHLO, maybe TLS and AUTH) costs several round trips, so connections are kept and reused.

export interface Mailer {
  transport: Transporter<SMTPTransport.SentMessageInfo>;
  from: string;
  /** The domain of `from`, for Message-IDs. */
  domain: string;
}

export interface EmailMessage {
  to: string[];
  subject: string;
  html: string;
  text: string;
  /** The delivery's stable id (same on every retry and replay): becomes the Message-ID. */
  deliveryId: string;
  headers?: Record<string, string>;
}

export const RESPONSE_EXCERPT_CHARS = 1024;

// Query parameters override these; SMTP servers that take longer than this are better retried later.
const POOL_DEFAULTS: Record<string, string> = {
  pool: 'true',
  maxConnections: '5',
  connectionTimeout: '10000',
  greetingTimeout: '10000',
  socketTimeout: '30000',
};

function domainOf(from: string): string {
  const match = from.match(/@([^\s>]+)>?\s*$/);
  return match?.[1] ?? 'eventflow.invalid';
}

/** `smtpUrl` like `smtp://user:pass@host:587` or `smtps://host:465`; options may ride as query parameters. */
export function createMailer(smtpUrl: string, from: string): Mailer {
  // nodemailer ignores sibling options when given a `url`, so the pool settings travel in the query.
  const url = new URL(smtpUrl);
  for (const [name, value] of Object.entries(POOL_DEFAULTS)) {
    if (!url.searchParams.has(name)) url.searchParams.set(name, value);
  }
  const transport = nodemailer.createTransport(url.toString());
  return { transport, from, domain: domainOf(from) };
}

export function closeMailer(mailer: Mailer): void {
  mailer.transport.close();
}

interface SmtpError extends Error {
  code?: string;
  responseCode?: number;
  response?: string;
}

// Errors nodemailer raises before talking to the server about the message itself: retrying the same
// message cannot fix them.
const PERMANENT_CLIENT_CODES = new Set(['EENVELOPE', 'EMESSAGE']);

function statusOf(response: string | undefined): number | undefined {
  const code = Number(response?.match(/^\d{3}/)?.[0]);
  return Number.isInteger(code) && code > 0 ? code : undefined;
}

/** One SMTP submission. 5xx replies are permanent; 4xx replies and connection trouble are retryable. */
export async function sendEmail(mailer: Mailer, message: EmailMessage): Promise<AttemptResult> {
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  try {
    const info = await mailer.transport.sendMail({
      from: mailer.from,
      to: message.to,
      subject: message.subject,
      html: message.html,
      text: message.text,
      // Derived from the delivery id so a retried or replayed notification is recognisably the same one.
      messageId: `<${message.deliveryId}@${mailer.domain}>`,
      headers: { ...message.headers, 'X-EventFlow-Delivery-Id': message.deliveryId },
    });
    const result: AttemptResult = { outcome: 'delivered', durationMs: elapsed() };
    const statusCode = statusOf(info.response);
    if (statusCode !== undefined) result.statusCode = statusCode;
    if (info.response) result.responseExcerpt = info.response.slice(0, RESPONSE_EXCERPT_CHARS);
    const rejected = (info.rejected ?? []).map(String);
    if (rejected.length > 0) result.error = `some recipients were rejected: ${rejected.join(', ')}`;
    return result;
  } catch (caught) {
    const error = caught as SmtpError;
    const statusCode = error.responseCode ?? statusOf(error.response);
    const permanent = statusCode !== undefined ? statusCode >= 500 : PERMANENT_CLIENT_CODES.has(error.code ?? '');
    const result: AttemptResult = {
      outcome: permanent ? 'permanent' : 'retryable',
      durationMs: elapsed(),
      error: error.code ? `${error.code}: ${error.message}` : error.message,
    };
    if (statusCode !== undefined) result.statusCode = statusCode;
    if (error.response) result.responseExcerpt = error.response.slice(0, RESPONSE_EXCERPT_CHARS);
    return result;
  }
}
