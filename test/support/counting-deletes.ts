import { DeleteQueryNode, type KyselyPlugin, type QueryId, TableNode } from 'kysely';

/** countingDeletes is a plugin that notes how many rows each DELETE from one of `tables` removed, in order (a cascade's rows are not counted). */
export function countingDeletes(tables: readonly string[]): KyselyPlugin & { rows: number[] } {
  const deleting = new Set<QueryId>();
  const rows: number[] = [];
  return {
    rows,
    transformQuery: ({ node, queryId }) => {
      const from = DeleteQueryNode.is(node) ? node.from.froms[0] : undefined;
      if (from && TableNode.is(from) && tables.includes(from.table.identifier.name)) deleting.add(queryId);
      return node;
    },
    transformResult: async ({ queryId, result }) => {
      if (deleting.has(queryId)) rows.push(Number(result.numAffectedRows ?? 0));
      return result;
    },
  };
}
