import { describe, expect, it } from '@jest/globals';
import { DECORATORS } from '@nestjs/swagger';
import { DatabaseUnavailableError, ServiceBusyError } from '../errors/domain-errors';
import { ApiDomainProblem, ApiProblem } from './api-problem.decorator';

type Documented = Record<string, { description: string; headers?: Record<string, unknown>; content: Record<string, { example?: { code: string }; examples?: Record<string, { summary: string; value: { code: string; status: number } }> }> }>;

const responsesOf = (method: object): Documented => Reflect.getMetadata(DECORATORS.API_RESPONSE, method) as Documented;

describe('ApiProblem', () => {
  it('documents one problem of a status with its example', () => {
    class Sut {
      @ApiProblem(404, 'Unknown task.')
      get(): void {}
    }
    const responses = responsesOf(Sut.prototype.get);
    expect(responses['404'].content['application/problem+json'].example).toMatchObject({ status: 404, code: 'not-found', detail: 'Unknown task.' });
  });

  it('documents two problems of one status as one response with an example of each, named by code, in the order written', () => {
    class Sut {
      @ApiDomainProblem('Every list connection is busy.', new ServiceBusyError('busy', 1))
      @ApiDomainProblem('The database is unreachable.', new DatabaseUnavailableError())
      @ApiProblem(404, 'Unknown task.')
      list(): void {}
    }
    const responses = responsesOf(Sut.prototype.list);
    const media = responses['503'].content['application/problem+json'];
    expect(media.example).toBeUndefined();
    expect(Object.keys(media.examples!)).toEqual(['busy', 'database-unavailable']);
    expect(media.examples!['database-unavailable']).toMatchObject({ summary: 'The database is unreachable.', value: { status: 503, code: 'database-unavailable' } });
    expect(responses['503'].description).toBe('Every list connection is busy.\n\nThe database is unreachable.');
    expect(responses['503'].headers).toEqual({ 'Retry-After': { description: expect.stringContaining('Seconds'), schema: { type: 'integer' } } });
    expect(responses['404'].headers).toBeUndefined();
    expect(responses['404'].content['application/problem+json'].example).toMatchObject({ code: 'not-found' });
  });
});
