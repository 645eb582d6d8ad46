import { describe, expect, it } from '@jest/globals';
import { QueryParameters } from '../sql';
import { OFFLINE_DATA_SOURCE } from '../testing/offline-builders';
import { SAMPLE_SPEC } from '../testing/sample-entity';
import { filterNodes } from './filter-ast';
import { planMatchQuery } from './match-query';
import { parseFilter } from './parse-filter';
import { scopeFieldIn } from './translate-filter';

const spec = SAMPLE_SPEC;

describe('planMatchQuery', () => {
  it('applies scope, conditions and filter in that order, each value bound once however often it is applied', () => {
    const statement = OFFLINE_DATA_SOURCE.createQueryBuilder();
    const sut = planMatchQuery({
      spec,
      params: new QueryParameters(statement),
      scope: scopeFieldIn(spec, 'name', ['w']),
      conditions: [filterNodes.eq('kind', 'c')],
      filter: parseFilter({ children: { some: { size: { gt: 1 } } } }, spec),
    });
    const grouped = statement.subQuery().select('"t0"."kind"').from('items', 't0').groupBy('"t0"."kind"');
    sut.applyWhere(grouped);
    const other = statement.subQuery().select('1').from('other_items', 'o');
    sut.applyWhere(other, 'o');

    expect(grouped.getQuery()).toBe(
      '(SELECT "t0"."kind" FROM "items" "t0" WHERE "t0"."name" = :p1 AND "t0"."kind" = :p2 AND ' +
        'EXISTS (SELECT 1 FROM "items" "t1" WHERE "t1"."parent_id" = "t0"."id" AND "t1"."name" = :p1 AND "t1"."size" > CAST(:p3 AS bigint)) GROUP BY "t0"."kind")',
    );
    expect(other.getQuery()).toBe(
      '(SELECT 1 FROM "other_items" "o" WHERE "o"."name" = :p1 AND "o"."kind" = :p2 AND ' +
        'EXISTS (SELECT 1 FROM "items" "t2" WHERE "t2"."parent_id" = "o"."id" AND "t2"."name" = :p1 AND "t2"."size" > CAST(:p3 AS bigint)))',
    );
    expect(statement.getParameters()).toEqual({ p1: 'w', p2: 'c', p3: 1 });
  });

  it('adds nothing without scope, conditions or filter', () => {
    const statement = OFFLINE_DATA_SOURCE.createQueryBuilder().select('1').from('items', 't0');
    planMatchQuery({ spec, params: new QueryParameters(statement) }).applyWhere(statement);
    expect(statement.getQuery()).toBe('SELECT 1 FROM "items" "t0"');
  });
});
