/** The Start dialog's environment overrides: `KEY=value` lines, checked before they are sent. */

/** Parses `KEY=value` lines; returns the variables or the first problem. */
export function parseEnvironment(text: string): { ok: true; env: Record<string, string> } | { ok: false; error: string } {
  const env: Record<string, string> = {};
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (!line || line.startsWith('#')) continue;
    const eq = line.indexOf('=');
    const key = (eq < 0 ? line : line.slice(0, eq)).trim();
    if (eq < 0 || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) {
      return { ok: false, error: `Line ${i + 1}: write KEY=value, where KEY is letters, digits and _ and does not start with a digit ("${line.slice(0, 40)}").` };
    }
    env[key] = line.slice(eq + 1);
  }
  return { ok: true, env };
}
