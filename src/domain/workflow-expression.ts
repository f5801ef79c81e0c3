/**
 * The expression language of `on: expression` Workflow Transitions: a small, safe language over
 * the fields of the execution that just finished, e.g.
 *
 *     exit_code in [0, 3] and error_count / expected_count < 0.1
 *     status == "TERMINATED_AFTER_TIME_OUT" or output_value.rows == 0
 *
 * Written by hand, parsed into a tree and evaluated by walking it: nothing is ever handed to
 * `eval` or `Function`, there are no calls, loops or assignments, names resolve only to the
 * fields listed in `EXPRESSION_FIELDS`, and member access reads only own properties of the
 * JSON `output_value`. Size and nesting are bounded, so evaluation is linear in the text.
 *
 * Grammar (lowest precedence first; keywords are case-sensitive):
 *
 *     expression := or
 *     or         := and (("or" | "||") and)*
 *     and        := not (("and" | "&&") not)*
 *     not        := ("not" | "!") not | comparison
 *     comparison := sum (("==" | "!=" | "<" | "<=" | ">" | ">=" | "in" | "not in") sum)?
 *     sum        := product (("+" | "-") product)*
 *     product    := unary (("*" | "/" | "%") unary)*
 *     unary      := "-" unary | primary
 *     primary    := NUMBER | STRING | "true" | "false" | "null"
 *                 | FIELD ("." NAME)*          (member access: output_value only)
 *                 | "[" (expression ("," expression)*)? "]"
 *                 | "(" expression ")"
 *
 * Values are numbers, strings, booleans, null, lists, and (from `output_value`) JSON objects.
 * Evaluation never throws: a comparison of mismatched types (a string with a number, anything
 * ordered with null) is false, arithmetic on a non-number or a division by zero gives null, and
 * `and`/`or`/`not` treat only `true` as true. A transition fires when the whole expression is
 * exactly `true`.
 */

/** Longest expression accepted, in characters. */
export const MAX_EXPRESSION_LENGTH = 2000;
/** Deepest nesting of parentheses, lists and prefix operators accepted. */
const MAX_DEPTH = 64;

export type ExpressionValue = number | string | boolean | null | ExpressionValue[] | { [key: string]: unknown };

/** The fields an expression may name, with their types, for documentation and error messages. */
export const EXPRESSION_FIELDS = {
  status: 'string: the execution\'s final status, e.g. "SUCCEEDED", "FAILED", "TERMINATED_AFTER_TIME_OUT"',
  succeeded: 'boolean: it succeeded (SUCCEEDED, or marked done)',
  failed: 'boolean: it ended without success (any other final status)',
  timed_out: 'boolean: it was ended after its timeout (TERMINATED_AFTER_TIME_OUT)',
  exit_code: 'number or null: exit code of its last attempt',
  success_count: 'number or null: reported success count',
  error_count: 'number or null: reported error count',
  skipped_count: 'number or null: reported skipped count',
  expected_count: 'number or null: reported expected count',
  attempt: 'number: how many attempts it made',
  failed_attempts: 'number: attempts that failed',
  timed_out_attempts: 'number: attempts that timed out',
  duration_seconds: 'number or null: from start to finish, in seconds',
  stop_reason: 'string or null: why Berth ended it, e.g. "MANUAL", "MAX_EXECUTION_TIME_EXCEEDED"',
  last_status_message: 'string or null: the last status message it reported',
  output_value: 'any JSON: its output value; read fields with output_value.name',
} as const;
export type ExpressionField = keyof typeof EXPRESSION_FIELDS;
const FIELD_NAMES = Object.keys(EXPRESSION_FIELDS) as ExpressionField[];

/** The values of the fields for one finished execution. */
export type ExpressionContext = { [K in ExpressionField]: ExpressionValue | unknown };

/** A parse error with the 0-based offset it was found at; its message says the 1-based column. */
export class ExpressionError extends Error {
  constructor(
    message: string,
    readonly position: number,
  ) {
    super(`${message} at column ${position + 1}`);
    this.name = 'ExpressionError';
  }
}

