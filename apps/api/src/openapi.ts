import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, SwaggerModule, type OpenAPIObject } from '@nestjs/swagger';
import { BEARER_SCHEME } from '@app/auth';
import { CLEANUP_TASK_FILTER_SCHEMAS } from '@app/cleanup-tasks';
import { PROBLEM_CONTENT_TYPE } from '@app/common';

export const DOCS_PATH = 'api/docs';
export const DOCS_JSON_PATH = 'api/docs-json';

const DESCRIPTION = `
REST API of the cleanup-tasks service: after a workspace is deleted, cleanup tasks remove its apps,
elements and databases. Tasks form trees (\`delete_workspace\` → \`delete_app\` / \`delete_database\`,
\`delete_app\` → \`delete_element\`) and are executed by the built-in scheduler.

**Authentication.** Every endpoint but health and these docs needs \`Authorization: Bearer <token>\`.
Press *Authorize* and paste a token: the first start prints an admin token, and \`POST /api/tokens\`
makes more. A \`member\` token sees only the tasks of its workspaces; other tasks answer 404.

**Errors** are RFC 9457 \`application/problem+json\` documents with a stable \`code\`; validation
problems list each invalid input under \`errors[]\` with its path.

**Outages.** While PostgreSQL is unreachable, restarting or in recovery, every operation that needs it
answers 503 \`database-unavailable\` with \`Retry-After\` (never 401: a token that could not be checked
is not a bad token). Send the request again after that many seconds; an enqueue with the same
\`sourceEventId\` is not duplicated.
`.trim();

export function buildOpenApiDocument(app: INestApplication): OpenAPIObject {
  const config = new DocumentBuilder()
    .setTitle('Cleanup Tasks API')
    .setDescription(DESCRIPTION)
    .setVersion('1.0.0')
    .setLicense('Proprietary', 'https://example.com/license')
    .addServer('/', 'This server')
    .addBearerAuth({ type: 'http', scheme: 'bearer', description: 'A token from `POST /api/tokens` or the first start (`ctk_…`), in the Authorization header only (an `access_token` parameter is refused).' }, BEARER_SCHEME)
    .addTag('Cleanup Tasks', 'Inspect and steer cleanup work.')
    .addTag('Tokens', 'Admin: issue, list and revoke bearer tokens.')
    .addTag('Webhooks', 'Admin: subscribe URLs to cleanup events (signed as Standard Webhooks, delivered at least once).')
    .addTag('Health', 'Liveness and readiness probes (no token).')
    .build();
  const document = SwaggerModule.createDocument(app, config, { operationIdFactory: (controller, method) => `${controller.replace(/Controller$/, '')}_${method}` });
  return markPublicOperations(useProblemJsonForErrors(addFilterSchemas(document)));
}

/**
 * The list's filter language as component schemas (CleanupTaskFilter,
 * CleanupTaskOrderBy, …), generated from the field map; the `filter` and
 * `orderBy` parameters refer to them. Parameters described by `content`
 * (JSON values) must not carry a `schema` as well.
 */
function addFilterSchemas(document: OpenAPIObject): OpenAPIObject {
  document.components = { ...document.components, schemas: { ...CLEANUP_TASK_FILTER_SCHEMAS, ...document.components?.schemas } as never };
  for (const pathItem of Object.values(document.paths)) {
    for (const operation of Object.values(pathItem) as { parameters?: { content?: unknown; schema?: unknown }[] }[]) {
      for (const parameter of operation?.parameters ?? []) {
        if (parameter.content) delete parameter.schema;
      }
    }
  }
  return document;
}

/** Operations without a bearer requirement (health) say so explicitly: `security: []`. */
function markPublicOperations(document: OpenAPIObject): OpenAPIObject {
  for (const pathItem of Object.values(document.paths)) {
    for (const operation of Object.values(pathItem) as { responses?: unknown; security?: unknown[] }[]) {
      if (operation?.responses && !operation.security) operation.security = [];
    }
  }
  return document;
}

/** Error responses are served as application/problem+json: say so in the document. */
function useProblemJsonForErrors(document: OpenAPIObject): OpenAPIObject {
  for (const pathItem of Object.values(document.paths)) {
    for (const operation of Object.values(pathItem)) {
      const responses = (operation as { responses?: Record<string, { content?: Record<string, unknown> }> })?.responses;
      if (!responses) continue;
      for (const [status, response] of Object.entries(responses)) {
        if (Number(status) >= 400 && response.content?.['application/json']) {
          response.content = { [PROBLEM_CONTENT_TYPE]: response.content['application/json'] };
        }
      }
    }
  }
  return document;
}

export function setupSwaggerUi(app: INestApplication, document: OpenAPIObject): void {
  SwaggerModule.setup(DOCS_PATH, app, document, {
    jsonDocumentUrl: DOCS_JSON_PATH,
    customSiteTitle: 'Cleanup Tasks API',
    swaggerOptions: { persistAuthorization: true, displayRequestDuration: true },
  });
}
