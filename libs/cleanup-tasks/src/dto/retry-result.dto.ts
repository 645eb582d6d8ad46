import { ApiProperty } from '@nestjs/swagger';

/** Answer of a successful retry. */
export class RetryResultDto {
  @ApiProperty({ enum: [true], example: true })
  ok: true;
}
