/** Where each node of a Workflow graph goes (pure: no DOM, tested in test/web/). */

export const NODE_W = 168;
export const NODE_H = 54;
const COL_GAP = 84;
const ROW_GAP = 26;
const PAD = 16;

/**
 * Columns by longest path from the start (every edge goes one column or more to the right), rows
 * in the API's node order within a column.
 */
export function layout(nodes: { name: string }[], edges: { from: string; to: string }[]) {
  const column = new Map<string, number>(nodes.map((n) => [n.name, 0]));
  // A Workflow Execution lists its nodes so that every transition goes forward (one pass settles
  // it); a definition may not, so passes repeat until nothing moves (a DAG: at most one per node).
  for (let pass = 0; pass < nodes.length; pass++) {
    let moved = false;
    for (const e of edges) {
      const from = column.get(e.from);
      const to = column.get(e.to);
      if (from !== undefined && to !== undefined && to < from + 1) {
        column.set(e.to, from + 1);
        moved = true;
      }
    }
    if (!moved) break;
  }
  const rows = new Map<number, number>();
  const position = new Map<string, { x: number; y: number }>();
  for (const n of nodes) {
    const c = column.get(n.name)!;
    const r = rows.get(c) ?? 0;
    rows.set(c, r + 1);
    position.set(n.name, { x: PAD + c * (NODE_W + COL_GAP), y: PAD + r * (NODE_H + ROW_GAP) });
  }
  const columns = Math.max(0, ...column.values()) + 1;
  const maxRows = Math.max(1, ...rows.values());
  return { position, width: PAD * 2 + columns * NODE_W + (columns - 1) * COL_GAP, height: PAD * 2 + maxRows * NODE_H + (maxRows - 1) * ROW_GAP };
}
