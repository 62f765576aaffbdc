/** The sizes the forward pass needs, derived once from a model's config. */
import type { RopeConfig } from './rope-frequencies.ts';

export interface ModelDims {
  hidden: number; // H
  heads: number;
  kvHeads: number;
  headDim: number; // D
  intermediate: number; // I
  vocab: number; // V
  numLayers: number;
  rmsNormEps: number;
  rope: RopeConfig;
}
