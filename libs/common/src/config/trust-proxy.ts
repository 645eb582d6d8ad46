import proxyAddr from 'proxy-addr';
import { ValidateBy, type ValidationArguments, type ValidationOptions } from 'class-validator';

/**
 * Express's `trust proxy` setting as TRUST_PROXY gives it: `false` (believe
 * no `X-Forwarded-For`), a hop count, or a comma-separated list of the
 * proxies' addresses, CIDR ranges and names (`loopback`, `linklocal`,
 * `uniquelocal`).
 */
export type TrustProxySetting = false | number | string;

/** Above this many hops a count is a typo, not a deployment. */
const MAX_HOPS = 10;

/** `false` and digit strings become what Express takes for them; anything else stays text for the validator. */
export const toTrustProxy = ({ value }: { value: unknown }): unknown => {
  if (typeof value !== 'string') return value;
  const text = value.trim();
  if (text.toLowerCase() === 'false') return false;
  if (/^\d+$/.test(text)) return Number(text);
  return text;
};

/** Why a TRUST_PROXY value cannot be used, or undefined when Express would take it as meant. */
export function trustProxyProblem(value: unknown): string | undefined {
  if (value === false) return undefined;
  if (typeof value === 'number') return Number.isInteger(value) && value >= 0 && value <= MAX_HOPS ? undefined : `a hop count must be 0–${MAX_HOPS}`;
  if (typeof value !== 'string') return 'must be false, a hop count, or proxy addresses';
  // `true` would believe whatever any sender writes in X-Forwarded-For: every client could pick its own address, and so its own budget.
  if (value.toLowerCase() === 'true') return 'true would believe any sender; name the proxies (loopback, addresses, CIDR ranges) or give a hop count';
  try {
    // The parser Express itself compiles the setting with: what passes here is what it will believe.
    proxyAddr.compile(value.split(',').map((entry) => entry.trim()));
    return undefined;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

/** A value Express's `trust proxy` takes as meant (see trustProxyProblem). */
export function IsTrustProxy(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isTrustProxy',
      validator: {
        validate: (value: unknown) => trustProxyProblem(value) === undefined,
        defaultMessage: (args?: ValidationArguments) => `${args?.property ?? 'TRUST_PROXY'} ${trustProxyProblem(args?.value) ?? 'is not a trust proxy setting'}`,
      },
    },
    options,
  );
}
