/** SQLSTATEs the app answers on purpose. */
export const SQL_STATE = {
  /** query_canceled: statement_timeout (or an operator's cancel). */
  queryCanceled: '57014',
  /** character_not_in_repertoire: NUL in text. */
  characterNotInRepertoire: '22021',
  /** untranslatable_character: `\u0000` in jsonb. */
  untranslatableCharacter: '22P05',
} as const;

/** PostgreSQL's SQLSTATE of a failed query: pg's error, or TypeORM's QueryFailedError around it. */
export function sqlStateOf(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const { code, driverError } = error as { code?: unknown; driverError?: { code?: unknown } };
  const state = typeof code === 'string' ? code : driverError?.code;
  return typeof state === 'string' ? state : undefined;
}

/** Whether PostgreSQL cancelled the statement (statement_timeout, or an operator's cancel). */
export function isQueryCanceled(error: unknown): boolean {
  return sqlStateOf(error) === SQL_STATE.queryCanceled;
}
