import { describe, expect, it } from 'vitest';
import {
  evaluateExpression,
  ExpressionError,
  expressionHolds,
  expressionProblem,
  MAX_EXPRESSION_LENGTH,
  parseExpression,
} from './workflow-expression.js';
import type { ExpressionContext } from './workflow-expression.js';

const context: ExpressionContext = {
  status: 'FAILED',
  succeeded: false,
  failed: true,
  timed_out: false,
  exit_code: 3,
  success_count: 90,
  error_count: 12,
  skipped_count: null,
  expected_count: 100,
  attempt: 2,
  failed_attempts: 2,
  timed_out_attempts: 0,
  duration_seconds: 1.5,
  stop_reason: null,
  last_status_message: 'half done',
  output_value: { rows: 0, nested: { ok: true }, list: [1, 2] },
};

const value = (text: string) => evaluateExpression(parseExpression(text), context);
const holds = (text: string) => expressionHolds(text, context);

function parseError(text: string): ExpressionError {
  try {
    parseExpression(text);
  } catch (error) {
    expect(error).toBeInstanceOf(ExpressionError);
    return error as ExpressionError;
  }
  throw new Error(`"${text}" parsed, but should not have`);
}

describe('expression evaluation', () => {
  it('reads the fields of the finished execution', () => {
    expect(value('exit_code')).toBe(3);
    expect(value('status')).toBe('FAILED');
    expect(value('skipped_count')).toBeNull();
    expect(value('failed')).toBe(true);
    expect(value('duration_seconds')).toBe(1.5);
  });

  it('compares numbers and strings, with == and != on any values', () => {
    expect(holds('error_count > 10')).toBe(true);
    expect(holds('error_count >= 12 && error_count <= 12')).toBe(true);
    expect(holds('error_count < 12')).toBe(false);
    expect(holds('status == "FAILED"')).toBe(true);
    expect(holds("status != 'SUCCEEDED'")).toBe(true);
    expect(holds('"a" < "b"')).toBe(true);
    expect(holds('skipped_count == null')).toBe(true);
    expect(holds('exit_code != null')).toBe(true);
  });

  it('never orders mismatched types or null: such comparisons are false, not errors', () => {
    expect(holds('skipped_count > 0')).toBe(false);
    expect(holds('skipped_count <= 0')).toBe(false);
    expect(holds('status > 3')).toBe(false);
    expect(holds('not (skipped_count > 0)')).toBe(true);
  });

  it('does arithmetic; a division by zero or a null operand gives null', () => {
    expect(value('error_count / expected_count')).toBe(0.12);
    expect(holds('error_count / expected_count < 0.2')).toBe(true);
    expect(value('1 + 2 * 3')).toBe(7);
    expect(value('(1 + 2) * 3')).toBe(9);
    expect(value('10 % 4')).toBe(2);
    expect(value('-exit_code')).toBe(-3);
    expect(value('- -2')).toBe(2);
    expect(value('error_count / 0')).toBeNull();
    expect(value('skipped_count + 1')).toBeNull();
    expect(value('status + 1')).toBeNull();
    expect(value('1.5e2')).toBe(150);
    expect(value('.5')).toBe(0.5);
  });

  it('has and/or/not with words or symbols, with the usual precedence, treating only true as true', () => {
    expect(holds('exit_code == 3 and error_count > 10')).toBe(true);
    expect(holds('exit_code == 4 or error_count > 10')).toBe(true);
    expect(holds('exit_code == 4 || false')).toBe(false);
    expect(holds('true or false and false')).toBe(true); // and binds tighter
    expect(holds('(true or false) and false')).toBe(false);
    expect(holds('!succeeded')).toBe(true);
    expect(holds('not not failed')).toBe(true);
    expect(holds('not exit_code == 0')).toBe(true); // not binds looser than ==
    expect(holds('exit_code and true')).toBe(false); // 3 is not true
    expect(value('not skipped_count')).toBe(true);
  });

  it('tests membership in lists with in / not in', () => {
    expect(holds('exit_code in [1, 2, 3]')).toBe(true);
    expect(holds('exit_code in []')).toBe(false);
    expect(holds('exit_code not in [0, 1]')).toBe(true);
    expect(holds('status in ["FAILED", "ABANDONED"]')).toBe(true);
    expect(holds('3 in output_value.list')).toBe(false);
    expect(holds('2 in output_value.list')).toBe(true);
    expect(holds('1 in exit_code')).toBe(false);
    expect(holds('1 not in exit_code')).toBe(false);
  });

  it('reads own fields of output_value only; anything missing is null', () => {
    expect(holds('output_value.rows == 0')).toBe(true);
    expect(holds('output_value.nested.ok')).toBe(true);
    expect(value('output_value.missing')).toBeNull();
    expect(value('output_value.rows.deeper')).toBeNull();
    // Prototype properties are not reachable.
    expect(value('output_value.constructor')).toBeNull();
    expect(value('output_value.__proto__')).toBeNull();
    expect(value('output_value.toString')).toBeNull();
    expect(value('output_value.nested.hasOwnProperty')).toBeNull();
    expect(value('output_value.list.length')).toBeNull();
  });

  it('handles strings with both quotes and escapes', () => {
    expect(value(String.raw`"it's \"quoted\"\n"`)).toBe('it\'s "quoted"\n');
    expect(value(String.raw`'a\'b\\c\t'`)).toBe("a'b\\c\t");
    expect(holds('last_status_message == "half done"')).toBe(true);
  });

  it('compares lists and objects by value', () => {
    expect(holds('output_value.list == [1, 2]')).toBe(true);
    expect(holds('output_value.list != [2, 1]')).toBe(true);
    expect(holds('[1, [2, "x"]] == [1, [2, "x"]]')).toBe(true);
  });

  it('fires only on exactly true', () => {
    expect(holds('exit_code')).toBe(false);
    expect(holds('"true"')).toBe(false);
    expect(holds('1')).toBe(false);
    expect(holds('true')).toBe(true);
  });

  it('treats a value that is not JSON as null', () => {
    const odd = { ...context, output_value: { f: () => 1, n: Number.NaN } } as ExpressionContext;
    expect(evaluateExpression(parseExpression('output_value.f'), odd)).toBeNull();
    expect(evaluateExpression(parseExpression('output_value.n'), odd)).toBeNull();
  });
});

