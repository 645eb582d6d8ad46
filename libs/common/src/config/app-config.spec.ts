import { describe, expect, it } from '@jest/globals';
import { AppConfig, CONFIG_KEYS, ConfigValidationError, validateEnvironment } from './app-config';

describe('validateEnvironment', () => {
  it('applies the documented defaults', () => {
    const sut = validateEnvironment({});
    expect(sut).toMatchObject({ PORT: 3000, HOST: '127.0.0.1', SCHEDULER_ENABLED: true, EMBEDDED_POSTGRES_DIR: '.data/postgres', LOG_LEVEL: 'info' });
    // The contract's scheduler defaults (execution-and-operations.md): 5 attempts, then failed.
    expect(sut).toMatchObject({ SCHEDULER_MAX_ATTEMPTS: 5, RATE_LIMIT_PER_MINUTE: 1200, TREE_QUERY_TIMEOUT_MS: 15_000, TREE_POOL_SIZE: 4, EXPORT_QUERY_TIMEOUT_MS: 15_000, EXPORT_POOL_SIZE: 4 });
    expect(sut.DATABASE_URL).toBeUndefined();
  });

  it('reads typed values and ignores unrelated variables', () => {
    const sut = validateEnvironment({ PORT: '8080', SCHEDULER_ENABLED: 'false', DATABASE_URL: 'postgresql://u:p@db:5432/x', PATH: '/bin' });
    expect(sut).toMatchObject({ PORT: 8080, SCHEDULER_ENABLED: false, DATABASE_URL: 'postgresql://u:p@db:5432/x' });
    expect((sut as unknown as Record<string, unknown>).PATH).toBeUndefined();
  });

  it('names every invalid variable in one error', () => {
    let caught: unknown;
    try {
      validateEnvironment({ PORT: 'eighty', DATABASE_URL: 'mysql://x', SCHEDULER_ENABLED: 'perhaps', BOOTSTRAP_ADMIN_TOKEN: 'short' });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ConfigValidationError);
    const message = (caught as Error).message;
    for (const name of ['PORT="eighty"', 'DATABASE_URL="mysql://x"', 'SCHEDULER_ENABLED="perhaps"', 'BOOTSTRAP_ADMIN_TOKEN=(hidden)']) {
      expect(message).toContain(name);
    }
    expect(message).not.toContain('short');
  });

  it('reads TRUST_PROXY as Express takes it: false by default, a hop count, or named proxies', () => {
    expect(validateEnvironment({}).TRUST_PROXY).toBe(false);
    expect(validateEnvironment({ TRUST_PROXY: 'false' }).TRUST_PROXY).toBe(false);
    expect(validateEnvironment({ TRUST_PROXY: '2' }).TRUST_PROXY).toBe(2);
    expect(validateEnvironment({ TRUST_PROXY: 'loopback, 10.0.0.0/8, fd00::/8' }).TRUST_PROXY).toBe('loopback, 10.0.0.0/8, fd00::/8');
  });

  it('refuses a TRUST_PROXY that would believe any sender or that Express cannot parse', () => {
    expect(() => validateEnvironment({ TRUST_PROXY: 'true' })).toThrow(/TRUST_PROXY="true": TRUST_PROXY true would believe any sender/);
    for (const value of ['10.0.0.0/33', 'proxy.internal', 'loopback,', '11']) {
      expect(() => validateEnvironment({ TRUST_PROXY: value })).toThrow(`TRUST_PROXY=${JSON.stringify(value)}`);
    }
  });

  it('reads every setting it has a default for (none is forgotten in CONFIG_KEYS)', () => {
    const withDefaults = Object.keys(new AppConfig());
    expect(withDefaults.length).toBeGreaterThan(10);
    expect(withDefaults.filter((key) => !(CONFIG_KEYS as readonly string[]).includes(key))).toEqual([]);
    expect(validateEnvironment({ LIST_QUERY_TIMEOUT_MS: '300', LIST_POOL_SIZE: '4' })).toMatchObject({ LIST_QUERY_TIMEOUT_MS: 300, LIST_POOL_SIZE: 4 });
    expect(validateEnvironment({})).toMatchObject({ LIST_QUERY_TIMEOUT_MS: 15_000, LIST_POOL_SIZE: 10 });
  });

  it("applies the contract's webhook defaults and hides WEBHOOK_SECRETS_KEY in errors", () => {
    expect(validateEnvironment({})).toMatchObject({ WEBHOOK_MAX_ATTEMPTS: 10, WEBHOOK_RETENTION_DAYS: 7, WEBHOOKS_ALLOW_PRIVATE_TARGETS: false, WEBHOOK_TIMEOUT_MS: 10_000 });
    expect(validateEnvironment({}).WEBHOOK_SECRETS_KEY).toBeUndefined();
    expect(() => validateEnvironment({ WEBHOOK_SECRETS_KEY: 'too-short-key' })).toThrow(/WEBHOOK_SECRETS_KEY=\(hidden\)/);
    expect(() => validateEnvironment({ WEBHOOK_SECRETS_KEY: 'too-short-key' })).not.toThrow(/too-short-key/);
  });

  it('reads DATABASE_DIRECT_URL, DATABASE_READ_URL and READ_REPLICA_MAX_LAG_MS (default 5000) only beside DATABASE_URL', () => {
    const urls = { DATABASE_URL: 'postgres://u:p@pgbouncer:6432/x', DATABASE_DIRECT_URL: 'postgres://u:p@db:5432/x', DATABASE_READ_URL: 'postgres://u:p@replica:5432/x' };
    expect(validateEnvironment(urls)).toMatchObject({ ...urls, READ_REPLICA_MAX_LAG_MS: 5000 });
    expect(validateEnvironment({ ...urls, READ_REPLICA_MAX_LAG_MS: '250' }).READ_REPLICA_MAX_LAG_MS).toBe(250);
    expect(() => validateEnvironment({ DATABASE_DIRECT_URL: urls.DATABASE_DIRECT_URL })).toThrow(/DATABASE_DIRECT_URL is set without DATABASE_URL/);
    expect(() => validateEnvironment({ DATABASE_READ_URL: urls.DATABASE_READ_URL })).toThrow(/DATABASE_READ_URL is set without DATABASE_URL/);
    expect(() => validateEnvironment({ ...urls, DATABASE_READ_URL: 'mysql://replica' })).toThrow(/DATABASE_READ_URL must be a postgres/);
  });

  it.each([['-1'], ['65536'], ['3000.5']])('rejects PORT=%s', (port) => {
    expect(() => validateEnvironment({ PORT: port })).toThrow(ConfigValidationError);
  });
});
