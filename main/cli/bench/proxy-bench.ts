/**
 * `plas bench proxy`: what forwarding to a remote provider adds, against calling the remote directly on the same
 * machine. Our server runs as `plas serve` does (its own process); the client here alternates direct and proxied
 * requests (same keep-alive client both ways) and reports p50/p95 of:
 * - a small non-streamed request (latency of the whole request);
 * - per streamed token: against the paced stub (in this process, so each chunk carries the moment it was written),
 *   the delay from written to received; against a real `plas serve`, the gaps between tokens and the time to the
 *   first one (its chunks carry no clock we share).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { startPacedStub } from './paced-stub.ts';

const ROOT = join(import.meta.dirname, '..', '..', '..');
const agent = new Agent({ keepAlive: true, noDelay: true }); // both paths alike: no Nagle delay

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`expected a positive integer, got "${value}"`);
  return n;
}

interface Served {
  url: string;
  token: string;
  stop(): Promise<void>;
}

/** `plas serve` as a child process (port 0, its own data dir), resolved once its model is loaded. */
async function serve(extra: string[]): Promise<Served> {
  const dataDir = await mkdtemp(join(tmpdir(), 'plas-bench-proxy-'));
  const child: ChildProcess = spawn(
    process.execPath,
    ['--import', 'tsx', join(ROOT, 'main/cli/plas.ts'), 'serve', '--port', '0', '--data-dir', dataDir, ...extra],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let err = '';
  child.stderr!.on('data', (c) => {
    err += c;
  });
  const ready = await new Promise<{ url: string; token: string }>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (c) => {
      out += c;
      const line = out.split('\n').find((l) => l.includes('"ready"'));
      if (line) resolve(JSON.parse(line));
    });
    child.once('exit', (code) => reject(new Error(`plas serve exited with ${code}: ${err}`)));
  });
  for (let i = 0; i < 1200; i++) {
    const r = await call(`${ready.url}/health`, 'GET', null, {}).catch(() => ({ status: 0 }));
    if (r.status === 200) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    ...ready,
    async stop() {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 6000))]);
      if (child.exitCode === null) child.kill('SIGKILL');
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

interface Answer {
  status: number;
  body: string;
  /** Each SSE event's JSON with the time it arrived (performance.now()). */
  events: { at: number; data: Record<string, unknown> }[];
}

function call(url: string, method: string, body: unknown, headers: Record<string, string>): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const raw = body === null ? undefined : JSON.stringify(body);
    const req = request(
      url,
      {
        method,
        agent,
        headers: { ...headers, ...(raw ? { 'content-type': 'application/json' } : {}) },
      },
      (res) => {
        let text = '';
        let pending = '';
        const events: Answer['events'] = [];
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          const at = performance.now();
          text += c;
          pending += c;
          let cut = pending.indexOf('\n\n');
          while (cut >= 0) {
            const block = pending.slice(0, cut);
            pending = pending.slice(cut + 2);
            if (block.startsWith('data: {')) events.push({ at, data: JSON.parse(block.slice(6)) });
            cut = pending.indexOf('\n\n');
          }
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text, events }));
      },
    );
    req.on('error', reject);
    req.end(raw);
  });
}

export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

export interface Row {
  target: string;
  measure: string;
  direct: { p50: number; p95: number };
  proxied: { p50: number; p95: number };
  samples: number;
}

const stats = (v: number[]) => ({ p50: percentile(v, 50), p95: percentile(v, 95) });
const row = (target: string, measure: string, direct: number[], proxied: number[]): Row => ({
  target,
  measure,
  direct: stats(direct),
  proxied: stats(proxied),
  samples: Math.min(direct.length, proxied.length),
});

interface Endpoint {
  url: string;
  model: string;
  headers: Record<string, string>;
}

