/**
 * What GET /api/models/discover and POST /api/models/pull's events send. This file imports only other import-free
 * types files: the renderer imports its types too (`import type`), so the two sides cannot drift apart.
 */
import type { DiscoveredModel, DiscoveryRoots } from '../../models/discovery/types.ts';
import type { PullPlan, PullResult } from '../../models/hub/pull-types.ts';
import type { ModelSummary } from '../server-types.ts';

/** A model discovery found, with what the app needs to add it. */
export interface DiscoveredListing extends DiscoveredModel {
  /** Its name in the registry when it is added already. */
  registered: string | null;
  /** The name Add registers it under (POST /api/models {path, name}): `registered`, or a free one. */
  suggestedName: string;
}

/** GET /api/models/discover. */
export interface DiscoverResponse {
  models: DiscoveredListing[];
  roots: DiscoveryRoots;
}

/** The pull's `start` event: its id (DELETE /api/models/pull/:id cancels it) and what it will fetch. */
export interface PullStartEvent extends PullPlan {
  id: string;
}

/** The pull's `done` event: what landed, and the model it was registered as (or why it was not). */
export interface PullDoneEvent extends PullResult {
  model: ModelSummary | null;
  notRegistered: string | null;
}
