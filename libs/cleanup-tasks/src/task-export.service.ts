import { Injectable } from '@nestjs/common';
import { prepareTaskExport } from './cleanup-tasks.service';
import type { ExportCleanupTasksQuery, ExportFormat } from './dto/export-cleanup-tasks.query';
import { csvChunks, ndjsonChunks } from './task-export.format';
import { TaskExportRepository } from './task-export.repository';
import type { WorkspaceScope } from './task-scope';

/** Rows per FETCH of an export's cursor: a few hundred KB at a time. */
const EXPORT_BATCH_SIZE = 1000;

/** The media type of each format: NDJSON is UTF-8 by definition; CSV says so. */
export const EXPORT_CONTENT_TYPES: Readonly<Record<ExportFormat, string>> = { ndjson: 'application/x-ndjson', csv: 'text/csv; charset=utf-8' };

/** One export, ready to be sent. */
export interface TaskExport {
  contentType: string;
  /** `cleanup-tasks-20261205T101530Z.ndjson`: when it was taken (UTC, no characters a file system refuses), and the format. */
  fileName: string;
  /** The body, chunk by chunk; iterate it to the end or break out of it: either lets go of its cursor. */
  chunks: AsyncIterable<string>;
}

/** `2026-12-05T10:15:30.123Z` → `20261205T101530Z` (ISO 8601 basic format, to the second). */
export function fileTimestamp(at: Date): string {
  return at.toISOString().replace(/\.\d{3}Z$/, 'Z').replace(/[-:]/g, '');
}

/** Every task of a query, streamed: `GET /api/cleanup-tasks/export`. */
@Injectable()
export class TaskExportService {
  constructor(private readonly exports: TaskExportRepository) {}

  /**
   * Every task the query selects inside `scope`, in its order, as NDJSON
   * (the list's task JSON, one per line) or CSV (see task-export.format.ts),
   * from one snapshot. Resolves once the first batch is read, so that a
   * busy pool (503), a timeout (504) or invalid input (400) is answered
   * before anything is sent.
   */
  async exportTasks(query: ExportCleanupTasksQuery, scope: WorkspaceScope, at = new Date()): Promise<TaskExport> {
    const criteria = prepareTaskExport(query, scope);
    const fileName = `cleanup-tasks-${fileTimestamp(at)}.${query.format}`;
    const contentType = EXPORT_CONTENT_TYPES[query.format];
    if (query.format === 'csv') {
      const cursor = await this.exports.openExportCursor(criteria, 'texts', EXPORT_BATCH_SIZE);
      return { contentType, fileName, chunks: csvChunks(cursor.batches()) };
    }
    const cursor = await this.exports.openExportCursor(criteria, 'json', EXPORT_BATCH_SIZE);
    return { contentType, fileName, chunks: ndjsonChunks(cursor.batches()) };
  }
}
