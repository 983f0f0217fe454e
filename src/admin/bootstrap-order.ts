/**
 * The order `drc bootstrap` copies tables in: parents before children, by the foreign keys among the
 * copied tables (README "Adding an ezone": foreign keys). Tables on a cycle of foreign keys — a table
 * referencing itself, or a ring of tables — have no such order: they are marked `cyclic` (copied with
 * foreign-key checks off, then their orphans decided again, bootstrap-target-only.ts removeOrphans), each cycle's tables
 * next to one another, after the parents outside it. Pure.
 */

/** A foreign key of `child` referencing `parent` (table names as formatTableName gives them). */
export interface FkEdge {
  child: string;
  parent: string;
}

export interface CopyOrder {
  /** Every table, parents first; otherwise in the order given. */
  order: string[];
  /** The tables on a cycle of foreign keys (a self-reference included). */
  cyclic: Set<string>;
}

/** Tarjan's strongly connected components, emitted parents first (an edge goes child → parent, so a component is emitted after everything it reaches). */
export function copyOrder(tables: readonly string[], edges: readonly FkEdge[]): CopyOrder {
  const known = new Set(tables);
  const parentsOf = new Map<string, string[]>(tables.map((t) => [t, []]));
  const cyclic = new Set<string>();
  for (const e of edges) {
    if (!known.has(e.child) || !known.has(e.parent)) continue; // a parent outside the copied set is already in the target
    if (e.child === e.parent) cyclic.add(e.child);
    else parentsOf.get(e.child)!.push(e.parent);
  }
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const order: string[] = [];
  const visit = (t: string): void => {
    index.set(t, index.size);
    low.set(t, index.get(t)!);
    stack.push(t);
    onStack.add(t);
    for (const p of parentsOf.get(t)!) {
      if (!index.has(p)) {
        visit(p);
        low.set(t, Math.min(low.get(t)!, low.get(p)!));
      } else if (onStack.has(p)) low.set(t, Math.min(low.get(t)!, index.get(p)!));
    }
    if (low.get(t) !== index.get(t)) return;
    const component: string[] = [];
    for (let m = stack.pop()!; ; m = stack.pop()!) {
      onStack.delete(m);
      component.push(m);
      if (m === t) break;
    }
    if (component.length > 1) for (const m of component) cyclic.add(m);
    order.push(...component.sort((x, y) => tables.indexOf(x) - tables.indexOf(y)));
  };
  for (const t of tables) if (!index.has(t)) visit(t);
  return { order, cyclic };
}