type Comparison = '==' | '!=' | '<' | '<=' | '>' | '>=' | 'in' | 'not in';
type Arithmetic = '+' | '-' | '*' | '/' | '%';

/** A parsed expression. */
export type ExpressionNode =
  | { kind: 'literal'; value: ExpressionValue; pos: number }
  | { kind: 'field'; name: ExpressionField; path: string[]; pos: number }
  | { kind: 'list'; items: ExpressionNode[]; pos: number }
  | { kind: 'not'; operand: ExpressionNode; pos: number }
  | { kind: 'negate'; operand: ExpressionNode; pos: number }
  | { kind: 'logical'; op: 'and' | 'or'; left: ExpressionNode; right: ExpressionNode; pos: number }
  | { kind: 'compare'; op: Comparison; left: ExpressionNode; right: ExpressionNode; pos: number }
  | { kind: 'arith'; op: Arithmetic; left: ExpressionNode; right: ExpressionNode; pos: number };

type Token =
  | { type: 'number'; value: number; pos: number; text: string }
  | { type: 'string'; value: string; pos: number; text: string }
  | { type: 'name'; value: string; pos: number; text: string }
  | { type: 'op'; value: string; pos: number; text: string }
  | { type: 'end'; pos: number; text: string };

const OPERATORS = ['==', '!=', '<=', '>=', '&&', '||', '<', '>', '!', '+', '-', '*', '/', '%', '(', ')', '[', ']', ',', '.'];

function describe(token: Token): string {
  return token.type === 'end' ? 'the end of the expression' : `"${token.text}"`;
}

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
      i++;
      continue;
    }
    const start = i;
    if (/[0-9]/.test(c) || (c === '.' && /[0-9]/.test(text[i + 1] ?? ''))) {
      const match = /^(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?/.exec(text.slice(i))!;
      const raw = match[0];
      if (/^[A-Za-z_]/.test(text.slice(i + raw.length))) {
        throw new ExpressionError(`invalid number "${raw}${text[i + raw.length]}"`, start);
      }
      tokens.push({ type: 'number', value: Number(raw), pos: start, text: raw });
      i += raw.length;
      continue;
    }
    if (/[A-Za-z_]/.test(c)) {
      const raw = /^[A-Za-z_][A-Za-z0-9_]*/.exec(text.slice(i))![0];
      tokens.push({ type: 'name', value: raw, pos: start, text: raw });
      i += raw.length;
      continue;
    }
    if (c === '"' || c === "'") {
      let value = '';
      i++;
      for (;;) {
        if (i >= text.length) throw new ExpressionError(`unterminated string (no closing ${c})`, start);
        const d = text[i]!;
        if (d === c) {
          i++;
          break;
        }
        if (d === '\\') {
          const next = text[i + 1];
          if (next === undefined) throw new ExpressionError(`unterminated string (no closing ${c})`, start);
          const escapes: Record<string, string> = { '\\': '\\', '"': '"', "'": "'", n: '\n', t: '\t' };
          const decoded = escapes[next];
          if (decoded === undefined) throw new ExpressionError(`unknown escape "\\${next}" in a string (use \\\\, \\", \\', \\n or \\t)`, i);
          value += decoded;
          i += 2;
          continue;
        }
        value += d;
        i++;
      }
      tokens.push({ type: 'string', value, pos: start, text: text.slice(start, i) });
      continue;
    }
    const op = OPERATORS.find((o) => text.startsWith(o, i));
    if (op) {
      tokens.push({ type: 'op', value: op, pos: start, text: op });
      i += op.length;
      continue;
    }
    if (c === '=') throw new ExpressionError('"=" is not an operator (compare with "==")', start);
    if (c === '&' || c === '|') throw new ExpressionError(`"${c}" is not an operator (use "${c}${c}" or "${c === '&' ? 'and' : 'or'}")`, start);
    throw new ExpressionError(`unexpected character "${c}"`, start);
  }
  tokens.push({ type: 'end', pos: text.length, text: '' });
  return tokens;
}

