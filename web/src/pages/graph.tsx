import { statusTone } from '../format.js';
import { navigate } from '../router.js';
import type { WorkflowEdge, WorkflowNode } from '../types.js';
import { layout, NODE_H, NODE_W } from '../graph-layout.js';

/**
 * A Workflow drawn as boxes and arrows: each node coloured by the state of its latest execution
 * (or its definition only, without states), each edge labelled with its rule and coloured by
 * whether it fired. Nodes with an execution link to it.
 */
export function WorkflowGraph({ nodes, edges, title }: { nodes: Pick<WorkflowNode, 'name' | 'task' | 'state' | 'execution'>[]; edges: Pick<WorkflowEdge, 'from' | 'to' | 'rule' | 'state'>[]; title: string }) {
  const { position, width, height } = layout(nodes, edges);
  return (
    <div className="graph-wrap">
      <svg className="graph" viewBox={`0 0 ${width} ${height}`} width={width} height={height} role="img" aria-label={title}>
        <defs>
          <marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">
            <path d="M 0 0 L 10 5 L 0 10 z" className="arrow-head" />
          </marker>
        </defs>
        {edges.map((e, i) => {
          const a = position.get(e.from);
          const b = position.get(e.to);
          if (!a || !b) return null;
          const x1 = a.x + NODE_W;
          const y1 = a.y + NODE_H / 2;
          const x2 = b.x;
          const y2 = b.y + NODE_H / 2;
          const mid = (x1 + x2) / 2;
          return (
            <g key={i} className={`edge edge-${e.state.toLowerCase()}`} data-edge={`${e.from}->${e.to}`} data-state={e.state}>
              <path d={`M ${x1} ${y1} C ${mid} ${y1}, ${mid} ${y2}, ${x2 - 2} ${y2}`} markerEnd="url(#arrow)" />
              <text x={mid} y={(y1 + y2) / 2 - 6} textAnchor="middle">
                {e.rule}
              </text>
            </g>
          );
        })}
        {nodes.map((n) => {
          const p = position.get(n.name)!;
          const href = n.execution ? `/executions/${n.execution.uuid}` : null;
          const body = (
            <g className={`node tone-${statusTone(n.state)}`} data-node={n.name} data-state={n.state}>
              <rect x={p.x} y={p.y} width={NODE_W} height={NODE_H} rx="8" />
              <text x={p.x + 10} y={p.y + 21} className="node-name">
                {n.name.length > 20 ? `${n.name.slice(0, 19)}…` : n.name}
              </text>
              <text x={p.x + 10} y={p.y + 40} className="node-state">
                {n.state}
                {n.execution?.exit_code !== undefined && n.execution?.exit_code !== null ? ` · exit ${n.execution.exit_code}` : ''}
              </text>
              <title>{`${n.name} (Task ${n.task.name}): ${n.state}`}</title>
            </g>
          );
          return href ? (
            <a
              key={n.name}
              href={href}
              aria-label={`${n.name}: ${n.state}, open its execution`}
              onClick={(ev) => {
                ev.preventDefault();
                navigate(href);
              }}
            >
              {body}
            </a>
          ) : (
            <g key={n.name}>{body}</g>
          );
        })}
      </svg>
    </div>
  );
}
