import type { ResourceKind, ResourcesRepository } from './resources.repository';

/** A deletion failed on purpose (`fail_deletes`), to show retries and failed trees. */
export class InjectedFailureError extends Error {
  constructor(kind: ResourceKind, id: string) {
    super(`injected failure: ${kind} ${id} is flagged to fail deletion (fail_deletes)`);
    this.name = 'InjectedFailureError';
  }
}

/** Throws when the resource is flagged to fail this deletion. */
export async function failIfInjected(resources: ResourcesRepository, kind: ResourceKind, id: string): Promise<void> {
  if (await resources.consumeInjectedFailure(kind, id)) throw new InjectedFailureError(kind, id);
}
