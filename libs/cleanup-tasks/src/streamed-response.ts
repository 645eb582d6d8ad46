import type { Response } from 'express';

/**
 * Writes `chunks` to the response as they come (status and headers set
 * before), waiting for 'drain' whenever the socket buffer is full
 * (backpressure: the source is read no faster than the client reads), then
 * ends it. Stops quietly when the client goes away, or takes nothing for
 * `stallTimeoutMs` (the connection is then destroyed); leaving the loop ends
 * the iteration of `chunks`, which lets go of its cursor.
 *
 * A source that fails after the first byte is rethrown with the response
 * unfinished: the global filter then destroys the connection, so the
 * chunked body never gets its last chunk and a client sees a cut transfer,
 * never a shorter body that looks complete.
 */
export async function writeChunks(response: Response, chunks: AsyncIterable<string>, stallTimeoutMs: number): Promise<void> {
  for await (const chunk of chunks) {
    if (chunk.length === 0) continue;
    if (!response.write(chunk) && !(await drained(response, stallTimeoutMs))) return;
  }
  response.end();
}

/**
 * True once the response can take more; false when the client went away
 * first, or took nothing for `timeoutMs` (the connection is then destroyed).
 */
function drained(response: Response, timeoutMs: number): Promise<boolean> {
  if (response.destroyed) return Promise.resolve(false);
  return new Promise((resolve) => {
    const settle = (writable: boolean) => {
      clearTimeout(timer);
      response.off('drain', onDrain);
      response.off('close', onClose);
      resolve(writable);
    };
    const onDrain = () => settle(true);
    const onClose = () => settle(false);
    const timer = setTimeout(() => {
      settle(false);
      response.destroy();
    }, timeoutMs);
    response.on('drain', onDrain);
    response.on('close', onClose);
  });
}
