import { Body, Controller, Delete, Get, HttpCode, Param, Post } from '@nestjs/common';
import { ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import { ApiProblem } from '@app/common';
import { Authenticated } from './auth.decorators';
import { CreatedTokenDto, CreateTokenDto, TokenDto } from './dto/token.dto';
import { TokensService } from './tokens.service';

@ApiTags('Tokens')
@Authenticated({ admin: true })
@Controller('api/tokens')
export class TokensController {
  constructor(private readonly tokens: TokensService) {}

  @Post()
  @ApiOperation({ summary: 'Create a token', description: 'Creates an admin, service or metrics token, or a member token scoped to workspaces. The secret is in this response only; it is stored as a hash.' })
  @ApiCreatedResponse({ type: CreatedTokenDto })
  @ApiProblem(400, 'Invalid body: `errors` lists each invalid input.', { detail: 'workspaceIds: a member token needs at least one workspace id', errors: [{ path: 'workspaceIds', message: 'a member token needs at least one workspace id' }] })
  async create(@Body() body: CreateTokenDto): Promise<CreatedTokenDto> {
    const { token, secret } = await this.tokens.create(body);
    return CreatedTokenDto.withSecret(token, secret);
  }

  @Get()
  @ApiOperation({ summary: 'List tokens', description: 'Every token, revoked ones included, oldest first. Secrets are never listed.' })
  @ApiOkResponse({ type: [TokenDto] })
  async list(): Promise<TokenDto[]> {
    return (await this.tokens.list()).map((token) => TokenDto.from(token));
  }

  @Delete(':id')
  @HttpCode(200)
  @ApiOperation({ summary: 'Revoke a token', description: 'The token stops working at once. Revoking a revoked token is a no-op.' })
  @ApiParam({ name: 'id', example: 'tok_01JDQ7Z4Y8K3M5N6P7Q8R9S0TV' })
  @ApiOkResponse({ type: TokenDto, description: 'The revoked token.' })
  @ApiProblem(404, 'No token has this id.')
  async revoke(@Param('id') id: string): Promise<TokenDto> {
    return TokenDto.from(await this.tokens.revoke(id));
  }
}
