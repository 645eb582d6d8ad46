import { Injectable, type OnModuleInit } from '@nestjs/common';
import { DiscoveryService } from '@nestjs/core';
import { RESOURCE_TYPES, type ResourceType } from '@app/cleanup-tasks/cleanup-task.enums';
import { CLEANUP_HANDLER, type CleanupTaskHandler } from './cleanup-handler';

/** A provider marked `@CleanupHandler(type)`, as discovery found it. */
export interface DiscoveredHandler {
  resourceType: unknown;
  name: string;
  instance: unknown;
}

export class HandlerRegistrationError extends Error {
  constructor(readonly problems: string[]) {
    super(`Cleanup handlers are misconfigured; the scheduler cannot start:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'HandlerRegistrationError';
  }
}

/**
 * Exactly one handler per resource type, or an error listing every problem:
 * a duplicate, a type nobody handles, an unknown type, a class without
 * `handle()`.
 */
export function buildHandlerMap(found: readonly DiscoveredHandler[], required: readonly ResourceType[] = RESOURCE_TYPES): Map<ResourceType, CleanupTaskHandler> {
  const problems: string[] = [];
  const byType = new Map<ResourceType, DiscoveredHandler[]>();
  for (const handler of found) {
    if (!required.includes(handler.resourceType as ResourceType)) {
      problems.push(`${handler.name} handles unknown resource type ${JSON.stringify(handler.resourceType)} (known: ${required.join(', ')})`);
      continue;
    }
    if (typeof (handler.instance as Partial<CleanupTaskHandler> | undefined)?.handle !== 'function') {
      problems.push(`${handler.name} is a @CleanupHandler but has no handle(task, context) method (or is not a singleton provider)`);
      continue;
    }
    const type = handler.resourceType as ResourceType;
    byType.set(type, [...(byType.get(type) ?? []), handler]);
  }
  for (const type of required) {
    const handlers = byType.get(type) ?? [];
    if (handlers.length === 0) {
      problems.push(`no handler for resource type '${type}': provide a @CleanupHandler('${type}') class (the reference ones are in ResourcesModule)`);
    } else if (handlers.length > 1) {
      problems.push(`${handlers.length} handlers for resource type '${type}': ${handlers.map((h) => h.name).join(', ')}; exactly one may handle it`);
    }
  }
  if (problems.length > 0) throw new HandlerRegistrationError(problems);
  return new Map([...byType].map(([type, handlers]) => [type, handlers[0].instance as CleanupTaskHandler]));
}

/** The handler of each resource type, found at boot among all providers (Nest's DiscoveryService). */
@Injectable()
export class HandlerRegistry implements OnModuleInit {
  private handlers = new Map<ResourceType, CleanupTaskHandler>();

  constructor(private readonly discovery: DiscoveryService) {}

  onModuleInit(): void {
    const found = this.discovery.getProviders({ metadataKey: CLEANUP_HANDLER.KEY }).map((wrapper) => ({
      resourceType: this.discovery.getMetadataByDecorator(CLEANUP_HANDLER, wrapper),
      name: wrapper.metatype?.name ?? String(wrapper.token),
      instance: wrapper.isDependencyTreeStatic() ? wrapper.instance : undefined,
    }));
    this.handlers = buildHandlerMap(found);
  }

  get(resourceType: ResourceType): CleanupTaskHandler {
    const handler = this.handlers.get(resourceType);
    if (!handler) throw new Error(`No cleanup handler for resource type '${resourceType}'`);
    return handler;
  }
}
