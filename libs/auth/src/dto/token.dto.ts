import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { ArrayMaxSize, ArrayMinSize, IsArray, IsIn, IsOptional, IsString, Length, Matches } from 'class-validator';
import { IsStorableText } from '@app/common';
import type { ApiToken } from '../api-token.entity';
import { ROLES, type Role } from '../principal';

export class CreateTokenDto {
  @ApiProperty({ description: 'What the token is for, shown in lists.', example: 'billing-service dashboard', minLength: 1, maxLength: 200 })
  @IsString()
  @Length(1, 200)
  @IsStorableText()
  name: string;

  @ApiProperty({ enum: ROLES, enumName: 'Role', description: '`admin` sees and steers everything; `service` enqueues work and reads all tasks; `member` reads the tasks of its workspaces; `metrics` reads `GET /metrics` and nothing else (for a monitoring system).', example: 'member' })
  @IsIn(ROLES)
  role: Role;

  @ApiPropertyOptional({
    type: [String],
    description: 'Workspaces a `member` token may see (required for members, 1–100; not allowed for the other roles).',
    example: ['ws_acme'],
  })
  @IsOptional()
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(100)
  @IsString({ each: true })
  @Length(1, 200, { each: true })
  @Matches(/^\S+$/, { each: true, message: 'workspaceIds must not contain white space' })
  @IsStorableText({ each: true })
  workspaceIds?: string[];
}

export class TokenDto {
  @ApiProperty({ example: 'tok_01JDQ7Z4Y8K3M5N6P7Q8R9S0TV' })
  id: string;

  @ApiProperty({ example: 'billing-service dashboard' })
  name: string;

  @ApiProperty({ enum: ROLES, enumName: 'Role' })
  role: Role;

  @ApiProperty({ type: [String], description: 'Workspaces a member sees; empty for the other roles.', example: ['ws_acme'] })
  workspaceIds: string[];

  @ApiProperty({ description: 'The first characters of the secret, to recognise it.', example: 'ctk_q8Zx…' })
  tokenHint: string;

  @ApiProperty({ format: 'date-time', example: '2026-11-29T10:15:30.123Z' })
  createdAt: string;

  @ApiProperty({ format: 'date-time', nullable: true, type: String, description: 'Last use, to the minute.', example: null })
  lastUsedAt: string | null;

  @ApiProperty({ format: 'date-time', nullable: true, type: String, example: null })
  revokedAt: string | null;

  static from(token: ApiToken): TokenDto {
    const dto = new TokenDto();
    dto.id = token.id;
    dto.name = token.name;
    dto.role = token.role;
    dto.workspaceIds = token.workspaceIds;
    dto.tokenHint = token.tokenHint;
    dto.createdAt = token.createdAt.toISOString();
    dto.lastUsedAt = token.lastUsedAt?.toISOString() ?? null;
    dto.revokedAt = token.revokedAt?.toISOString() ?? null;
    return dto;
  }
}

export class CreatedTokenDto extends TokenDto {
  @ApiProperty({ description: 'The bearer secret. Shown only in this response; store it now.', example: 'ctk_q8Zx3v1cJ6m9yTzA0bC2dE4fG5hI7jK8lM9nO0pQ1rS' })
  token: string;

  static withSecret(token: ApiToken, secret: string): CreatedTokenDto {
    return Object.assign(new CreatedTokenDto(), TokenDto.from(token), { token: secret });
  }
}
