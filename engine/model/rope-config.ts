/**
 * The RoPE part of config.json. Two spellings exist: transformers 4.x writes `rope_theta` and `rope_scaling`
 * (`{"type": ...}` in older files, `{"rope_type": ...}` in newer ones); transformers 5 writes one `rope_parameters`
 * object holding `rope_theta` and `rope_type`. Both are read here into one typed RopeParams.
 */
import type { ConfigFields } from './config-fields.ts';
import { describeValue } from './config-fields.ts';
import { ModelConfigError } from './errors.ts';

/**
 * How positions stretch beyond the trained context. linear: every frequency divided by `factor` (positions / factor).
 * llama3: Llama 3.1's piecewise rule: wavelengths shorter than originalMax / highFreqFactor are kept, those longer
 * than originalMax / lowFreqFactor are divided by `factor`, and the band between is blended smoothly.
 */
export type RopeScaling =
  | { type: 'linear'; factor: number }
  | {
      type: 'llama3';
      factor: number;
      lowFreqFactor: number;
      highFreqFactor: number;
      originalMaxPositionEmbeddings: number;
    };

export const SUPPORTED_ROPE_TYPES = ['default', 'linear', 'llama3'] as const;

export interface RopeParams {
  theta: number;
  scaling: RopeScaling | undefined;
}

/**
 * Reads rope_theta and the scaling rule. `defaultTheta` is the architecture's transformers default, used when the file
 * has none. `compressionRatio` is ERNIE 4.5's own spelling of linear scaling (positions / compression_ratio).
 */
export function parseRope(fields: ConfigFields, defaultTheta: number, compressionRatio = 1): RopeParams {
  const parameters = fields.nested('rope_parameters');
  const legacy = fields.nested('rope_scaling');
  const theta = parameters?.has('rope_theta')
    ? parameters.positiveNumber('rope_theta')
    : fields.positiveNumber('rope_theta', defaultTheta);

  // rope_scaling wins when both are present: transformers 5 builds rope_parameters from it in that case too.
  const scalingFields = legacy ?? parameters;
  let scaling = scalingFields ? parseScaling(scalingFields) : undefined;
  if (compressionRatio !== 1) {
    if (scaling) {
      throw new ModelConfigError(
        fields.source,
        'compression_ratio',
        `compression_ratio (${compressionRatio}) and ${scalingFields!.prefix}rope_type (${scaling.type}) both scale ` +
          'RoPE; keep one of them',
      );
    }
    scaling = { type: 'linear', factor: compressionRatio };
  }
  const partial = scalingFields?.raw('partial_rotary_factor') ?? fields.raw('partial_rotary_factor');
  if (partial !== undefined && partial !== 1) {
    throw new ModelConfigError(
      fields.source,
      'partial_rotary_factor',
      `partial_rotary_factor (${describeValue(partial)}) is not supported: only RoPE over the whole head (1.0) is`,
    );
  }
  return { theta, scaling };
}

function parseScaling(fields: ConfigFields): RopeScaling | undefined {
  const typeKey = fields.has('rope_type') ? 'rope_type' : 'type';
  const type = fields.optionalString(typeKey) ?? 'default';
  switch (type) {
    case 'default':
      return undefined;
    case 'linear':
      return { type: 'linear', factor: fields.positiveNumber('factor') };
    case 'llama3': {
      const scaling: RopeScaling = {
        type: 'llama3',
        factor: fields.positiveNumber('factor'),
        lowFreqFactor: fields.positiveNumber('low_freq_factor'),
        highFreqFactor: fields.positiveNumber('high_freq_factor'),
        originalMaxPositionEmbeddings: fields.positiveInt('original_max_position_embeddings'),
      };
      if (scaling.highFreqFactor <= scaling.lowFreqFactor) {
        fields.fail(
          'high_freq_factor',
          `must be greater than ${fields.name('low_freq_factor')} (${scaling.lowFreqFactor})`,
        );
      }
      return scaling;
    }
    default:
      return fields.fail(typeKey, `is not supported (supported: ${SUPPORTED_ROPE_TYPES.join(', ')})`);
  }
}
