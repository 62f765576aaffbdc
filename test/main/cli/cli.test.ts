/** The `plas` command line as a user runs it: help on every command, bench kernels --json, generate --json. */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import { promisify } from 'node:util';
import { writeTinyModel } from '../../fixtures/tiny-model.ts';

const run = promisify(execFile);
const root = join(import.meta.dirname, '..', '..', '..');
const plas = (...args: string[]) =>
  run(process.execPath, ['--import', 'tsx', join(root, 'main/cli/plas.ts'), ...args], {
    cwd: root,
    maxBuffer: 64 * 2 ** 20,
  });

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'plas-cli-'));
});
after(() => rm(dir, { recursive: true, force: true }));

it('every command has --help', async () => {
  const commands = [
    [],
    ['gpu'],
    ['bench'],
    ['bench', 'kernels'],
    ['bench', 'serve'],
    ['bench', 'attention'],
    ['serve'],
    ['generate'],
    ['gate', 'train'],
    ['eval', 'retrieval'],
  ];
  for (const command of commands) {
    const { stdout } = await plas(...command, '--help');
    assert.match(stdout, /^Usage: plas/m, `plas ${command.join(' ')} --help`);
  }
});

it('bench kernels --json reports the adapter and a row per case with GPU and twin timings', async () => {
  const { stdout } = await plas(
    'bench',
    'kernels',
    '--json',
    '--quick',
    '--software',
    '--repeats',
    '1',
    '--kernel',
    'rmsnorm',
  );
  const report = JSON.parse(stdout);
  assert.equal(report.adapter.architecture, 'swiftshader');
  assert.ok(report.rows.length >= 2);
  for (const row of report.rows) {
    assert.equal(row.kernel, 'rmsnorm+residual');
    assert.ok(row.gpuMs > 0 && row.twinMs > 0 && row.gpuGBps > 0, JSON.stringify(row));
  }
});

it('bench serve --compare-attention runs dense then PLAS on the same prompts and prints PLAS over dense', async () => {
  // PLAS Mini (blocks of 32): 640 prompt tokens are 20 blocks, sparse from 512 tokens on (its plas_config.json).
  const { stdout } = await plas(
    'bench',
    'serve',
    '--compare-attention',
    '--concurrency',
    '1',
    '--prompt-tokens',
    '640',
    '--max-tokens',
    '3',
    '--json',
    '--software',
  );
  const report = JSON.parse(stdout);
  assert.deepEqual(
    report.rows.map((r: { attention: string }) => r.attention),
    ['dense', 'plas'],
  );
  const [dense, sparse] = report.rows;
  assert.equal(dense.plasDensity, 1);
  assert.ok(sparse.plasDensity > 0 && sparse.plasDensity < 1, `PLAS kept ${sparse.plasDensity} of the blocks`);
  assert.equal(report.plasOverDense.length, 1);
  const ratio = report.plasOverDense[0];
  assert.equal(ratio.ttftRatio, sparse.ttftMsP50 / dense.ttftMsP50);
  assert.equal(ratio.tpotRatio, sparse.tpotMsP50 / dense.tpotMsP50);
  await assert.rejects(
    plas('bench', 'serve', '--compare-attention', '--no-plas', '--software'),
    (e: { stderr: string }) => /--compare-attention needs PLAS/.test(e.stderr),
  );
});

it('generate --json streams a greedy completion with timings, reproducibly', async () => {
  const model = join(dir, 'qwen3');
  await writeTinyModel(model, { architecture: 'qwen3', dtype: 'bf16', seed: 5 });
  const args = ['generate', '--model', model, '--chat', 'Hi!', '--max-tokens', '5', '--json', '--software'];
  const first = JSON.parse((await plas(...args)).stdout);
  assert.equal(first.architecture, 'Qwen3ForCausalLM');
  assert.equal(first.tokens.length, 5);
  assert.equal(first.usage.completionTokens, 5);
  assert.ok(first.timings.decodeTokensPerSecond > 0 && first.timings.loadMs > 0);
  const again = JSON.parse((await plas(...args)).stdout);
  assert.deepEqual(again.tokens, first.tokens, 'greedy generation is deterministic');
  const sampled = [
    'generate',
    '--model',
    model,
    '--prompt',
    'Once',
    '--max-tokens',
    '6',
    '--temperature',
    '1',
    '--seed',
    '7',
    '--json',
    '--software',
  ];
  const a = JSON.parse((await plas(...sampled)).stdout);
  const b = JSON.parse((await plas(...sampled)).stdout);
  assert.deepEqual(a.tokens, b.tokens, 'the same seed samples the same tokens');
});

