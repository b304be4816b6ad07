import type { RouteModule } from './http/context.js';
import { opsRoutes } from './ops/routes.js';
import { orchestratorAuthRoutes } from './access/orchestrator-auth.js';
import { accessRoutes } from './access/routes.js';
import { odataAlertRoutes } from './alerts/odata/routes.js';
import { alertRoutes } from './alerts/routes.js';
import { sessionRoutes } from './access/session-routes.js';
import { consoleRoutes } from './console/routes.js';
import { deliveryRoutes } from './delivery/outbox/routes.js';
import { mailCatcherRoutes } from './delivery/catcher/routes.js';
import { tenantActivityRoutes } from './ops/tenant-activity.js';
import { muteRoutes } from './mutes/routes.js';
import { preferenceRoutes } from './preferences/routes.js';
import { previewRoutes } from './reports/preview-routes.js';
import { actionRoutes } from './actions/routes.js';
import { unsubscribeRoutes } from './reports/unsubscribe/routes.js';
import { settingsRoutes } from './settings/routes.js';
import { sourceRoutes } from './sources/routes.js';

/**
 * ROUTE_MODULES lists every domain's routes, in the order a request's journey reads: access,
 * then alerts, settings, delivery, reports.
 */
export const ROUTE_MODULES: readonly RouteModule[] = [
  opsRoutes,
  sessionRoutes,
  accessRoutes,
  orchestratorAuthRoutes,
  alertRoutes,
  odataAlertRoutes,
  sourceRoutes,
  muteRoutes,
  preferenceRoutes,
  settingsRoutes,
  deliveryRoutes,
  tenantActivityRoutes,
  unsubscribeRoutes,
  actionRoutes,
  previewRoutes,
  mailCatcherRoutes,
  consoleRoutes,
];
