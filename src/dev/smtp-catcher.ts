import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { SMTPServer } from 'smtp-server';
import { simpleParser } from 'mailparser';

// A local stand-in for Mailpit: accepts any mail over plain SMTP and shows it in a browser and over
// JSON, so the dev stack and the tests see exactly what EventFlow sent without a real mail provider.

export interface CaughtMessage {
  id: string;
  from: string;
  /** Envelope recipients: who the mail was actually delivered to, Bcc included. */
  to: string[];
  subject: string;
  text: string;
  html: string | null;
  date: string;
}

export interface SmtpCatcher {
  /** For SMTP_URL, e.g. `smtp://127.0.0.1:1025`. */
  smtpUrl: string;
  inboxUrl: string;
  smtpPort: number;
  httpPort: number;
  messages(): CaughtMessage[];
  stop(): Promise<void>;
}

export interface SmtpCatcherOptions {
  /** 0 picks a free port; the real one is returned. */
  smtpPort?: number;
  httpPort?: number;
  host?: string;
}

// Enough for any test run or afternoon of clicking, small enough that a mail loop cannot eat the RAM.
const MAX_MESSAGES = 500;
// The body limit a real provider would typically enforce; bigger mails are a bug worth seeing.
const MAX_MESSAGE_BYTES = 10 * 1024 * 1024;

export async function startSmtpCatcher(options: SmtpCatcherOptions = {}): Promise<SmtpCatcher> {
  const host = options.host ?? '127.0.0.1';
  const inbox: CaughtMessage[] = [];

  const smtp = new SMTPServer({
    // Any credentials are accepted and none are required: SMTP_URL may or may not carry them.
    authOptional: true,
    allowInsecureAuth: true,
    onAuth: (auth, _session, callback) => callback(null, { user: auth.username ?? 'anonymous' }),
    // Without a trusted certificate, advertising STARTTLS would make clients fail verification.
    disabledCommands: ['STARTTLS'],
    size: MAX_MESSAGE_BYTES,
    logger: false,
    onData(stream, session, callback) {
      simpleParser(stream)
        .then((mail) => {
          if (stream.sizeExceeded) {
            callback(Object.assign(new Error('Message exceeds the size limit'), { responseCode: 552 }));
            return;
          }
          inbox.push({
            id: randomUUID(),
            from: mail.from?.text || (session.envelope.mailFrom ? session.envelope.mailFrom.address : ''),
            to: session.envelope.rcptTo.map((recipient) => recipient.address),
            subject: mail.subject ?? '',
            text: mail.text ?? '',
            html: typeof mail.html === 'string' ? mail.html : null,
            date: (mail.date ?? new Date()).toISOString(),
          });
          if (inbox.length > MAX_MESSAGES) inbox.splice(0, inbox.length - MAX_MESSAGES);
          callback();
        })
        .catch((error: unknown) => callback(error as Error));
    },
  });

  const http = createServer((request, response) => handleInboxRequest(request, response, inbox));

  const smtpPort = await listen(smtp.server, options.smtpPort ?? 1025, host);
  let httpPort: number;
  try {
    httpPort = await listen(http, options.httpPort ?? 1080, host);
  } catch (error) {
    await new Promise<void>((resolve) => smtp.close(() => resolve()));
    throw error;
  }

  return {
    smtpUrl: `smtp://${host}:${smtpPort}`,
    inboxUrl: `http://${host}:${httpPort}`,
    smtpPort,
    httpPort,
    messages: () => [...inbox],
    async stop() {
      http.closeAllConnections();
      await Promise.all([
        new Promise<void>((resolve) => http.close(() => resolve())),
        new Promise<void>((resolve) => smtp.close(() => resolve())),
      ]);
    },
  };
}

function listen(server: Server | SMTPServer['server'], port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

function handleInboxRequest(request: IncomingMessage, response: ServerResponse, inbox: CaughtMessage[]): void {
  const path = new URL(request.url ?? '/', 'http://localhost').pathname;
  if (path === '/api/messages' && request.method === 'GET') {
    sendJson(response, 200, inbox);
  } else if (path === '/api/messages' && request.method === 'DELETE') {
    inbox.length = 0;
    response.writeHead(204).end();
  } else if (path === '/' && request.method === 'GET') {
    response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(renderInbox(inbox));
  } else {
    sendJson(response, 404, { error: { code: 'not_found', message: `No route for ${request.method} ${path}` } });
  }
}

function sendJson(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
}

function renderInbox(inbox: CaughtMessage[]): string {
  const rows = [...inbox]
    .reverse()
    .map(
      (message) => `<details><summary><b>${escapeHtml(message.subject || '(no subject)')}</b> — ` +
        `${escapeHtml(message.from)} → ${escapeHtml(message.to.join(', '))} <small>${message.date}</small>` +
        `</summary><pre>${escapeHtml(message.text)}</pre></details>`,
    )
    .join('\n');
  return `<!doctype html><meta charset="utf-8"><title>EventFlow inbox</title>
<style>body{font-family:system-ui,sans-serif;margin:2rem}details{border-bottom:1px solid #ddd;padding:.5rem 0}
pre{white-space:pre-wrap;background:#f6f6f6;padding:.5rem}</style>
<h1>EventFlow inbox (${inbox.length})</h1>
<p>JSON: <a href="/api/messages">GET /api/messages</a>, clear with <code>DELETE /api/messages</code>. Reload to refresh.</p>
${rows || '<p>No mail yet.</p>'}`;
}
