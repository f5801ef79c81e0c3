import { useCallback, useEffect, useLayoutEffect, useRef, useState } from 'react';
import { ApiError } from './api.js';

export interface Polled<T> {
  data: T | undefined;
  error: ApiError | null;
  loading: boolean;
  /** Loads again now (after an action). */
  reload: () => void;
}

/**
 * Loads with `load` and again every `intervalMs` while the tab is visible (live updates without
 * reloading the page). `deps` restart it (a new filter or page). The previous data stays on
 * screen while the next answer is on its way, so tables do not flicker.
 */
export function usePoll<T>(load: () => Promise<T>, deps: readonly unknown[], intervalMs: number | null = 2000): Polled<T> {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<ApiError | null>(null);
  const [loading, setLoading] = useState(true);
  const loadRef = useRef(load);
  loadRef.current = load;
  const generation = useRef(0);
  const timer = useRef<ReturnType<typeof setTimeout> | null>(null);

  const run = useCallback(async (gen: number) => {
    if (timer.current) clearTimeout(timer.current);
    try {
      const value = await loadRef.current();
      if (gen !== generation.current) return;
      setData(value);
      setError(null);
    } catch (e) {
      if (gen !== generation.current) return;
      setError(e instanceof ApiError ? e : new ApiError(0, 'CLIENT', e instanceof Error ? e.message : String(e)));
    } finally {
      if (gen === generation.current) {
        setLoading(false);
        if (intervalMs !== null) {
          timer.current = setTimeout(() => {
            if (document.visibilityState === 'hidden') {
              // Paused while hidden; resumes on the visibility change below.
              timer.current = null;
              return;
            }
            void run(gen);
          }, intervalMs);
        }
      }
    }
  }, [intervalMs]);

  // A layout effect: the first request leaves before the browser paints the empty page, not after.
  useLayoutEffect(() => {
    const gen = ++generation.current;
    setLoading(true);
    void run(gen);
    const onVisible = () => {
      if (document.visibilityState === 'visible' && timer.current === null && gen === generation.current) void run(gen);
    };
    document.addEventListener('visibilitychange', onVisible);
    return () => {
      generation.current++;
      document.removeEventListener('visibilitychange', onVisible);
      if (timer.current) clearTimeout(timer.current);
      timer.current = null;
    };
  }, [...deps, run]);

  const reload = useCallback(() => {
    void run(generation.current);
  }, [run]);
  return { data, error, loading, reload };
}

// One shared clock for every relative time on the page (a table row each), not a timer apiece.
const clockListeners = new Set<(now: number) => void>();
let clockTimer: ReturnType<typeof setInterval> | null = null;

/** A ticking "now" (once a second) so relative times ("3 s ago") stay true between polls. */
export function useNow(): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    clockListeners.add(setNow);
    clockTimer ??= setInterval(() => {
      const t = Date.now();
      clockListeners.forEach((l) => l(t));
    }, 1000);
    return () => {
      clockListeners.delete(setNow);
      if (clockListeners.size === 0 && clockTimer) {
        clearInterval(clockTimer);
        clockTimer = null;
      }
    };
  }, []);
  return now;
}
