import type { FilterNode } from './filter-ast';

/**
 * Whether a filter reads nothing but the given fields of the row itself: no
 * relation traversal, every condition on one of `fields`. Such a filter is a
 * function of those columns alone, so it can be evaluated on any table that
 * has them — e.g. on per-(field values) counters instead of the rows.
 */
export function filterReadsOnly(node: FilterNode, fields: ReadonlySet<string>): boolean {
  switch (node.kind) {
    case 'and':
    case 'or':
      return node.items.every((item) => filterReadsOnly(item, fields));
    case 'not':
      return filterReadsOnly(node.item, fields);
    case 'condition':
      return fields.has(node.field);
    case 'relation':
      return false;
  }
}
