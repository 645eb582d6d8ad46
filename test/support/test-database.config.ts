/** Where the e2e suites' PostgreSQL lives; shared by global setup, teardown and the helpers. */
export const TEST_PG_PORT = Number(process.env.TEST_PG_PORT ?? 54339);
/** One cluster per port, so that runs given different TEST_PG_PORTs never share a data directory. */
export const TEST_PG_DIR = process.env.TEST_PG_PORT === undefined ? '.data/test-postgres' : `.data/test-postgres-${TEST_PG_PORT}`;
export const TEMPLATE_DATABASE = 'cleanup_tasks_test_template';
export const STATE_ENV = 'CLEANUP_TASKS_TEST_SERVER_URL';