/** Edit distance, for "did you mean" hints. */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let previous = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const current = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, previous + (a[i - 1] === b[j - 1] ? 0 : 1));
      previous = current;
    }
  }
  return row[b.length]!;
}

/** The closest of `candidates` to `name` when it is close enough to be a typo, else null. */
export function closest(name: string, candidates: readonly string[]): string | null {
  let best: string | null = null;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const d = distance(name.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best !== null && bestDistance <= Math.max(1, Math.floor(name.length / 3)) ? best : null;
}

const KEYWORDS = new Set(['and', 'or', 'not', 'in', 'true', 'false', 'null']);

class Parser {
  private index = 0;
  private depth = 0;

  constructor(private readonly tokens: Token[]) {}

  private peek(): Token {
    return this.tokens[this.index]!;
  }

  private next(): Token {
    const token = this.tokens[this.index]!;
    if (token.type !== 'end') this.index++;
    return token;
  }

  private isOp(value: string): boolean {
    const t = this.peek();
    return t.type === 'op' && t.value === value;
  }

  private isWord(value: string): boolean {
    const t = this.peek();
    return t.type === 'name' && t.value === value;
  }

  private enter(pos: number): void {
    if (++this.depth > MAX_DEPTH) throw new ExpressionError(`nested more than ${MAX_DEPTH} levels deep`, pos);
  }

  parse(): ExpressionNode {
    const node = this.or();
    const rest = this.peek();
    if (rest.type !== 'end') {
      if (rest.type === 'op' && rest.value === ')') throw new ExpressionError('unexpected ")" with no matching "("', rest.pos);
      throw new ExpressionError(`unexpected ${describe(rest)} after a complete expression (missing "and", "or" or an operator?)`, rest.pos);
    }
    return node;
  }

  private or(): ExpressionNode {
    let left = this.and();
    while (this.isWord('or') || this.isOp('||')) {
      const op = this.next();
      left = { kind: 'logical', op: 'or', left, right: this.and(), pos: op.pos };
    }
    return left;
  }

  private and(): ExpressionNode {
    let left = this.not();
    while (this.isWord('and') || this.isOp('&&')) {
      const op = this.next();
      left = { kind: 'logical', op: 'and', left, right: this.not(), pos: op.pos };
    }
    return left;
  }

  private not(): ExpressionNode {
    if (this.isWord('not') || this.isOp('!')) {
      const op = this.next();
      this.enter(op.pos);
      const operand = this.not();
      this.depth--;
      return { kind: 'not', operand, pos: op.pos };
    }
    return this.comparison();
  }

  private comparison(): ExpressionNode {
    const left = this.sum();
    const t = this.peek();
    let op: Comparison | null = null;
    if (t.type === 'op' && ['==', '!=', '<', '<=', '>', '>='].includes(t.value)) op = t.value as Comparison;
    else if (this.isWord('in')) op = 'in';
    else if (this.isWord('not') && this.tokens[this.index + 1]?.type === 'name' && this.tokens[this.index + 1]?.text === 'in') op = 'not in';
    if (op === null) return left;
    this.next();
    if (op === 'not in') this.next();
    const right = this.sum();
    const after = this.peek();
    if (after.type === 'op' && ['==', '!=', '<', '<=', '>', '>='].includes(after.value)) {
      throw new ExpressionError(`comparisons cannot be chained; write "a < b and b < c" instead of a second "${after.value}"`, after.pos);
    }
    return { kind: 'compare', op, left, right, pos: t.pos };
  }

  private sum(): ExpressionNode {
    let left = this.product();
    while (this.isOp('+') || this.isOp('-')) {
      const op = this.next();
      left = { kind: 'arith', op: op.text as Arithmetic, left, right: this.product(), pos: op.pos };
    }
    return left;
  }

  private product(): ExpressionNode {
    let left = this.unary();
    while (this.isOp('*') || this.isOp('/') || this.isOp('%')) {
      const op = this.next();
      left = { kind: 'arith', op: op.text as Arithmetic, left, right: this.unary(), pos: op.pos };
    }
    return left;
  }

  private unary(): ExpressionNode {
    if (this.isOp('-')) {
      const op = this.next();
      this.enter(op.pos);
      const operand = this.unary();
      this.depth--;
      return { kind: 'negate', operand, pos: op.pos };
    }
    return this.primary();
  }

  private primary(): ExpressionNode {
    const t = this.next();
    switch (t.type) {
      case 'number':
        return { kind: 'literal', value: t.value, pos: t.pos };
      case 'string':
        return { kind: 'literal', value: t.value, pos: t.pos };
      case 'name':
        return this.name(t);
      case 'end':
        throw new ExpressionError('the expression ends too early: expected a value', t.pos);
      case 'op':
        if (t.value === '(') {
          this.enter(t.pos);
          const inner = this.or();
          this.expect(')', `a ")" to close the "(" at column ${t.pos + 1}`);
          this.depth--;
          return inner;
        }
        if (t.value === '[') {
          this.enter(t.pos);
          const items: ExpressionNode[] = [];
          if (!this.isOp(']')) {
            for (;;) {
              items.push(this.or());
              if (!this.isOp(',')) break;
              this.next();
            }
          }
          this.expect(']', `"," or a "]" to close the list opened at column ${t.pos + 1}`);
          this.depth--;
          return { kind: 'list', items, pos: t.pos };
        }
        throw new ExpressionError(`unexpected "${t.value}": expected a value (a number, a string, a field, "(" or "[")`, t.pos);
    }
  }

  private name(t: Extract<Token, { type: 'name' }>): ExpressionNode {
    if (t.value === 'true' || t.value === 'false') return { kind: 'literal', value: t.value === 'true', pos: t.pos };
    if (t.value === 'null') return { kind: 'literal', value: null, pos: t.pos };
    if (KEYWORDS.has(t.value)) throw new ExpressionError(`unexpected "${t.value}": expected a value`, t.pos);
    if (this.isOp('(')) {
      throw new ExpressionError(`"${t.value}(…)": function calls are not part of the expression language`, t.pos);
    }
    if (!(FIELD_NAMES as string[]).includes(t.value)) {
      const hint = closest(t.value, FIELD_NAMES);
      throw new ExpressionError(
        `unknown field "${t.value}"${hint ? ` (did you mean "${hint}"?)` : ''}; fields are ${FIELD_NAMES.join(', ')}`,
        t.pos,
      );
    }
    const name = t.value as ExpressionField;
    const path: string[] = [];
    while (this.isOp('.')) {
      const dot = this.next();
      if (name !== 'output_value') {
        throw new ExpressionError(`"${name}" has no fields; only output_value can be read with "."`, dot.pos);
      }
      const member = this.next();
      if (member.type !== 'name') throw new ExpressionError(`expected a field name after "." but found ${describe(member)}`, member.pos);
      path.push(member.value);
    }
    return { kind: 'field', name, path, pos: t.pos };
  }

  private expect(op: string, what: string): void {
    const t = this.next();
    if (t.type !== 'op' || t.value !== op) throw new ExpressionError(`expected ${what} but found ${describe(t)}`, t.pos);
  }
}

/**
 * Parses an expression. Throws `ExpressionError` (with the column) when it is not valid: an
 * unknown field, a function call, a stray token, a string left open, too long or too deep.
 *
 * @example parseExpression('exit_code in [3, 4] and error_count > 10')
 */
export function parseExpression(text: string): ExpressionNode {
  if (text.length > MAX_EXPRESSION_LENGTH) {
    throw new ExpressionError(`the expression is longer than ${MAX_EXPRESSION_LENGTH} characters`, MAX_EXPRESSION_LENGTH);
  }
  if (text.trim() === '') throw new ExpressionError('the expression is empty', 0);
  return new Parser(tokenize(text)).parse();
}

/** The parse error of `text` as `{message, position}`, or null when it parses. */
export function expressionProblem(text: string): { message: string; position: number } | null {
  try {
    parseExpression(text);
    return null;
  } catch (error) {
    if (error instanceof ExpressionError) return { message: error.message, position: error.position };
    throw error;
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** JSON-like values only: anything else (a function, a symbol, undefined) reads as null. */
function asValue(value: unknown): ExpressionValue {
  if (value === null || value === undefined) return null;
  if (typeof value === 'number') return Number.isFinite(value) ? value : null;
  if (typeof value === 'string' || typeof value === 'boolean') return value;
  if (Array.isArray(value)) return value as ExpressionValue[];
  if (isPlainObject(value)) return value;
  return null;
}

function equal(a: ExpressionValue, b: ExpressionValue): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b)) {
    return a.length === b.length && a.every((item, i) => equal(asValue(item), asValue(b[i])));
  }
  if (isPlainObject(a) && isPlainObject(b)) {
    const keys = Object.keys(a);
    return keys.length === Object.keys(b).length && keys.every((k) => Object.hasOwn(b, k) && equal(asValue(a[k]), asValue(b[k])));
  }
  return false;
}

