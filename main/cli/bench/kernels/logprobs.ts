import { logprobs, logprobsWords } from '../../../../engine/gpu/kernels/logprobs.ts';
import { logprobs as logprobsRef } from '../../../../engine/reference/logprobs.ts';
import { benchValues, type KernelBenchCase, MODEL_SHAPES } from '../kernel-case.ts';

const VOCAB = MODEL_SHAPES['Qwen2.5-0.5B'].vocab;

/** Logprobs of the sampled token and the top N alternatives, after sampling (one read of the logits). */
function logprobsCase(batch: number, topN: number): KernelBenchCase {
  return {
    kernel: 'logprobs',
    variant: `f32 ${batch}x${VOCAB} top ${topN} (Qwen2.5 vocab)`,
    phase: 'decode',
    quick: batch === 1,
    bytes: batch * (VOCAB * 4 + 4 + logprobsWords(topN) * 4),
    flops: 0,
    setup(gpu) {
      const logits = benchValues(batch * VOCAB, 43, 12);
      const sampled = Uint32Array.from({ length: batch }, (_, i) => (i * 7919) % VOCAB);
      const t = {
        logits: gpu.upload('f32', [batch, VOCAB], logits, 'logits'),
        sampled: gpu.upload('u32', [batch], sampled, 'sampled'),
        out: gpu.createTensor('u32', [batch, logprobsWords(topN)], 'logprobs'),
      };
      return {
        record: (step) => logprobs(step, { logits: t.logits, sampled: t.sampled, topN, out: t.out }),
        twin: () => logprobsRef(logits, batch, VOCAB, sampled, topN),
        dispose: () => {
          for (const tensor of Object.values(t)) tensor.buffer.destroy();
        },
      };
    },
  };
}

export const logprobsCases: KernelBenchCase[] = [
  logprobsCase(1, 0),
  logprobsCase(1, 5),
  logprobsCase(1, 20),
  logprobsCase(16, 5),
  logprobsCase(16, 20),
];