async function nonStreamed(e: Endpoint, maxTokens: number): Promise<number> {
  const t0 = performance.now();
  const r = await call(
    `${e.url}/chat/completions`,
    'POST',
    { model: e.model, messages: [{ role: 'user', content: 'Hi' }], max_tokens: maxTokens },
    e.headers,
  );
  if (r.status !== 200) throw new Error(`${e.url}: HTTP ${r.status}: ${r.body.slice(0, 300)}`);
  return performance.now() - t0;
}

async function streamed(e: Endpoint, maxTokens: number, extra: Record<string, unknown> = {}) {
  const t0 = performance.now();
  const r = await call(
    `${e.url}/chat/completions`,
    'POST',
    {
      model: e.model,
      messages: [{ role: 'user', content: 'Tell me a story.' }],
      max_tokens: maxTokens,
      stream: true,
      ...extra,
    },
    e.headers,
  );
  if (r.status !== 200) throw new Error(`${e.url}: HTTP ${r.status}: ${r.body.slice(0, 300)}`);
  const tokens = r.events.filter(
    (x) => (x.data.choices as { delta?: { content?: string } }[] | undefined)?.[0]?.delta?.content,
  );
  return { t0, tokens };
}

export interface ProxyBenchOptions {
  requests: number;
  streams: number;
  tokens: number;
  paceMs: number;
  real: boolean;
  realRequests: number;
  realTokens: number;
  software: boolean;
}

export async function benchProxy(o: ProxyBenchOptions, onRow: (r: Row) => void): Promise<Row[]> {
  const rows: Row[] = [];
  const emit = (r: Row) => {
    rows.push(r);
    onRow(r);
  };
  const gpu = o.software ? ['--software'] : [];
  const small = ['--kv-cache-memory', '16', '--max-num-seqs', '4'];
  const stub = await startPacedStub(o.paceMs);
  const proxy = await serve([...gpu, ...small]);
  const remoteKey = 'bench-remote-key';
  const remote = o.real ? await serve([...gpu, ...small, '--api-key', remoteKey]) : null;
  try {
    const admin = { authorization: `Bearer ${proxy.token}` };
    const add = async (name: string, baseUrl: string, apiKey?: string) => {
      const r = await call(`${proxy.url}/api/providers`, 'POST', { name, baseUrl, apiKey }, admin);
      if (r.status !== 201 || JSON.parse(r.body).status.state !== 'ok') throw new Error(`adding ${name}: ${r.body}`);
    };
    await add('stub', stub.url);
    const direct: Endpoint = { url: stub.url, model: 'paced', headers: {} };
    const proxied: Endpoint = { url: `${proxy.url}/v1`, model: 'stub/paced', headers: admin };

    // Warm both paths (connections, JIT), then alternate.
    for (let i = 0; i < 20; i++) {
      await nonStreamed(direct, 1);
      await nonStreamed(proxied, 1);
    }
    const d: number[] = [];
    const p: number[] = [];
    for (let i = 0; i < o.requests; i++) {
      d.push(await nonStreamed(direct, 1));
      p.push(await nonStreamed(proxied, 1));
    }
    emit(row(`stub`, 'request, non-streamed (ms)', d, p));

    const delay = async (e: Endpoint) =>
      (await streamed(e, o.tokens)).tokens.map((t) => t.at - (t.data.sent_at as number));
    const dd: number[] = [];
    const pd: number[] = [];
    for (let i = 0; i < o.streams; i++) {
      dd.push(...(await delay(direct)));
      pd.push(...(await delay(proxied)));
    }
    emit(row(`stub, ${o.tokens} tokens every ${o.paceMs} ms`, 'token delay, written -> received (ms)', dd, pd));

    if (remote) {
      await add('remote', `${remote.url}/v1`, remoteKey);
      const rd: Endpoint = {
        url: `${remote.url}/v1`,
        model: 'plas-mini',
        headers: { authorization: `Bearer ${remoteKey}` },
      };
      const rp: Endpoint = { url: `${proxy.url}/v1`, model: 'remote/plas-mini', headers: admin };
      for (let i = 0; i < 3; i++) {
        await nonStreamed(rd, 1);
        await nonStreamed(rp, 1);
      }
      const a: number[] = [];
      const b: number[] = [];
      for (let i = 0; i < o.realRequests; i++) {
        a.push(await nonStreamed(rd, 1));
        b.push(await nonStreamed(rp, 1));
      }
      emit(row('plas serve (PLAS Mini)', 'request, non-streamed, 1 token (ms)', a, b));
      const gaps = { d: [] as number[], p: [] as number[], td: [] as number[], tp: [] as number[] };
      const oneStream = async (e: Endpoint, into: number[], ttft: number[]) => {
        const { t0, tokens } = await streamed(e, o.realTokens, { ignore_eos: true, temperature: 0 });
        if (tokens.length > 0) ttft.push(tokens[0].at - t0);
        for (let i = 1; i < tokens.length; i++) into.push(tokens[i].at - tokens[i - 1].at);
      };
      for (let i = 0; i < o.streams; i++) {
        await oneStream(rd, gaps.d, gaps.td);
        await oneStream(rp, gaps.p, gaps.tp);
      }
      emit(row('plas serve (PLAS Mini)', 'time to first token, streamed (ms)', gaps.td, gaps.tp));
      emit(row('plas serve (PLAS Mini)', `gap between tokens, ${o.realTokens} tokens (ms)`, gaps.d, gaps.p));
    }
  } finally {
    await remote?.stop();
    await proxy.stop();
    await stub.close();
  }
  return rows;
}

