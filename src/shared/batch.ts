// The data that crosses the API → workflow → activity boundaries. Types only: workflow code imports
// this file, so it must never gain a runtime dependency.

/** One event as accepted by the API: structurally valid, with its id assigned. */
export interface IngestEvent {
  id: string;
  type: string;
  user_id?: string;
  anonymous_id?: string;
  /** ISO-8601 as sent by the client (its clock). */
  timestamp?: string;
  properties?: Record<string, unknown>;
  context?: Record<string, unknown>;
}

/**
 * Which API accepted a request, when it was not EventFlow's own (REST `/v1/events`, GraphQL `trackEvent`):
 * `segment` for Segment's HTTP Tracking API (`/segment/v1/…`). Stored in the event's `enrichment`.
 */
export type IngestSource = 'segment';

/** What the API saw of the caller, for enrichment. */
export interface ClientInfo {
  ip?: string;
  userAgent?: string;
  source?: IngestSource;
}

/** Input of the per-batch workflow: the only place event bodies are written to history. */
export interface BatchInput {
  batchId: string;
  projectId: string;
  /** ISO-8601, the API's clock when the request arrived. */
  receivedAt: string;
  /** ISO-8601, the client's clock when it sent the batch (for clock-skew correction). */
  sentAt?: string;
  client: ClientInfo;
  events: IngestEvent[];
  /**
   * Set when the API coalesced several requests into this one run: each request stays a batch of its
   * own (id, clocks, client, summary), and `events` is their events in part order. The run's own
   * batchId, receivedAt, sentAt and client are then the first part's.
   */
  parts?: BatchPart[];
}

/** One coalesced request inside a BatchInput: its batch identity and how many of `events` are its own. */
export interface BatchPart {
  batchId: string;
  receivedAt: string;
  sentAt?: string;
  client: ClientInfo;
  eventCount: number;
}

export interface FieldError {
  field: string;
  message: string;
}

export interface Rejection {
  index: number;
  id: string;
  type: string;
  reasons: FieldError[];
}

export interface ValidationResult {
  /** Events that failed their type's JSON Schema; indexes refer to BatchInput.events. */
  rejected: Rejection[];
}

export interface ParsedUrl {
  host: string;
  path: string;
  utm?: Partial<Record<'source' | 'medium' | 'campaign' | 'term' | 'content', string>>;
}

export interface ClientEnrichment {
  ip?: string;
  user_agent?: string;
  browser?: string;
  os?: string;
  device_type?: string;
  source?: IngestSource;
}

export type Utm = NonNullable<ParsedUrl['utm']>;

/** Per-event enrichment; kept small because it is written to history once. */
export interface EventEnrichment {
  /** Clock-skew corrected event time (ISO-8601). */
  timestamp: string;
  /** URL-like properties parsed, keyed by property name (`context.page.url`, `context.page.referrer` for the page). */
  urls?: Record<string, ParsedUrl>;
  /** The campaign the event came from: `context.campaign`, else the UTM parameters of `context.page.url`. */
  utm?: Utm;
}

export interface EnrichmentResult {
  client: ClientEnrichment;
  /** Aligned with BatchInput.events. */
  events: EventEnrichment[];
}

export interface PersistInput {
  batchId: string;
  workflowId: string;
  projectId: string;
  receivedAt: string;
  sentAt?: string;
  client: ClientEnrichment;
  /** Events that passed validation, each with its enrichment. */
  events: Array<{ event: IngestEvent; enrichment: EventEnrichment }>;
  rejected: Array<Rejection & { payload: IngestEvent }>;
}

export interface PersistResult {
  stored: number;
  duplicates: number;
  /**
   * Ids actually inserted by this batch: the events downstream delivery works on. Empty when the
   * project had no enabled webhook endpoint or notification rule at persist time (see `deliverable`),
   * because this result is written to workflow history and ids nobody needs would cost 40 bytes each.
   */
  storedIds: string[];
  /**
   * Where those rows were written (their `ctid`s), aligned with storedIds, when they are deliverable:
   * dispatch reads the batch back by TID, which no planner estimate can turn into a scan of the
   * project's rows (it did, for projects newer than the table's statistics). A row that moved since
   * (VACUUM FULL, CLUSTER) is simply read by id instead.
   */
  storedRowRefs?: string[];
  /** Whether the project had a delivery target when the batch was stored (absent in older results). */
  deliverable?: boolean;
}

export interface BatchSummary {
  batchId: string;
  received: number;
  invalid: number;
  duplicates: number;
  stored: number;
  rejected: Array<{ id: string; type: string; reasons: FieldError[] }>;
  /** First-attempt outcome of webhook and email deliveries for the stored events. */
  deliveries?: { targets: number; delivered: number; handedOff: number };
  /** For a run that carried coalesced requests: each request's own summary (the fields above add them up). */
  batches?: Array<Omit<BatchSummary, 'deliveries' | 'batches'>>;
  /** For a run of accepted requests: how many it carried (each request's summary is in `batches` rows). */
  requests?: number;
}

/**
 * Input of a batch run since acceptance became a Postgres write: a claim check, not the bodies. The run's
 * accepted requests stay in `ingest_requests` (Postgres) until its persist step stores their events; the
 * activities read them by `runId` and refuse rows that do not match `eventCount` and `digest`.
 */
export interface BatchRef {
  runId: string;
  projectId: string;
  /** The accepted requests (their batch ids) in acceptance order. */
  batchIds: string[];
  eventCount: number;
  /** Hex SHA-256 over the requests' own digests, in order. */
  digest: string;
}

/** One accepted request as read back for processing. */
export interface AcceptedRequest {
  batchId: string;
  receivedAt: string;
  sentAt?: string;
  client: ClientInfo;
  events: IngestEvent[];
  /** The trace of the request that accepted it (kept with its batch, so its timeline finds the spans). */
  traceId?: string;
}

/** What the enrich step of a run leaves in history: counts, while the enrichment itself goes to persist. */
export interface RunEnrichmentSummary {
  events: number;
  clockSkewCorrected: number;
  urlsParsed: number;
}

/** A run's persist result: the stored ids for dispatch (when deliverable) and the run's summary. */
export interface RunPersistResult extends PersistResult {
  summary: Omit<BatchSummary, 'deliveries' | 'batches' | 'requests'> & { batches: number };
}
