import { ApiProperty } from '@nestjs/swagger';
import { CleanupTaskDto } from './cleanup-task.dto';

const CURSOR_EXAMPLE = 'kq2N0v1bO0cM3W9lX7sYbLq0m7S5t9E2H3fQ8aZx1cVeyJmIjoiY2ZQb...';

/** Where a page sits in the whole result, and how to reach its neighbours. */
export class PageInfoDto {
  @ApiProperty({ type: 'integer', minimum: 0, description: 'Every task matching scope, `ids`, shortcuts and `filter` — ignoring cursors and `limit`. Exact.', example: 1234 })
  total: number;

  @ApiProperty({ description: 'A matching task exists after the last one of this page (exact, also when paging backward).', example: true })
  hasNextPage: boolean;

  @ApiProperty({ description: 'A matching task exists before the first one of this page (exact, also when paging forward).', example: false })
  hasPreviousPage: boolean;

  @ApiProperty({ type: String, nullable: true, description: 'Cursor of the first task (pass as `before` for the previous page); null when `data` is empty.', example: CURSOR_EXAMPLE })
  startCursor: string | null;

  @ApiProperty({ type: String, nullable: true, description: 'Cursor of the last task (pass as `after` for the next page); null when `data` is empty.', example: CURSOR_EXAMPLE })
  endCursor: string | null;
}

/** One page of `GET /api/cleanup-tasks`. */
export class CleanupTaskPageDto {
  @ApiProperty({ type: [CleanupTaskDto], description: 'The tasks of this page, always in the requested order (also for `before` pages).' })
  data: CleanupTaskDto[];

  @ApiProperty({ type: PageInfoDto })
  pageInfo: PageInfoDto;
}
