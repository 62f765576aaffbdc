/**
 * The OpenAI-compatible routes (/v1/models, /v1/chat/completions, /v1/completions, /v1/responses), registered in
 * their own fastify scope with TypeBox validation (strict types: "0.5" is not a number, as the OpenAI API answers).
 * Errors are OpenAIError (status + OpenAI's body), which the app's error handler sends as is.
 */
import { type TypeBoxTypeProvider, TypeBoxValidatorCompiler } from '@fastify/type-provider-typebox';
import type {
  FastifyBaseLogger,
  FastifyInstance,
  RawReplyDefaultExpression,
  RawRequestDefaultExpression,
  RawServerDefault,
} from 'fastify';
import type { ServerContext } from '../context.ts';
import { registerChatCompletions } from './chat-completions.ts';
import { registerCompletions } from './completions.ts';
import { registerModels } from './models.ts';
import { providerRoutingHook } from './provider-routing.ts';
import { recordFinished } from './record.ts';
import { registerResponses } from './responses.ts';
import { recorded } from './route-scope.ts';
import { schemaError } from './validation.ts';

export type V1App = FastifyInstance<
  RawServerDefault,
  RawRequestDefaultExpression,
  RawReplyDefaultExpression,
  FastifyBaseLogger,
  TypeBoxTypeProvider
>;

export { OpenAIError } from './openai-error.ts';

/** What the request log says of a request refused before its handler (auth, body limit, content type). */
const OUTCOME_OF_STATUS: Record<number, string> = {
  401: 'authentication_error',
  403: 'permission_error',
  413: 'body_too_large',
  415: 'unsupported_media_type',
};

export function registerV1Routes(app: FastifyInstance, ctx: ServerContext): void {
  app.register(async (scope) => {
    const v1 = scope.withTypeProvider<TypeBoxTypeProvider>();
    // Fastify's default Ajv coerces types and drops unknown keys where a schema forbids them; TypeBox's checker does
    // neither, so a misspelt `plas` key or a string where a number belongs is a 400 naming the field.
    v1.setValidatorCompiler(TypeBoxValidatorCompiler);
    // A failed schema is an OpenAIError naming the deepest field (the app's handler sends it as is).
    v1.setSchemaErrorFormatter((issues) => schemaError(issues));
    // Requests no handler saw (a body that failed its schema, a parse error) are counted here, once.
    v1.addHook('onResponse', async (request, reply) => {
      if (recorded.has(request)) return;
      const route = request.routeOptions.url ?? request.url.split('?')[0];
      if (request.method === 'GET') {
        ctx.metrics.requestFinished(route, reply.statusCode);
        return;
      }
      recordFinished(ctx, {
        route,
        model: 'unknown',
        status: reply.statusCode,
        startedAt: performance.now() - reply.elapsedTime,
        promptTokens: 0,
        completionTokens: 0,
        timings: [],
        outcome:
          OUTCOME_OF_STATUS[reply.statusCode] ?? (reply.statusCode >= 500 ? 'server_error' : 'invalid_request_error'),
      });
    });
    // A provider's model ("NAME/MODEL") is forwarded before its body meets our schemas (provider-routing.ts).
    v1.addHook('preValidation', providerRoutingHook(ctx));
    registerModels(v1, ctx);
    registerChatCompletions(v1, ctx);
    registerCompletions(v1, ctx);
    registerResponses(v1, ctx);
  });
}
