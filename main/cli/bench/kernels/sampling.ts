import { argmax, sample, softmax, writeSamplingParams } from '../../../../engine/gpu/kernels/sampling.ts';
import {
  argmax as argmaxRef,
  sample as sampleRef,
  softmax as softmaxRef,
} from '../../../../engine/reference/sampling.ts';
import { benchValues, type KernelBenchCase, MODEL_SHAPES } from '../kernel-case.ts';

const VOCAB = MODEL_SHAPES['Qwen2.5-0.5B'].vocab;

type Which = 'sample' | 'argmax' | 'softmax';

const SETTINGS = {
  qwen: { temperature: 0.7, topK: 20, topP: 0.8, minP: 0 }, // Qwen2.5's generation_config
  pure: { temperature: 1, topK: 0, topP: 1, minP: 0 }, // the OpenAI API default: the whole vocabulary stays
};

function samplingCase(which: Which, batch: number, settings?: keyof typeof SETTINGS): KernelBenchCase {
  const label = settings === 'qwen' ? ' T=0.7 k=20 p=0.8' : settings === 'pure' ? ' T=1' : '';
  return {
    kernel: which,
    variant: `f32 ${batch}x${VOCAB}${label} (Qwen2.5 vocab)`,
    phase: 'decode',
    quick: batch === 1,
    bytes: batch * VOCAB * 4 * (which === 'softmax' ? 3 : 1), // one read of the logits (softmax: two, and a write)
    flops: 0,
    setup(gpu) {
      const logits = benchValues(batch * VOCAB, 41, 12);
      const params = writeSamplingParams(
        Array.from({ length: batch }, (_, i) => ({ ...SETTINGS[settings ?? 'pure'], random: (i * 0.618034) % 1 })),
      );
      const t = {
        logits: gpu.upload('f32', [batch, VOCAB], logits, 'logits'),
        params: gpu.upload('f32', [batch, 8], params, 'params'),
        tokens: gpu.createTensor('u32', [batch], 'tokens'),
        probs: gpu.createTensor('f32', which === 'softmax' ? [batch, VOCAB] : [1], 'probs'),
      };
      return {
        record: (step) => {
          if (which === 'sample') sample(step, { logits: t.logits, params: t.params, out: t.tokens });
          else if (which === 'argmax') argmax(step, { logits: t.logits, out: t.tokens });
          else softmax(step, { x: t.logits, out: t.probs });
        },
        twin: () => {
          if (which === 'sample') sampleRef(logits, batch, VOCAB, params);
          else if (which === 'argmax') argmaxRef(logits, batch, VOCAB);
          else softmaxRef(logits, batch, VOCAB);
        },
        dispose: () => {
          for (const tensor of Object.values(t)) tensor.buffer.destroy();
        },
      };
    },
  };
}

export const samplingCases: KernelBenchCase[] = [
  samplingCase('sample', 1, 'qwen'),
  samplingCase('sample', 1, 'pure'),
  samplingCase('sample', 16, 'qwen'),
  samplingCase('sample', 16, 'pure'),
  samplingCase('argmax', 1),
  samplingCase('argmax', 16),
  samplingCase('softmax', 1),
];
