import { InitialSchema1764403200000 } from './1764403200000-initial-schema';
import { ServiceRole1764403250000 } from './1764403250000-service-role';
import { ListQuerySupport1764403300000 } from './1764403300000-list-query-support';
import { SchedulerQueue1764489600000 } from './1764489600000-scheduler-queue';
import { ReferenceResources1764576000000 } from './1764576000000-reference-resources';
import { ResourceIdIndex1764806400000 } from './1764806400000-resource-id-index';
import { MetricsRole1764900000000 } from './1764900000000-metrics-role';
import { TaskTraceParent1764900001000 } from './1764900001000-task-trace-parent';
import { Webhooks1764910000000 } from './1764910000000-webhooks';
import { RateLimitHits1764960000000 } from './1764960000000-rate-limit-hits';
import { FairClaims1764970000000 } from './1764970000000-fair-claims';
import { CheaperStatusChanges1764970100000 } from './1764970100000-cheaper-status-changes';

/** Every migration in order, listed explicitly. */
export const MIGRATIONS = [
  InitialSchema1764403200000,
  ServiceRole1764403250000,
  ListQuerySupport1764403300000,
  SchedulerQueue1764489600000,
  ReferenceResources1764576000000,
  ResourceIdIndex1764806400000,
  MetricsRole1764900000000,
  TaskTraceParent1764900001000,
  Webhooks1764910000000,
  RateLimitHits1764960000000,
  FairClaims1764970000000,
  CheaperStatusChanges1764970100000,
];
