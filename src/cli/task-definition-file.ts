/**
 * `task_definition_file:` of a Task in berth.yaml: `berth apply` reads the JSON file (relative to
 * the berth.yaml's directory) and sends its contents as `task_definition`. The server never sees
 * the path.
 */
import fs from 'node:fs';
import path from 'node:path';

/** A task definition file read and parsed, or why it could not be. */
export type TaskDefinitionFile =
  | { ok: true; file: string; value: Record<string, unknown> }
  | { ok: false; file: string; message: string };

/**
 * Where the files named in `berth.yaml` are looked up: the directory of the berth.yaml, or the
 * working directory when it came from standard input (`-f -`).
 */
export function baseDirectoryOf(berthYaml: string, cwd: string = process.cwd()): string {
  return berthYaml === '-' ? cwd : path.dirname(path.resolve(cwd, berthYaml));
}

/** The path of a `task_definition_file:` value: absolute as given, else relative to `baseDir`. */
export function resolveTaskDefinitionFile(baseDir: string, value: string): string {
  return path.isAbsolute(value) ? path.normalize(value) : path.resolve(baseDir, value);
}

/** Reads and parses one task definition file. Every failure names the file (and line:col for JSON errors). */
export function readTaskDefinitionFile(file: string): TaskDefinitionFile {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a directory' : code === 'EACCES' ? 'permission denied' : (error as Error).message;
    return { ok: false, file, message: `cannot read ${file}: ${why}` };
  }
  if (text.startsWith('\uFEFF')) text = text.slice(1);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    const found = findJsonError(text);
    if (!found) return { ok: false, file, message: `${file}: not valid JSON: ${(error as Error).message}` };
    const { line, col } = lineAndColumn(text, found.offset);
    return { ok: false, file, message: `${file}:${line}:${col}: ${found.message}` };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { ok: false, file, message: `${file}: must hold a JSON object (a task definition as RegisterTaskDefinition takes it)` };
  }
  const object = value as Record<string, unknown>;
  if ('taskDefinition' in object && !('containerDefinitions' in object)) {
    return {
      ok: false,
      file,
      message: `${file}: looks like the output of \`aws ecs describe-task-definition\`; keep only the object under "taskDefinition"`,
    };
  }
  return { ok: true, file, value: object };
}

/** 1-based line and column of a character offset. */
export function lineAndColumn(text: string, offset: number): { line: number; col: number } {
  const before = text.slice(0, offset);
  const lastBreak = before.lastIndexOf('\n');
  return { line: before.split('\n').length, col: offset - lastBreak };
}

class JsonSyntax extends Error {
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(message);
  }
}

const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;

/**
 * Where a text stops being JSON, and what was expected there; null when it is valid JSON (or too
 * deeply nested to say). Node's own messages often give no position.
 */
export function findJsonError(text: string): { offset: number; message: string } | null {
  let i = 0;
  const fail = (message: string, at = i): never => {
    throw new JsonSyntax(message, at);
  };
  const found = (at = i): string => {
    if (at >= text.length) return 'the end of the file';
    const c = String.fromCodePoint(text.codePointAt(at)!);
    return c === "'" ? `"'"` : `'${c}'`;
  };
  const hint = (at = i): string => (text[at] === '/' ? ' (JSON has no comments)' : text[at] === "'" ? ' (JSON strings use double quotes)' : '');
  const space = () => {
    while (i < text.length && (text[i] === ' ' || text[i] === '\t' || text[i] === '\n' || text[i] === '\r')) i++;
  };
  const string = () => {
    const start = i;
    i++; // the opening quote
    for (;;) {
      if (i >= text.length) fail('this string is never closed', start);
      const c = text.charCodeAt(i);
      if (c === 0x22) {
        i++;
        return;
      }
      if (c === 0x5c) {
        const next = text[i + 1];
        if (next === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) fail('\\u must be followed by 4 hex digits');
          i += 6;
        } else if (next !== undefined && '"\\/bfnrt'.includes(next)) i += 2;
        else fail(`invalid escape "\\${next ?? ''}" in a string`);
        continue;
      }
      if (c < 0x20) fail('a control character (such as a line break) inside a string; write it as \\n, \\t, …');
      i++;
    }
  };
  const value = (): void => {
    space();
    const c = text[i];
    if (c === '{') {
      i++;
      space();
      if (text[i] === '}') {
        i++;
        return;
      }
      for (;;) {
        space();
        if (text[i] !== '"') {
          fail(`expected a property name in double quotes, found ${found()}${text[i] === '}' ? ' (JSON allows no trailing comma)' : hint()}`);
        }
        string();
        space();
        if (text[i] !== ':') fail(`expected ':' after the property name, found ${found()}`);
        i++;
        value();
        space();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === '}') {
          i++;
          return;
        }
        fail(`expected ',' or '}' after a property value, found ${found()}${hint()}`);
      }
    }
    if (c === '[') {
      i++;
      space();
      if (text[i] === ']') {
        i++;
        return;
      }
      for (;;) {
        space();
        if (text[i] === ']') fail(`expected a value, found ']' (JSON allows no trailing comma)`);
        value();
        space();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === ']') {
          i++;
          return;
        }
        fail(`expected ',' or ']' after a list item, found ${found()}${hint()}`);
      }
    }
    if (c === '"') return string();
    if (c === '-' || (c !== undefined && c >= '0' && c <= '9')) {
      NUMBER.lastIndex = i;
      const m = NUMBER.exec(text);
      if (!m) fail('invalid number');
      i += m![0].length;
      return;
    }
    for (const word of ['true', 'false', 'null']) {
      if (text.startsWith(word, i)) {
        i += word.length;
        return;
      }
    }
    fail(`expected a value, found ${found()}${hint()}`);
  };
  try {
    value();
    space();
    if (i < text.length) fail(`unexpected ${found()} after the JSON value${hint()}`);
    return null;
  } catch (error) {
    if (error instanceof JsonSyntax) return { offset: error.offset, message: error.message };
    return null; // e.g. nested too deeply for this scanner; JSON.parse's own message is used
  }
}
