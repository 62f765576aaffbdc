/** Build a scheduler, its KV manager and a fake model over the same pool, for the scheduler tests. */
import { KVCacheManager } from '../../../engine/kv/kv-cache-manager.ts';
import type { SchedulerConfig } from '../../../engine/scheduler/config.ts';
import { Scheduler } from '../../../engine/scheduler/scheduler.ts';
import { PagedFakeModel } from './fake-model.ts';

export interface Setup {
  numPages: number;
  pageSize: number;
  enablePrefixCaching?: boolean;
  scheduler: Partial<SchedulerConfig>;
}

export function setup(s: Setup) {
  const kv = new KVCacheManager({
    numPages: s.numPages,
    pageSize: s.pageSize,
    enablePrefixCaching: s.enablePrefixCaching ?? true,
  });
  const scheduler = new Scheduler({ maxNumBatchedTokens: 256, maxNumSeqs: 16, ...s.scheduler }, kv);
  const model = new PagedFakeModel(s.numPages, s.pageSize);
  return { kv, scheduler, model };
}

/** n pseudo-random token ids in [5, 1000) (0..4 are kept for EOS in the tests), from a seed. */
export function tokens(n: number, seed: number): number[] {
  const out: number[] = [];
  let x = seed * 2654435761 + 12345;
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x ^ (x >>> 13), 0x5bd1e995) + 0x6b43a9b5) >>> 0;
    out.push(5 + (x % 995));
  }
  return out;
}
