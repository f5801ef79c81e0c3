import type { RouteDefinition } from '../route.js';
import { apiKeyRoutes } from './api-keys.js';
import { applyRoutes } from './apply.js';
import { dashboardRoutes } from './dashboard.js';
import { eventRoutes } from './events.js';
import { healthRoutes } from './health.js';
import { notificationProfileRoutes } from './notification-profiles.js';
import { runEnvironmentRoutes } from './run-environments.js';
import { taskExecutionRoutes } from './task-executions.js';
import { serviceRoutes } from './services.js';
import { taskRoutes } from './tasks.js';
import { verifyRoutes } from './verify.js';
import { workflowRoutes } from './workflows.js';

/** Every API route. The app registers exactly these and the OpenAPI document describes exactly these. */
export const ALL_ROUTES: readonly RouteDefinition[] = [
  ...healthRoutes,
  ...runEnvironmentRoutes,
  ...verifyRoutes,
  ...taskRoutes,
  ...taskExecutionRoutes,
  ...apiKeyRoutes,
  ...applyRoutes,
  ...workflowRoutes,
  ...serviceRoutes,
  ...eventRoutes,
  ...notificationProfileRoutes,
  ...dashboardRoutes,
];
