// `npm run test:faults`: real processes (the built app and worker) on a
// PostgreSQL of each test's own, which the test kills and restarts. Not part
// of `npm test`; run serially (--runInBand), after `npm run build:test`.
import { common } from './jest.config.mjs';

export default {
  ...common,
  displayName: 'faults',
  testMatch: ['<rootDir>/test/faults/**/*.fault-spec.ts'],
  testTimeout: 180_000,
};
