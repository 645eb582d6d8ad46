import { InitialSchema1764403200000 } from './1764403200000-initial-schema';

/** Every migration in order, listed explicitly. */
export const MIGRATIONS = [InitialSchema1764403200000];
