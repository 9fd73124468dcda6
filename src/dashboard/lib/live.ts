import { createClient, type Client } from 'graphql-sse';
import { useEffect, useRef } from 'react';
import { authHeaders } from './api.ts';

// GraphQL subscriptions over Server-Sent Events ("distinct connections" mode, which Yoga speaks): each
// subscription is one streamed POST that carries the session's token and project like any other call.

let client: Client | undefined;

function sseClient(): Client {
  client ??= createClient({ url: '/graphql', singleConnection: false, headers: authHeaders, retryAttempts: Infinity });
  return client;
}

/** Calls `onData` with each result of `query` while the component is mounted (and `key` unchanged). */
export function useSubscription<T>(query: string, variables: Record<string, unknown>, onData: (data: T) => void, key: string | undefined): void {
  const handler = useRef(onData);
  handler.current = onData;
  const variablesJson = JSON.stringify(variables);
  useEffect(() => {
    if (!key) return;
    return sseClient().subscribe<T>(
      { query, variables: JSON.parse(variablesJson) as Record<string, unknown> },
      {
        next: (result) => {
          if (result.data) handler.current(result.data as T);
        },
        // Reconnection is the client's (retryAttempts); nothing to show for a dropped stream.
        error: () => undefined,
        complete: () => undefined,
      },
    );
  }, [query, variablesJson, key]);
}
