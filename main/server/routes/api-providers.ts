/**
 * Remote providers (issue 18; contract in notes/providers.md), token-guarded like every /api route:
 *   GET    /api/providers                     {providers}
 *   POST   /api/providers {name, baseUrl, kind?, apiKey?, enabled?}   201 provider (checked at once)
 *   PATCH  /api/providers/:name {baseUrl?, kind?, apiKey?, enabled?}  the provider (apiKey "" clears it)
 *   DELETE /api/providers/:name               204
 *   POST   /api/providers/:name/check         the provider, health and models refreshed now
 *   GET    /api/providers/:name/plas-config?model=LOCAL   FastDeploy's --plas-attention-config and launch command
 * A provider never carries its key: `hasKey` says whether one is stored (encrypted).
 */
import { Type } from 'typebox';
import { ModelSettingsRepository } from '../../store/model-settings-repo.ts';
import { HttpError } from '../http-error.ts';
import { fastDeployExport } from '../providers/plas-export.ts';
import type { ProviderRegistry } from '../providers/registry.ts';
import type { PlasApp, RouteDeps } from './deps.ts';

const NameParams = Type.Object({ name: Type.String({ maxLength: 64 }) });
const fields = {
  baseUrl: Type.String({ minLength: 1, maxLength: 2048 }),
  kind: Type.Optional(Type.String({ maxLength: 32 })),
  apiKey: Type.Optional(Type.String({ maxLength: 4096 })),
  enabled: Type.Optional(Type.Boolean()),
};
const CreateBody = Type.Object(
  { name: Type.String({ minLength: 1, maxLength: 64 }), ...fields },
  { additionalProperties: false },
);
const PatchBody = Type.Object({ ...fields, baseUrl: Type.Optional(fields.baseUrl) }, { additionalProperties: false });
const ExportQuery = Type.Object({ model: Type.String({ minLength: 1, maxLength: 256 }) });

export function apiProviderRoutes(app: PlasApp, deps: RouteDeps & { providers: ProviderRegistry }): void {
  const { providers } = deps;
  const settings = new ModelSettingsRepository(deps.db);

  app.get('/api/providers', async () => ({ providers: providers.list() }));

  app.post('/api/providers', { schema: { body: CreateBody } }, async (request, reply) =>
    reply.code(201).send(await providers.create(request.body)),
  );

  app.patch('/api/providers/:name', { schema: { params: NameParams, body: PatchBody } }, async (request) =>
    providers.update(request.params.name, request.body),
  );

  app.delete('/api/providers/:name', { schema: { params: NameParams } }, async (request, reply) => {
    providers.remove(request.params.name);
    return reply.code(204).send();
  });

  app.post('/api/providers/:name/check', { schema: { params: NameParams } }, async (request) =>
    providers.check(request.params.name),
  );

  app.get(
    '/api/providers/:name/plas-config',
    { schema: { params: NameParams, querystring: ExportQuery } },
    async (request) => {
      const provider = providers.get(request.params.name);
      if (provider.kind !== 'fastdeploy') {
        throw new HttpError(
          400,
          `name: provider "${provider.name}" is of kind ${provider.kind}; the PLAS launch config is for kind fastdeploy`,
          'invalid_request_error',
          'name',
        );
      }
      const model = request.query.model;
      const saved = settings.get(model);
      if (saved.updatedAt === null && !deps.manager.list().some((m) => m.name === model)) {
        throw new HttpError(404, `model: no local model named "${model}"`, 'not_found_error', 'model', 'not_found');
      }
      const url = new URL(provider.baseUrl);
      const port = url.port ? Number(url.port) : null;
      return fastDeployExport(saved.settings.plas, provider.models[0] ?? model, port);
    },
  );
}
