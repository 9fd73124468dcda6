import type { Knex } from 'knex';
import type { Logger } from '../logging.ts';
import { EVENTS_STORED_CHANNEL, NOTIFICATIONS_CHANNEL } from './channels.ts';

interface Listener {
  /** Something new may be in the inbox. */
  poke(): void;
  /** The hub is stopping (the process shuts down): end the stream so the client reconnects elsewhere. */
  close(): void;
}

export interface EventsStored {
  stored: number;
  /** Stored events per type (absent when a run stored too many types to list). */
  counts?: Record<string, number>;
}

export interface LiveFeed {
  /** Tells `listener` whenever something new may be in this user's inbox in this project. */
  subscribe(projectId: string, userId: string, listener: Listener): () => void;
  /** Tells `listener` of every commit that stored events in this project. */
  subscribeEvents(projectId: string, listener: { stored(change: EventsStored): void; close(): void }): () => void;
  stop(): Promise<void>;
}

/**
 * One LISTEN connection per API process, fanned out to that process's open streams and subscriptions. The NOTIFY is sent
 * in the transaction that inserts the notifications (src/deliveries/channels/in-app/deliver.ts), so a
 * stream on any API process hears of a notification once it is committed; the stream then reads it
 * from Postgres, so the payload never has to carry it. A dropped connection is re-made, and every
 * stream is poked afterwards to catch up on what it may have missed.
 */
export function startLiveFeed(db: Knex, log: Logger): LiveFeed {
  const listeners = new Map<string, Set<Listener>>();
  const eventListeners = new Map<string, Set<{ stored(change: EventsStored): void; close(): void }>>();
  let connection: { on: Function; query: Function; removeAllListeners: Function } | undefined;
  let stopped = false;

  const key = (projectId: string, userId: string) => `${projectId}:${userId}`;
  const pokeAll = () => listeners.forEach((set) => set.forEach((listener) => listener.poke()));

  async function connect(): Promise<void> {
    while (!stopped) {
      try {
        const raw = await db.client.acquireRawConnection();
        raw.on('notification', (message: { channel: string; payload?: string }) => {
          if (!message.payload) return;
          try {
            if (message.channel === NOTIFICATIONS_CHANNEL) {
              const { project_id: projectId, user_ids: userIds } = JSON.parse(message.payload) as { project_id: string; user_ids: string[] };
              for (const userId of userIds) listeners.get(key(projectId, userId))?.forEach((listener) => listener.poke());
            } else if (message.channel === EVENTS_STORED_CHANNEL) {
              const { project_id: projectId, stored, counts } = JSON.parse(message.payload) as { project_id: string } & EventsStored;
              eventListeners.get(projectId)?.forEach((listener) => listener.stored({ stored, ...(counts ? { counts } : {}) }));
            }
          } catch (error) {
            log.warn({ err: error }, 'ignoring a malformed notification payload');
          }
        });
        // An error or a plain end (Postgres restarted, the connection was terminated) both mean: listen again.
        let lost = false;
        const reconnect = (error?: unknown) => {
          if (lost || stopped) return;
          lost = true;
          log.warn({ err: error }, 'live feed connection lost; listening again');
          connection = undefined;
          setTimeout(() => void connect(), 1_000).unref();
        };
        raw.on('error', reconnect);
        raw.on('end', () => reconnect());
        try {
          await raw.query(`LISTEN ${NOTIFICATIONS_CHANNEL}; LISTEN ${EVENTS_STORED_CHANNEL}`);
        } catch (error) {
          lost = true; // its 'end' must not start a second reconnect beside this loop's retry
          await db.client.destroyRawConnection(raw).catch(() => undefined);
          throw error;
        }
        connection = raw;
        pokeAll();
        return;
      } catch (error) {
        log.warn({ err: error }, 'could not LISTEN for notifications; retrying');
        await new Promise((resolve) => setTimeout(resolve, 1_000).unref());
      }
    }
  }
  const connecting = connect();

  return {
    subscribe(projectId, userId, listener) {
      const set = listeners.get(key(projectId, userId)) ?? new Set();
      listeners.set(key(projectId, userId), set);
      set.add(listener);
      return () => {
        set.delete(listener);
        if (set.size === 0) listeners.delete(key(projectId, userId));
      };
    },
    subscribeEvents(projectId, listener) {
      const set = eventListeners.get(projectId) ?? new Set();
      eventListeners.set(projectId, set);
      set.add(listener);
      return () => {
        set.delete(listener);
        if (set.size === 0) eventListeners.delete(projectId);
      };
    },
    async stop() {
      stopped = true;
      listeners.forEach((set) => set.forEach((listener) => listener.close()));
      listeners.clear();
      eventListeners.forEach((set) => set.forEach((listener) => listener.close()));
      eventListeners.clear();
      await connecting;
      const raw = connection;
      connection = undefined;
      if (raw) {
        raw.removeAllListeners();
        await db.client.destroyRawConnection(raw).catch(() => undefined);
      }
    },
  };
}
