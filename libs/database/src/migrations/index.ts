import { InitialSchema1764403200000 } from './1764403200000-initial-schema';
import { ServiceRole1764403250000 } from './1764403250000-service-role';
import { ListQuerySupport1764403300000 } from './1764403300000-list-query-support';
import { SchedulerQueue1764489600000 } from './1764489600000-scheduler-queue';
import { ReferenceResources1764576000000 } from './1764576000000-reference-resources';
import { ResourceIdIndex1764806400000 } from './1764806400000-resource-id-index';
import { FairClaims1764930000000 } from './1764930000000-fair-claims';
import { CheaperStatusChanges1764930100000 } from './1764930100000-cheaper-status-changes';

/** Every migration in order, listed explicitly. */
export const MIGRATIONS = [InitialSchema1764403200000, ServiceRole1764403250000, ListQuerySupport1764403300000, SchedulerQueue1764489600000, ReferenceResources1764576000000, ResourceIdIndex1764806400000, FairClaims1764930000000, CheaperStatusChanges1764930100000];
