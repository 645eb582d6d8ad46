import { Injectable } from '@nestjs/common';
import { ConflictError, ResourceNotFoundError } from '@app/common';
import { TaskQueueRepository } from '@app/scheduler/task-queue.repository';
import { TaskTreeRepository } from './task-tree.repository';

/** Rows per FETCH of the tree cursor: a few hundred KB of JSON at a time. */
const TREE_BATCH_SIZE = 1000;

/** Admin operations on task trees: retry a failed tree, read a whole tree. */
@Injectable()
export class CleanupTaskOperationsService {
  constructor(
    private readonly trees: TaskTreeRepository,
    private readonly queue: TaskQueueRepository,
  ) {}

  /** Re-queues a failed task with its failed descendants; 409 (with the current status) for any other status. */
  async retry(id: string): Promise<void> {
    const result = await this.queue.requeueFailedSubtree(id);
    if (!result) throw new ResourceNotFoundError('Cleanup task', id);
    if (result.status !== 'failed') {
      throw new ConflictError('task-not-failed', `Cleanup task ${id} is ${result.status}; only a failed task can be retried.`, {
        currentStatus: result.status,
      });
    }
  }

  /**
   * The tree of `id` in batches of JSON texts (`CleanupTaskDto` each), root first. Resolves only once the first
   * batch is read, so that an unknown id is a 404 before anything is sent.
   * Iterate the result to the end or break out of it: either closes the cursor.
   */
  async tree(id: string): Promise<AsyncIterable<string[]>> {
    const cursor = await this.trees.openTreeCursor(id, TREE_BATCH_SIZE);
    if (cursor.first.length === 0) {
      await cursor.close();
      throw new ResourceNotFoundError('Cleanup task', id);
    }
    return (async function* () {
      for await (const batch of cursor.batches()) yield batch.map((row) => row.task);
    })();
  }
}
