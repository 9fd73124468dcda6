// The few admin calls the benchmark makes through the real API: a project per phase (so every phase's
// events are counted apart), a write key for the load generator, and a webhook endpoint.

export interface BenchProject {
  id: string;
  adminKey: string;
  writeKey: string;
}

async function call<T>(apiUrl: string, key: string, path: string, body: unknown, expected: number): Promise<T> {
  const response = await fetch(`${apiUrl}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  if (response.status !== expected) throw new Error(`POST ${path} answered ${response.status}: ${text}`);
  return JSON.parse(text) as T;
}

export async function createBenchProject(apiUrl: string, rootKey: string, name: string): Promise<BenchProject> {
  const project = await call<{ id: string; admin_key: { key: string } }>(apiUrl, rootKey, '/v1/projects', { name }, 201);
  const write = await call<{ key: string }>(
    apiUrl,
    project.admin_key.key,
    `/v1/projects/${project.id}/keys`,
    { kind: 'write', name: 'benchmark load generator' },
    201,
  );
  return { id: project.id, adminKey: project.admin_key.key, writeKey: write.key };
}

export async function createWebhook(apiUrl: string, adminKey: string, url: string): Promise<string> {
  const endpoint = await call<{ id: string }>(apiUrl, adminKey, '/v1/webhooks', { url, event_types: ['*'], description: 'benchmark receiver' }, 201);
  return endpoint.id;
}