describe('expression parse errors say what is wrong and where', () => {
  it.each([
    ['exit_code ==', 'the expression ends too early: expected a value at column 13'],
    ['exit_code = 3', '"=" is not an operator (compare with "==") at column 11'],
    ['exit_code == 3 & true', '"&" is not an operator (use "&&" or "and") at column 16'],
    ['(exit_code == 3', 'expected a ")" to close the "(" at column 1 but found the end of the expression at column 16'],
    ['exit_code == 3)', 'unexpected ")" with no matching "(" at column 15'],
    ['exit_cod == 3', 'unknown field "exit_cod" (did you mean "exit_code"?)'],
    ['"open', 'unterminated string (no closing ") at column 1'],
    ['exit_code == 3 error_count', 'unexpected "error_count" after a complete expression'],
    ['1 < 2 < 3', 'comparisons cannot be chained'],
    ['[1, 2', 'expected "," or a "]" to close the list opened at column 1 but found the end of the expression'],
    ['exit_code.x', '"exit_code" has no fields; only output_value can be read with "." at column 10'],
    ['output_value.', 'expected a field name after "." but found the end of the expression'],
    ['12abc', 'invalid number "12a" at column 1'],
    ['"a\\q"', 'unknown escape "\\q"'],
    ['', 'the expression is empty at column 1'],
    ['   ', 'the expression is empty'],
    ['exit_code == and', 'unexpected "and": expected a value at column 14'],
    ['@', 'unexpected character "@" at column 1'],
  ])('%s', (text, message) => {
    expect(parseError(text).message).toContain(message);
  });

  it('gives the position as a 0-based offset too', () => {
    expect(expressionProblem('exit_code = 3')).toEqual({ message: expect.stringContaining('"="'), position: 10 });
    expect(expressionProblem('exit_code == 3')).toBeNull();
  });
});

describe('expressions cannot run code', () => {
  it.each([
    ['process.exit(1)', 'unknown field "process"'],
    ['require("fs")', 'function calls are not part of the expression language'],
    ['constructor', 'unknown field "constructor"'],
    ['output_value.constructor("return 1")()', 'unexpected "("'],
    ['this', 'unknown field "this"'],
    ['globalThis.x', 'unknown field "globalThis"'],
    ['eval("1")', 'function calls are not part of the expression language'],
    ['exit_code; process', 'unexpected character ";"'],
    ['`x`', 'unexpected character "`"'],
    ['exit_code = 1', '"=" is not an operator'],
    ['x => 1', '"=" is not an operator'],
    ['{a: 1}', 'unexpected character "{"'],
    ['output_value["constructor"]', 'unexpected "["'],
  ])('refuses %s', (text, message) => {
    expect(parseError(text).message).toContain(message);
  });

  it('refuses expressions that are too long or too deep (bounded work)', () => {
    expect(parseError(`${'1 + '.repeat(MAX_EXPRESSION_LENGTH)}1`).message).toContain('longer than');
    expect(parseError(`${'('.repeat(100)}1${')'.repeat(100)}`).message).toContain('nested more than 64 levels deep');
    expect(parseError(`${'not '.repeat(100)}true`).message).toContain('nested more than');
    expect(parseError(`${'-'.repeat(100)}1`).message).toContain('nested more than');
    expect(parseError(`${'['.repeat(100)}${']'.repeat(100)}`).message).toContain('nested more than');
    // Long flat chains are fine (no deep recursion in the evaluator for them either).
    expect(expressionHolds(`${'exit_code == 3 and '.repeat(80)}true`, context)).toBe(true);
  });

  it('never touches prototypes when reading fields of the context', () => {
    const bare = Object.create(null) as ExpressionContext;
    expect(evaluateExpression(parseExpression('exit_code'), bare)).toBeNull();
  });
});
