// Notification templates: text with `{{ path.to.value }}` placeholders, nothing else. No expressions,
// helpers, sections or partials, so a template can only read data, never run code. A dozen lines of
// parser are easier to audit than a template engine's feature set, hence no library. Lookups follow
// own properties only, so `{{ constructor.constructor }}` finds nothing and renders empty.

export class TemplateError extends Error {
  /** Character offset of the problem in the template. */
  readonly position: number;

  constructor(message: string, position: number) {
    super(message);
    this.name = 'TemplateError';
    this.position = position;
  }
}

type Part = string | { path: string[] };

const PLACEHOLDER = /\{\{(.*?)\}\}/gs;
const PATH = /^[A-Za-z_$][\w$-]*(\.[\w$-]+)*$/;
export const MAX_TEMPLATE_LENGTH = 100_000;

const parsed = new Map<string, Part[]>();

/** Splits a template into literal text and placeholder paths; throws `TemplateError` on bad syntax. */
export function parseTemplate(template: string): Part[] {
  const cached = parsed.get(template);
  if (cached) return cached;
  if (template.length > MAX_TEMPLATE_LENGTH) throw new TemplateError(`template is longer than ${MAX_TEMPLATE_LENGTH} characters`, 0);
  const parts: Part[] = [];
  let last = 0;
  for (const match of template.matchAll(PLACEHOLDER)) {
    const inner = match[1]!.trim();
    if (inner.startsWith('{')) {
      throw new TemplateError('triple braces are not supported: every value is escaped', match.index);
    }
    if (!PATH.test(inner)) {
      throw new TemplateError(`"{{${match[1]}}}" is not a placeholder: use a dotted path like {{ properties.name }}`, match.index);
    }
    checkLiteral(template.slice(last, match.index), last);
    parts.push(template.slice(last, match.index), { path: inner.split('.') });
    last = match.index + match[0].length;
  }
  checkLiteral(template.slice(last), last);
  parts.push(template.slice(last));
  if (parsed.size > 1_000) parsed.clear();
  parsed.set(template, parts);
  return parts;
}

function checkLiteral(text: string, offset: number): void {
  const open = text.indexOf('{{');
  if (open !== -1) throw new TemplateError('"{{" is never closed with "}}"', offset + open);
}

function lookup(context: unknown, path: string[]): unknown {
  let current = context;
  for (const key of path) {
    if (current === null || typeof current !== 'object' || !Object.hasOwn(current, key)) return undefined;
    current = (current as Record<string, unknown>)[key];
  }
  return current;
}

function stringify(value: unknown): string {
  if (value === undefined || value === null || typeof value === 'function' || typeof value === 'symbol') return '';
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

const HTML_ESCAPES: Record<string, string> = {
  '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;', '`': '&#96;', '=': '&#61;',
};

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"'`=]/g, (char) => HTML_ESCAPES[char]!);
}

export function renderTemplate(template: string, context: unknown, escape: (text: string) => string = (text) => text): string {
  let output = '';
  for (const part of parseTemplate(template)) {
    output += typeof part === 'string' ? part : escape(stringify(lookup(context, part.path)));
  }
  return output;
}

/** The event fields a template (or `recipient_property`) can reach. */
export interface TemplateEvent {
  id: string;
  type: string;
  user_id?: string | null;
  anonymous_id?: string | null;
  timestamp?: string;
  received_at?: string;
  properties?: Record<string, unknown>;
  context?: Record<string, unknown>;
}

/** `{{ event.type }}`, and the common shortcuts `{{ properties.x }}`, `{{ context.x }}`. */
export function templateContext(event: TemplateEvent): Record<string, unknown> {
  return { event, properties: event.properties ?? {}, context: event.context ?? {} };
}

export const MAX_SUBJECT_LENGTH = 250;

/** A subject is one header line: control characters (CR/LF above all) would let a value inject headers. */
function subjectLine(text: string): string {
  return text.replace(/[\p{Cc}\u2028\u2029]+/gu, ' ').replace(/ {2,}/g, ' ').trim().slice(0, MAX_SUBJECT_LENGTH);
}

/** The text alternative of an HTML body template: tags dropped, block ends as line breaks. */
function plainTemplate(body: string): string {
  return body
    .replace(/<(style|script|head)\b[^>]*>[\s\S]*?<\/\1\s*>/gi, '')
    .replace(/<(br|\/p|\/div|\/h[1-6]|\/li|\/tr)\b[^>]*>/gi, '\n')
    .replace(/<[^>]*>/g, '')
    .replace(/&nbsp;/g, ' ')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, '&')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}

export interface EmailTemplates {
  subject: string;
  /** HTML; values are HTML-escaped into it. */
  body: string;
}

export interface RenderedEmail {
  subject: string;
  html: string;
  text: string;
}

export function renderEmail(templates: EmailTemplates, event: TemplateEvent): RenderedEmail {
  const context = templateContext(event);
  return {
    subject: subjectLine(renderTemplate(templates.subject, context)),
    html: renderTemplate(templates.body, context, escapeHtml),
    text: renderTemplate(plainTemplate(templates.body), context),
  };
}

/** Renders both templates against a sample event; throws `TemplateError` for the API's 400. */
export function checkTemplates(templates: EmailTemplates): void {
  const sample: TemplateEvent = {
    id: 'evt_sample',
    type: 'sample.event',
    user_id: 'user_1',
    timestamp: new Date(0).toISOString(),
    properties: { email: 'someone@example.com' },
    context: {},
  };
  renderEmail(templates, sample);
}

// The same shape ajv-formats' `email` format accepts, so the API and delivery agree on what is valid.
const EMAIL = /^[a-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*@(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/i;

export function isEmailAddress(value: unknown): value is string {
  return typeof value === 'string' && value.length <= 254 && EMAIL.test(value);
}

/** A rule's recipients for one event: the fixed list plus the address at `recipient_property`, if valid. */
export function resolveRecipients(
  rule: { recipients: readonly string[]; recipient_property: string | null | undefined },
  event: TemplateEvent,
): string[] {
  const addresses = rule.recipients.filter(isEmailAddress);
  if (rule.recipient_property) {
    const value = lookup(templateContext(event), rule.recipient_property.split('.'));
    if (isEmailAddress(value)) addresses.push(value);
  }
  const seen = new Set<string>();
  return addresses.filter((address) => {
    const key = address.toLowerCase();
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** Why a `recipient_property` path is unusable, or undefined. */
export function recipientPropertyProblem(path: string): string | undefined {
  return PATH.test(path) && path.length <= 200 ? undefined : 'must be a dotted path like "properties.email"';
}
