import type { ApiKeyService } from '../auth.js';
import type { CatalogService } from '../catalog-service.js';
import type { ServerContext } from '../context.js';
import type { ExecutionService } from '../execution-service.js';
import type { ServiceManager } from '../service-manager.js';
import type { NotificationService } from '../notifier/notification-service.js';
import type { WorkflowService } from '../workflow-service.js';

/** What route handlers may use. */
export interface Services {
  ctx: ServerContext;
  executions: ExecutionService;
  catalog: CatalogService;
  workflows: WorkflowService;
  /** Services: Tasks with service: settings, deployed and watched through their executor. */
  services: ServiceManager;
  keys: ApiKeyService;
  notifications: NotificationService;
  /** Local-only mode: loopback callers without a key act as admin. */
  localOnly: boolean;
  /** Server facts for `/health`. */
  health(): Promise<Record<string, unknown>>;
}