const f = (n: number) => n.toFixed(2).padStart(8);

export function proxyTableHeader(): string {
  return `${'target'.padEnd(34)} ${'measure'.padEnd(42)} ${'direct p50'.padStart(10)} ${'p95'.padStart(8)} ${'proxied p50'.padStart(11)} ${'p95'.padStart(8)} ${'added p50'.padStart(9)} ${'p95'.padStart(8)}  n`;
}

export function proxyTableRow(r: Row): string {
  return `${r.target.padEnd(34)} ${r.measure.padEnd(42)} ${f(r.direct.p50).padStart(10)} ${f(r.direct.p95)} ${f(r.proxied.p50).padStart(11)} ${f(r.proxied.p95)} ${f(r.proxied.p50 - r.direct.p50).padStart(9)} ${f(r.proxied.p95 - r.direct.p95)}  ${r.samples}`;
}

export function proxyBenchCommand(): Command {
  return new Command('proxy')
    .description('latency a remote provider gets through our proxy, against calling it directly (p50, p95)')
    .option('--requests <n>', 'non-streamed requests per path (stub)', positiveInt, 300)
    .option('--streams <n>', 'streams per path', positiveInt, 5)
    .option('--tokens <n>', 'tokens per stub stream', positiveInt, 200)
    .option('--pace <ms>', 'ms between the stub streamed tokens', positiveInt, 5)
    .option('--no-real', 'skip the real plas serve remote (PLAS Mini)')
    .option('--real-requests <n>', 'non-streamed requests per path (real remote)', positiveInt, 10)
    .option('--real-tokens <n>', 'tokens per real stream', positiveInt, 32)
    .option('--software', 'the servers use SwiftShader (CPU Vulkan)')
    .option('--json', 'print one JSON document instead of a table')
    .action(
      async (flags: {
        requests: number;
        streams: number;
        tokens: number;
        pace: number;
        real: boolean;
        realRequests: number;
        realTokens: number;
        software?: boolean;
        json?: boolean;
      }) => {
        if (!flags.json) console.log(proxyTableHeader());
        const rows = await benchProxy(
          {
            requests: flags.requests,
            streams: flags.streams,
            tokens: flags.tokens,
            paceMs: flags.pace,
            real: flags.real,
            realRequests: flags.realRequests,
            realTokens: flags.realTokens,
            software: flags.software ?? false,
          },
          (r) => {
            if (!flags.json) console.log(proxyTableRow(r));
          },
        );
        if (flags.json) console.log(JSON.stringify({ rows }, null, 2));
        agent.destroy();
      },
    );
}
