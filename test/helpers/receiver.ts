import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedRequest {
  at: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** Decides the answer to the n-th request (1-based). */
export type Responder = (n: number, request: ReceivedRequest) => { status: number; headers?: Record<string, string>; body?: string };

export interface Receiver {
  url: string;
  requests: ReceivedRequest[];
  respondWith(responder: Responder): void;
  /** Stops listening and resolves once every open connection has ended: new connections are refused. */
  close(): Promise<void>;
  /** Listens again on the same port (a receiver back from an outage), keeping `requests`. */
  reopen(): Promise<void>;
}

/** A real HTTP webhook receiver on 127.0.0.1 that records every request it gets. */
export async function startReceiver(responder: Responder = () => ({ status: 200 })): Promise<Receiver> {
  const requests: ReceivedRequest[] = [];
  let respond = responder;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const request = { at: Date.now(), headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
      requests.push(request);
      const answer = respond(requests.length, request);
      res.writeHead(answer.status, answer.headers ?? {});
      res.end(answer.body ?? '');
    });
  });
  const listen = (port: number) =>
    new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
  await listen(0);
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    requests,
    respondWith(next) {
      respond = next;
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
    reopen: () => listen(port),
  };
}
