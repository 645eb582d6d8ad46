import { describe, expect, it } from '@jest/globals';
import { Module, type Type } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { Test } from '@nestjs/testing';
import { RESOURCE_TYPES } from '@app/cleanup-tasks/cleanup-task.enums';
import { CleanupHandler, type CleanupTaskHandler } from './cleanup-handler';
import { buildHandlerMap, HandlerRegistrationError, HandlerRegistry } from './handler-registry';

const noop: CleanupTaskHandler = { handle: async () => undefined };
const one = (resourceType: string, name = `${resourceType} handler`, instance: unknown = noop) => ({ resourceType, name, instance });
const complete = () => RESOURCE_TYPES.map((type) => one(type));

describe('buildHandlerMap', () => {
  it('maps every resource type to its one handler', () => {
    const sut = buildHandlerMap(complete());
    expect([...sut.keys()].sort()).toEqual([...RESOURCE_TYPES].sort());
  });

  it('refuses a duplicate handler, naming both classes', () => {
    expect(() => buildHandlerMap([...complete(), one('delete_app', 'OtherAppHandler')])).toThrow(
      /2 handlers for resource type 'delete_app': delete_app handler, OtherAppHandler; exactly one may handle it/,
    );
  });

  it('refuses a resource type without a handler, naming it', () => {
    expect(() => buildHandlerMap(complete().filter((h) => h.resourceType !== 'delete_element'))).toThrow(/no handler for resource type 'delete_element'/);
  });

  it('refuses an unknown resource type and a class without handle()', () => {
    const attempt = () => buildHandlerMap([...complete(), one('delete_universe'), one('delete_app', 'Broken', {})]);
    expect(attempt).toThrow(HandlerRegistrationError);
    expect(attempt).toThrow(/Broken is a @CleanupHandler but has no handle/);
    expect(attempt).toThrow(/unknown resource type "delete_universe"/);
  });

  it('lists every problem at once', () => {
    try {
      buildHandlerMap([one('delete_app'), one('delete_app', 'Twin')]);
      throw new Error('expected a HandlerRegistrationError');
    } catch (error) {
      expect(error).toBeInstanceOf(HandlerRegistrationError);
      expect((error as HandlerRegistrationError).problems).toHaveLength(4); // 3 missing + 1 duplicate
    }
  });
});

describe('HandlerRegistry (discovery at boot)', () => {
  @CleanupHandler('delete_workspace')
  class WorkspaceHandler {
    async handle() {}
  }
  @CleanupHandler('delete_app')
  class AppHandler {
    async handle() {}
  }
  @CleanupHandler('delete_element')
  class ElementHandler {
    async handle() {}
  }
  @CleanupHandler('delete_database')
  class DatabaseHandler {
    async handle() {}
  }
  @CleanupHandler('delete_app')
  class SecondAppHandler {
    async handle() {}
  }

  @Module({ providers: [WorkspaceHandler, AppHandler, ElementHandler] })
  class HandlersWithoutDatabase {}

  const boot = async (handlers: Type[]) => {
    const moduleRef = await Test.createTestingModule({ imports: [DiscoveryModule, ...handlers], providers: [HandlerRegistry] }).compile();
    await moduleRef.init();
    return moduleRef;
  };

  it('finds the handlers of every module', async () => {
    @Module({ providers: [DatabaseHandler] })
    class DatabaseHandlers {}
    const moduleRef = await boot([HandlersWithoutDatabase, DatabaseHandlers]);
    const sut = moduleRef.get(HandlerRegistry);
    expect(sut.get('delete_app')).toBeInstanceOf(AppHandler);
    expect(sut.get('delete_database')).toBeInstanceOf(DatabaseHandler);
    await moduleRef.close();
  });

  it('stops the boot when a resource type has no handler', async () => {
    await expect(boot([HandlersWithoutDatabase])).rejects.toThrow(/no handler for resource type 'delete_database'/);
  });

  it('stops the boot on a duplicate handler', async () => {
    @Module({ providers: [DatabaseHandler, SecondAppHandler] })
    class MoreHandlers {}
    await expect(boot([HandlersWithoutDatabase, MoreHandlers])).rejects.toThrow(/2 handlers for resource type 'delete_app': AppHandler, SecondAppHandler/);
  });
});