function compare(op: Comparison, a: ExpressionValue, b: ExpressionValue): boolean {
  switch (op) {
    case '==':
      return equal(a, b);
    case '!=':
      return !equal(a, b);
    case 'in':
    case 'not in': {
      const found = Array.isArray(b) ? b.some((item) => equal(a, asValue(item))) : false;
      return op === 'in' ? found : Array.isArray(b) && !found;
    }
    default: {
      const comparable = (typeof a === 'number' && typeof b === 'number') || (typeof a === 'string' && typeof b === 'string');
      if (!comparable) return false;
      const [x, y] = [a as number | string, b as number | string];
      return op === '<' ? x < y : op === '<=' ? x <= y : op === '>' ? x > y : x >= y;
    }
  }
}

function arithmetic(op: Arithmetic, a: ExpressionValue, b: ExpressionValue): ExpressionValue {
  if (typeof a !== 'number' || typeof b !== 'number') return null;
  let result: number;
  switch (op) {
    case '+':
      result = a + b;
      break;
    case '-':
      result = a - b;
      break;
    case '*':
      result = a * b;
      break;
    case '/':
      if (b === 0) return null;
      result = a / b;
      break;
    case '%':
      if (b === 0) return null;
      result = a % b;
      break;
  }
  return Number.isFinite(result) ? result : null;
}

