import { useEffect, useRef } from 'react';
import type { ReactNode } from 'react';
import type { ApiError } from './api.js';
import { formatTime, relative, statusTone } from './format.js';
import { useNow } from './hooks.js';
import { Link, setQuery } from './router.js';

export function Status({ value, label }: { value: string; label?: string }) {
  return (
    <span className={`status tone-${statusTone(value)}`} data-status={value}>
      {label ?? value}
    </span>
  );
}

/** A time shown relative to now, the exact time on hover. */
export function When({ iso }: { iso: string | null | undefined }) {
  const now = useNow();
  if (!iso) return <span className="muted">—</span>;
  return (
    <time dateTime={iso} title={formatTime(iso)}>
      {relative(iso, now)}
    </time>
  );
}

/** An API error, with its code and message exactly as the server sent them. */
export function ErrorBox({ error, title }: { error: ApiError | null | undefined; title?: string }) {
  if (!error) return null;
  return (
    <div className="error-box" role="alert">
      <strong>{title ?? 'Error'}</strong> <code>{error.code}</code>
      <p>{error.message}</p>
    </div>
  );
}

export function Empty({ children }: { children: ReactNode }) {
  return <div className="empty">{children}</div>;
}

export function Loading() {
  return <p className="muted" aria-live="polite">Loading…</p>;
}

export function PageHeader({ title, children, crumbs }: { title: ReactNode; children?: ReactNode; crumbs?: { to: string; label: string }[] }) {
  return (
    <header className="page-header">
      {crumbs && (
        <nav className="crumbs" aria-label="Breadcrumb">
          {crumbs.map((c) => (
            <span key={c.to}>
              <Link to={c.to}>{c.label}</Link> /{' '}
            </span>
          ))}
        </nav>
      )}
      <div className="page-title-row">
        <h1>{title}</h1>
        {children && <div className="actions">{children}</div>}
      </div>
    </header>
  );
}

/** Previous / next over an offset-paged list, kept in the URL (`?offset=`). */
export function Pager({ count, limit, offset }: { count: number; limit: number; offset: number }) {
  if (count <= limit && offset === 0) return null;
  const last = Math.min(offset + limit, count);
  return (
    <nav className="pager" aria-label="Pages">
      <button type="button" disabled={offset === 0} onClick={() => setQuery({ offset: Math.max(0, offset - limit) || null }, false)}>
        ← Previous
      </button>
      <span>
        {count === 0 ? 0 : offset + 1}–{last} of {count.toLocaleString()}
      </span>
      <button type="button" disabled={last >= count} onClick={() => setQuery({ offset: offset + limit }, false)}>
        Next →
      </button>
    </nav>
  );
}

export function Fields({ rows }: { rows: [string, ReactNode][] }) {
  return (
    <dl className="fields">
      {rows.map(([k, v]) => (
        <div key={k}>
          <dt>{k}</dt>
          <dd>{v ?? <span className="muted">—</span>}</dd>
        </div>
      ))}
    </dl>
  );
}

/** A modal dialog (the native <dialog>: focus trapped, Escape closes). */
export function Dialog({ open, title, onClose, children }: { open: boolean; title: string; onClose: () => void; children: ReactNode }) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const dialog = ref.current;
    if (!dialog) return;
    if (open && !dialog.open) dialog.showModal();
    if (!open && dialog.open) dialog.close();
  }, [open]);
  return (
    <dialog ref={ref} onClose={onClose} aria-labelledby="dialog-title">
      <h2 id="dialog-title">{title}</h2>
      {open && children}
    </dialog>
  );
}
