/** What the server's own route families (health, metrics, /api) are built from. */

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyBaseLogger, FastifyInstance, RawServerDefault } from 'fastify';
import type { AdapterDescription, GpuFeatures } from '../../../engine/gpu/device.ts';
import type { KvDType } from '../../../engine/kv/paged-layout.ts';
import type { Db } from '../../store/database.ts';
import type { ServerSettings } from '../context.ts';
import type { Metrics } from '../metrics.ts';
import type { LocalModelManager } from '../models/model-manager.ts';
import type { ProviderRegistry } from '../providers/registry.ts';
import type { RecentRequests } from '../request-log.ts';
import type { ServerInfo } from '../server-types.ts';

export type { ServerInfo } from '../server-types.ts';

/** The fastify instance with TypeBox schemas typing each route's body, query and params. */
export type PlasApp = FastifyInstance<
  RawServerDefault,
  IncomingMessage,
  ServerResponse,
  FastifyBaseLogger,
  TypeBoxTypeProvider
>;

export interface RouteDeps {
  /** The data dir's database (models, chats), owned and closed by start.ts. */
  db: Db;
  adapter: AdapterDescription;
  features: GpuFeatures;
  manager: LocalModelManager;
  metrics: Metrics;
  requests: RecentRequests;
  settings: ServerSettings;
  /** Filled in once the server listens (the port may be 0 until then). */
  info: () => ServerInfo;
  /** Aborted at shutdown: long-lived streams (SSE) end. */
  shutdown: AbortSignal;
  /** How models load, for memory estimates: the KV page size and dtype, and whether PLAS key sums are kept. */
  estimate: { pageSize: number; keySums: boolean; kvDtype: KvDType };
  /** Remote providers (issue 18); start.ts always makes one. */
  providers?: ProviderRegistry;
}
