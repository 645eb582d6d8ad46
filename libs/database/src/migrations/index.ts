import { InitialSchema1764403200000 } from './1764403200000-initial-schema';
import { ServiceRole1764403250000 } from './1764403250000-service-role';

/** Every migration in order, listed explicitly. */
export const MIGRATIONS = [InitialSchema1764403200000, ServiceRole1764403250000];
