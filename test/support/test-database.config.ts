/** Where the e2e suites' PostgreSQL lives; shared by global setup, teardown and the helpers. */
export const TEST_PG_DIR = '.data/test-postgres';
export const TEST_PG_PORT = Number(process.env.TEST_PG_PORT ?? 54339);
export const TEMPLATE_DATABASE = 'cleanup_tasks_test_template';
export const STATE_ENV = 'CLEANUP_TASKS_TEST_SERVER_URL';
