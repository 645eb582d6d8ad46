import { Injectable, type PipeTransform } from '@nestjs/common';
import { ValidationFailedError } from '@app/common';
import { WEBHOOK_ID_PATTERN } from './webhook-events';

export const MALFORMED_WEBHOOK_ID = 'expected a webhook id: wh_ followed by 26 ULID characters';

/** Path ids must be well-formed webhook ids: anything else is a 400, not a 404. */
@Injectable()
export class ParseWebhookIdPipe implements PipeTransform<string, string> {
  transform(value: string): string {
    if (!WEBHOOK_ID_PATTERN.test(value)) throw new ValidationFailedError([{ path: 'id', message: MALFORMED_WEBHOOK_ID }]);
    return value;
  }
}