it('generate sizes the KV cache from --max-model-len, --kv-cache-memory and --kv-cache-dtype, and says what fits', async () => {
  const model = join(dir, 'llama-kv');
  await writeTinyModel(model, { architecture: 'llama', dtype: 'f16', seed: 5 });
  const base = ['generate', '--model', model, '--prompt', 'Once', '--max-tokens', '3', '--software'];
  const f16 = JSON.parse((await plas(...base, '--json')).stdout);
  // Default: one request's tokens, in f16.
  assert.equal(f16.kvCache.dtype, 'f16');
  assert.equal(f16.kvCache.maxModelLen, f16.promptTokens + 3);
  assert.ok(f16.kvCache.tokens >= f16.kvCache.maxModelLen && f16.kvCache.tokens < f16.kvCache.maxModelLen + 64);
  const f32 = JSON.parse((await plas(...base, '--json', '--kv-cache-dtype', 'f32', '--max-model-len', '256')).stdout);
  assert.equal(f32.kvCache.dtype, 'f32');
  assert.equal(f32.kvCache.maxModelLen, 256);
  assert.deepEqual(f32.tokens, f16.tokens, 'f16 KV gives the same greedy tokens');
  assert.equal(
    f32.kvCache.bytes / f32.kvCache.tokens,
    (2 * f16.kvCache.bytes) / f16.kvCache.tokens,
    'f32 is twice f16',
  );

  for (const [flag, value, message] of [
    [
      '--kv-cache-memory',
      '0',
      /error: option '--kv-cache-memory <MB>' argument '0' is invalid\. expected a size in MiB > 0/,
    ],
    ['--kv-cache-memory', 'lots', /argument 'lots' is invalid\. expected a size in MiB/],
    [
      '--max-model-len',
      '1.5',
      /error: option '--max-model-len <n>' argument '1\.5' is invalid\. expected a whole number/,
    ],
    [
      '--kv-cache-dtype',
      'f8',
      /error: option '--kv-cache-dtype <dtype>' argument 'f8' is invalid\. expected f16 or f32/,
    ],
    ['--gpu-memory', '-1', /error: option '--gpu-memory <MB>' argument '-1' is invalid/],
  ] as const) {
    await assert.rejects(plas(...base, flag, value), message, `${flag} ${value}`);
  }
  await assert.rejects(
    plas(...base, '--max-model-len', '99999999'),
    /error: --max-model-len \(99999999\) is over the model's max_position_embeddings \(131072\)/,
  );
  // 64 KiB holds fewer tokens than --max-model-len 4096: the error says how many fit and what memory would.
  await assert.rejects(
    plas(...base, '--max-model-len', '4096', '--kv-cache-memory', '0.0625'),
    /error: max_model_len \(4096\) needs one sequence's 4096 tokens of KV cache, but the f16 KV pool holds \d+ tokens .*lower max_model_len to at most \d+, or raise kv_cache_memory to at least \d+ MiB/,
  );
  // A budget under the weights and the context: refused before loading, with the longest context that fits.
  await assert.rejects(plas(...base, '--max-model-len', '131072', '--gpu-memory', '40'), (e: Error) => {
    assert.match(
      e.message,
      /error: weights \([\d.]+ MiB\) \+ 131072 tokens of f16 KV cache .* over the 40\.0 MiB memory budget: at most \d+ tokens fit/,
    );
    return true;
  });
});

it('generate names a bad flag and a bad folder clearly', async () => {
  await assert.rejects(
    plas('generate', '--model', dir, '--prompt', 'x', '--top-p', '2', '--software'),
    /top_p \(2\) must be in \(0, 1\]/,
  );
  await assert.rejects(plas('generate', '--model', join(dir, 'nope'), '--prompt', 'x', '--software'), (e: Error) => {
    assert.match(e.message, /\nerror: \S*nope: no such folder\n/);
    assert.doesNotMatch(e.message, /\n\s+at /, 'a user mistake shows no stack');
    return true;
  });
  await assert.rejects(
    plas('generate', '--model', join(dir, 'nope'), '--prompt', 'x', '--software', '--debug'),
    /\n\s+at /,
    '--debug shows the stack',
  );
  const model = join(dir, 'qwen3');
  await assert.rejects(
    plas(
      'generate',
      '--model',
      model,
      '--prompt',
      'x',
      '--attention-backend',
      'plas',
      '--plas-attention-config',
      '{"plas_encoder_top_k_left": 70}',
      '--software',
    ),
    /plas_encoder_top_k_left \(70\) must be <= plas_encoder_top_k_right \(60\)/,
  );
  await assert.rejects(
    plas('generate', '--model', model, '--prompt', 'x', '--attention-backend', 'sparse', '--software'),
    /--attention-backend \("sparse"\) must be plas or dense/,
  );
});
