import { Injectable, PipeTransform } from '@nestjs/common';
import { ValidationFailedError } from '@app/common';
import { TASK_ID_MESSAGE, TASK_ID_PATTERN } from './cleanup-task.enums';

/** Path ids must be well-formed task ids (`ct_` + ULID): anything else is a 400, not a 404. */
@Injectable()
export class ParseTaskIdPipe implements PipeTransform<string, string> {
  transform(value: string): string {
    if (!TASK_ID_PATTERN.test(value)) {
      throw new ValidationFailedError([{ path: 'id', message: TASK_ID_MESSAGE }]);
    }
    return value;
  }
}
