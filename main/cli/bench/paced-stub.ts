/**
 * The bench's stand-in provider: an OpenAI-compatible server on loopback whose streamed chat answers send N tokens at
 * a fixed pace, each chunk stamped with the moment it was written (`sent_at`, performance.now() of this process), so
 * a client in the same process measures each token's delay exactly, direct or through a proxy. A non-streamed answer
 * is immediate and small.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface PacedStub {
  url: string;
  close(): Promise<void>;
}

export async function startPacedStub(paceMs: number): Promise<PacedStub> {
  const server = createServer((req, res) => {
    let raw = '';
    req.on('data', (c) => {
      raw += c;
    });
    req.on('end', async () => {
      if (req.method === 'GET' && req.url === '/v1/models') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ object: 'list', data: [{ id: 'paced', object: 'model', owned_by: 'stub' }] }));
        return;
      }
      const body = JSON.parse(raw || '{}') as { stream?: boolean; max_tokens?: number };
      const base = { id: 'chatcmpl-paced', created: 0, model: 'paced' };
      if (!body.stream) {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({
            ...base,
            object: 'chat.completion',
            choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }],
            usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
          }),
        );
        return;
      }
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      const n = body.max_tokens ?? 64;
      for (let i = 0; i < n && !res.destroyed; i++) {
        await new Promise((r) => setTimeout(r, paceMs));
        const chunk = { ...base, object: 'chat.completion.chunk', sent_at: performance.now() };
        res.write(`data: ${JSON.stringify({ ...chunk, choices: [{ index: 0, delta: { content: ` t${i}` } }] })}\n\n`);
      }
      res.end('data: [DONE]\n\n');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