/** The value of a parsed expression for one execution. Never throws. */
export function evaluateExpression(node: ExpressionNode, context: ExpressionContext): ExpressionValue {
  switch (node.kind) {
    case 'literal':
      return node.value;
    case 'field': {
      let value: unknown = Object.hasOwn(context, node.name) ? context[node.name] : null;
      for (const member of node.path) {
        // Own properties of plain JSON objects only: never a prototype's (`constructor`, `__proto__`).
        value = isPlainObject(value) && Object.hasOwn(value, member) ? value[member] : null;
      }
      return asValue(value);
    }
    case 'list':
      return node.items.map((item) => evaluateExpression(item, context));
    case 'not':
      return evaluateExpression(node.operand, context) !== true;
    case 'negate': {
      const value = evaluateExpression(node.operand, context);
      return typeof value === 'number' ? -value : null;
    }
    case 'logical': {
      const left = evaluateExpression(node.left, context) === true;
      if (node.op === 'and') return left && evaluateExpression(node.right, context) === true;
      return left || evaluateExpression(node.right, context) === true;
    }
    case 'compare':
      return compare(node.op, evaluateExpression(node.left, context), evaluateExpression(node.right, context));
    case 'arith':
      return arithmetic(node.op, evaluateExpression(node.left, context), evaluateExpression(node.right, context));
  }
}

/** Whether `text` holds for the execution: its value is exactly `true`. Throws only for a text that does not parse. */
export function expressionHolds(text: string, context: ExpressionContext): boolean {
  return evaluateExpression(parseExpression(text), context) === true;
}
