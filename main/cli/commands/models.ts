/**
 * `plas models list`: the models already on this computer (Hugging Face cache, LM Studio, Ollama, added folders),
 * with format, architecture, quantization, size and whether this engine runs them (and why not).
 * `plas models pull ORG/NAME`: downloads from a Hugging Face hub (HF_ENDPOINT, HF_TOKEN) into the HF cache, resuming
 * what an earlier pull left; progress with an ETA on stderr when it is a terminal. Ctrl-C keeps the partial file.
 */

import { resolve } from 'node:path';
import { Command } from 'commander';
import { discoverModels } from '../../models/discovery/discover.ts';
import { discoveryRoots, huggingfaceCache } from '../../models/discovery/roots.ts';
import type { DiscoveredModel } from '../../models/discovery/types.ts';
import { readUserFolders } from '../../models/discovery/user-folders.ts';
import { PullError } from '../../models/hub/hub-errors.ts';
import { DEFAULT_ENDPOINT, type PullProgress, pullModel } from '../../models/hub/pull.ts';
import { defaultDataDir } from '../../store/data-dir.ts';

export function formatBytes(n: number): string {
  if (n < 1000) return `${n} B`;
  const units = ['kB', 'MB', 'GB', 'TB'];
  let v = n;
  let u = -1;
  do {
    v /= 1000;
    u++;
  } while (v >= 1000 && u < units.length - 1);
  return `${v.toFixed(v < 10 ? 2 : 1)} ${units[u]}`;
}

function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '--:--';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const pad = (x: number) => String(x).padStart(2, '0');
  return h > 0 ? `${h}:${pad(m)}:${pad(s % 60)}` : `${m}:${pad(s % 60)}`;
}

function table(models: DiscoveredModel[]): string {
  if (models.length === 0) return 'No models found (looked in the Hugging Face cache, LM Studio and Ollama folders).';
  const rows = models.map((m) => [
    m.source,
    m.name,
    m.format,
    m.architecture ?? '?',
    m.quantization ?? '?',
    formatBytes(m.sizeBytes),
    m.runnable ? 'yes' : `no: ${m.problems.join('; ')}`,
  ]);
  const head = ['SOURCE', 'NAME', 'FORMAT', 'ARCHITECTURE', 'QUANT', 'SIZE', 'RUNNABLE'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (i < 6 ? r[i].length : 0))));
  const line = (r: string[]) => r.map((c, i) => (i < 6 ? c.padEnd(widths[i]) : c)).join('  ');
  const paths = models.map((m) => `  ${m.name}: ${m.path}`);
  return [
    line(head),
    ...rows.map(line),
    '',
    'Paths (register one with POST /api/models {path}, or plas serve --model PATH):',
    ...paths,
  ].join('\n');
}

interface ListFlags {
  json?: boolean;
  folder: string[];
  dataDir?: string;
}

interface PullFlags {
  file?: string;
  revision: string;
  json?: boolean;
}

/** A one-line progress display on a terminal: bytes, percent, speed and ETA of the whole pull. */
function progressLine(start: number) {
  let lastDraw = 0;
  return (p: PullProgress) => {
    const now = performance.now();
    if (now - lastDraw < 200 && p.doneBytes !== p.totalBytes) return;
    lastDraw = now;
    const seconds = (now - start) / 1000;
    const speed = seconds > 0 ? p.fetchedBytes / seconds : 0;
    const eta = speed > 0 ? (p.totalBytes - p.doneBytes) / speed : Number.NaN;
    const pct = p.totalBytes > 0 ? Math.floor((100 * p.doneBytes) / p.totalBytes) : 100;
    const text =
      `${p.file} (${p.fileIndex + 1}/${p.fileCount})  ${pct}%  ${formatBytes(p.doneBytes)} / ${formatBytes(p.totalBytes)}` +
      `  ${formatBytes(Math.round(speed))}/s  ETA ${formatDuration(eta)}`;
    process.stderr.write(`\r\x1b[2K${text}`);
  };
}

export function modelsCommand(): Command {
  const models = new Command('models').description('models on this computer, and downloads from a Hugging Face hub');
  models
    .command('list')
    .description('list the models found in the Hugging Face cache, LM Studio, Ollama and the folders given')
    .option('--json', 'print JSON')
    .option(
      '--folder <dir>',
      'also look in this folder (repeatable)',
      (v: string, prev: string[]) => [...prev, resolve(v)],
      [],
    )
    .option('--data-dir <dir>', "the data dir whose added folders are searched too (default: the platform's)")
    .action(async (flags: ListFlags) => {
      const saved = await readUserFolders(flags.dataDir ? resolve(flags.dataDir) : defaultDataDir());
      const found = await discoverModels(discoveryRoots([...saved, ...flags.folder]));
      console.log(flags.json ? JSON.stringify({ models: found }, null, 2) : table(found));
    });
  models
    .command('pull')
    .description('download a model from a Hugging Face hub (HF_ENDPOINT, HF_TOKEN) into the Hugging Face cache')
    .argument('<repo>', 'the model as ORG/NAME, e.g. Qwen/Qwen3-0.6B')
    .option('--file <pattern>', 'only the files matching this glob, e.g. "*Q4_K_M.gguf"')
    .option('--revision <rev>', 'a branch, tag or commit', 'main')
    .option('--json', 'print the result as JSON')
    .action(async (repo: string, flags: PullFlags) => {
      const controller = new AbortController();
      const onSigint = () => controller.abort();
      process.once('SIGINT', onSigint);
      const tty = process.stderr.isTTY === true;
      const start = performance.now();
      try {
        const result = await pullModel({
          repo,
          file: flags.file,
          revision: flags.revision,
          cache: huggingfaceCache(),
          endpoint: process.env.HF_ENDPOINT || DEFAULT_ENDPOINT,
          token: process.env.HF_TOKEN || undefined,
          signal: controller.signal,
          onStart: (plan) =>
            console.error(
              `${plan.repo}@${plan.commit.slice(0, 10)}: ${plan.files.length} file(s), ${formatBytes(plan.totalBytes)}`,
            ),
          onProgress: tty ? progressLine(start) : undefined,
        });
        if (tty) process.stderr.write('\n');
        const seconds = (performance.now() - start) / 1000;
        if (flags.json) console.log(JSON.stringify(result, null, 2));
        else {
          console.error(`fetched ${formatBytes(result.fetchedBytes)} in ${seconds.toFixed(1)} s`);
          for (const path of result.paths) console.log(path);
          console.error(
            `run it: plas serve --model ${result.files.some((f) => f.path === 'config.json') ? result.snapshot : result.paths[0]}`,
          );
        }
      } catch (error) {
        if (tty) process.stderr.write('\n');
        if (error instanceof PullError && error.code === 'cancelled') {
          console.error('cancelled: the partial file is kept; run the same command again to resume');
          process.exit(130);
        }
        throw error;
      } finally {
        process.off('SIGINT', onSigint);
      }
    });
  return models;
}
