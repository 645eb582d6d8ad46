import type request from 'supertest';

/** The request with its body read as UTF-8 text whatever its media type (a streamed export, NDJSON or CSV): `response.body` is the string. */
export function asText(test: request.Test): request.Test {
  return test.buffer(true).parse((res, done) => {
    let body = '';
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => (body += chunk));
    res.on('end', () => done(null, body));
  });
}
