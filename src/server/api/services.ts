import type { ApiKeyService } from '../auth.js';
import type { CatalogService } from '../catalog-service.js';
import type { ServerContext } from '../context.js';
import type { ExecutionService } from '../execution-service.js';
import type { WorkflowService } from '../workflow-service.js';

/** What route handlers may use. */
export interface Services {
  ctx: ServerContext;
  executions: ExecutionService;
  catalog: CatalogService;
  workflows: WorkflowService;
  keys: ApiKeyService;
  /** Local-only mode: loopback callers without a key act as admin. */
  localOnly: boolean;
  /** Server facts for `/health`. */
  health(): Promise<Record<string, unknown>>;
}
