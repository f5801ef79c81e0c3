/**
 * Questions and answers for the setup wizard.
 *
 * One `ask()` serves both modes. An answer given in advance (flag, answers file, saved state) is
 * parsed like a typed one. Interactive (a TTY): a missing answer is asked with its default in
 * `[brackets]` (Enter accepts it), and an invalid one — typed or given — is explained and asked
 * again. Non-interactive: a missing answer takes its default unless the default is only a guess
 * (e.g. which subnets); then, or when a given answer is invalid, the wizard stops with a usage
 * error (exit 2) that names the answer key.
 */
import readline from 'node:readline/promises';
import type { Readable, Writable } from 'node:stream';
import { CliError, UsageError } from '../errors.js';
import type { Output } from '../output.js';
import { ANSWER_KEYS } from './answers.js';
import type { AnswerKey, GivenAnswers } from './answers.js';

/** Thrown by a question's parser: the message says what is wrong and what to answer instead. */
export class InvalidAnswer extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidAnswer';
  }
}

/** Ctrl-C or end of input at a prompt. */
export class PromptInterrupted extends CliError {
  constructor(message: string) {
    super(message, { exitCode: 130 });
    this.name = 'PromptInterrupted';
  }
}

export interface Question<T> {
  key: AnswerKey;
  /** The prompt, e.g. "AWS region". */
  label: string;
  /** Lines printed before the prompt (a menu, an explanation). */
  intro?: string[];
  /** The default as text; Enter accepts it. */
  default?: string | undefined;
  /**
   * The default is a guess a person should confirm (which subnets, which zones): a
   * non-interactive run does not take it and asks for the answer instead.
   */
  defaultIsGuess?: boolean;
  /**
   * Never prompted for unless its given or default value is invalid (advanced settings with good
   * defaults; they can still be given in the answers file or with --set).
   */
  quiet?: boolean;
  /** How to mention a non-interactive flag for this key (e.g. "--region"). */
  flag?: string;
  /** Text → value; throws InvalidAnswer. `typed` is true for an answer typed at the prompt. */
  parse(text: string, typed: boolean): T | Promise<T>;
  /** The value as answer text (what the state file keeps). (Default: the text that was parsed) */
  text?(value: T): string;
}

export interface PrompterOptions {
  interactive: boolean;
  given: GivenAnswers;
  out: Output;
  input?: Readable;
  /** Where prompts and menus go. (Default: stderr, so that stdout keeps the result) */
  output?: Writable;
}

/** Asks questions, or takes their answers from what was given. Records every answer as text. */
export class Prompter {
  readonly interactive: boolean;
  /** Every answer so far, as text (for the state file; answer texts never hold secrets). */
  readonly answers: Partial<Record<AnswerKey, string>> = {};
  private rl: readline.Interface | null = null;
  private readonly abort = new AbortController();
  private interrupted: 'sigint' | 'eof' | null = null;

  constructor(private readonly options: PrompterOptions) {
    this.interactive = options.interactive;
  }

  private get stream(): Writable {
    return this.options.output ?? process.stderr;
  }

  private say(text: string): void {
    this.stream.write(`${text}\n`);
  }

  private readlineInterface(): readline.Interface {
    if (!this.rl) {
      this.rl = readline.createInterface({ input: this.options.input ?? process.stdin, output: this.stream, terminal: true });
      this.rl.on('SIGINT', () => {
        this.interrupted = 'sigint';
        this.abort.abort();
      });
      this.rl.on('close', () => {
        this.interrupted ??= 'eof';
        this.abort.abort();
      });
    }
    return this.rl;
  }

  private async readLine(prompt: string): Promise<string> {
    if (this.interrupted) throw this.interruption();
    try {
      return await this.readlineInterface().question(prompt, { signal: this.abort.signal });
    } catch (error) {
      if (this.interrupted) throw this.interruption();
      throw error;
    }
  }

  private interruption(): PromptInterrupted {
    this.stream.write('\n');
    return new PromptInterrupted(
      this.interrupted === 'eof'
        ? 'the input ended before the wizard had all its answers; nothing more was done'
        : 'interrupted; nothing more was done. Run the same command again to continue where you left off',
    );
  }

  /** The answer to `question`: given, typed, or its default. */
  async ask<T>(question: Question<T>): Promise<T> {
    const given = this.options.given.get(question.key);
    if (given !== undefined) {
      try {
        return this.record(question, await question.parse(given.text, false), given.text);
      } catch (error) {
        if (!(error instanceof InvalidAnswer)) throw error;
        if (!this.interactive) throw new UsageError(`answer "${question.key}" (from ${given.source}) is invalid: ${error.message}`);
        this.say(this.options.out.paintErr('yellow', `${question.key} from ${given.source}: ${error.message}`));
        this.options.given.drop(question.key);
      }
    } else if (question.quiet && question.default !== undefined) {
      try {
        return this.record(question, await question.parse(question.default, false), question.default);
      } catch (error) {
        if (!(error instanceof InvalidAnswer)) throw error;
        if (!this.interactive) {
          throw new UsageError(`answer "${question.key}" is needed: its default "${question.default}" does not work here: ${error.message}`);
        }
        this.say(this.options.out.paintErr('yellow', `${question.label}: the default "${question.default}" does not work here: ${error.message}`));
        return this.prompt({ ...question, default: undefined });
      }
    }
    if (!this.interactive) {
      if (question.default !== undefined && !question.defaultIsGuess) {
        try {
          return this.record(question, await question.parse(question.default, false), question.default);
        } catch (error) {
          if (!(error instanceof InvalidAnswer)) throw error;
          throw new UsageError(`answer "${question.key}" is needed: its default "${question.default}" does not work here: ${error.message}`);
        }
      }
      const how = question.flag ? `${question.flag}, ` : '';
      throw new UsageError(
        `missing answer "${question.key}" (${ANSWER_KEYS[question.key]}) — give it with ${how}--set ${question.key}=…, or in the --answers file`,
      );
    }
    return this.prompt(question);
  }

  private async prompt<T>(question: Question<T>): Promise<T> {
    for (const line of question.intro ?? []) this.say(line);
    const suffix = question.default !== undefined && question.default !== '' ? ` [${question.default}]` : '';
    for (;;) {
      const typed = (await this.readLine(`${this.options.out.paintErr('bold', question.label)}${suffix}: `)).trim();
      const text = typed === '' && question.default !== undefined ? question.default : typed;
      if (text === '' && question.default === undefined) {
        this.say(this.options.out.paintErr('yellow', '  an answer is needed here'));
        continue;
      }
      try {
        return this.record(question, await question.parse(text, typed !== ''), text);
      } catch (error) {
        if (!(error instanceof InvalidAnswer)) throw error;
        this.say(this.options.out.paintErr('yellow', `  ${error.message}`));
      }
    }
  }

  private record<T>(question: Question<T>, value: T, text: string): T {
    this.answers[question.key] = question.text ? question.text(value) : text;
    return value;
  }

  /**
   * A yes/no question that is not an answer (e.g. "Create these?"). Non-interactive: the given
   * `nonInteractive` value, or a usage error with `hint` when there is none.
   */
  async confirm(label: string, options: { default: boolean; nonInteractive?: boolean; hint: string }): Promise<boolean> {
    if (!this.interactive) {
      if (options.nonInteractive !== undefined) return options.nonInteractive;
      throw new UsageError(options.hint);
    }
    for (;;) {
      const typed = (await this.readLine(`${this.options.out.paintErr('bold', label)} [${options.default ? 'Y/n' : 'y/N'}]: `)).trim().toLowerCase();
      if (typed === '') return options.default;
      if (['y', 'yes'].includes(typed)) return true;
      if (['n', 'no'].includes(typed)) return false;
      this.say(this.options.out.paintErr('yellow', '  answer y or n'));
    }
  }

  /** A line of conversation (on the prompt stream). */
  tell(text = ''): void {
    this.say(text);
  }

  close(): void {
    this.rl?.close();
    this.rl = null;
  }
}

/** Parses yes/no answers: true/false, yes/no, y/n, 1/0. */
export function parseBoolean(text: string): boolean {
  const t = text.trim().toLowerCase();
  if (['true', 'yes', 'y', '1', 'on'].includes(t)) return true;
  if (['false', 'no', 'n', '0', 'off'].includes(t)) return false;
  throw new InvalidAnswer(`"${text}" is not yes or no: answer yes/no (or true/false)`);
}

/** Splits a list answer ("a, b c") into its items. */
export function listItems(text: string): string[] {
  return text
    .split(/[\s,]+/)
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

/**
 * Picks items from a numbered menu: each item of the answer is a number (only when typed: numbers
 * in a file would depend on the order AWS lists things in) or one of `ids`.
 */
export function pickFromMenu(text: string, ids: readonly string[], typed: boolean, what: string): string[] {
  const picked: string[] = [];
  for (const item of listItems(text)) {
    let id: string | undefined;
    if (/^\d+$/.test(item) && typed) {
      const n = Number(item);
      if (n < 1 || n > ids.length) {
        throw new InvalidAnswer(
          ids.length === 0 ? `there is nothing to choose from` : `there is no choice ${n}: answer with numbers from 1 to ${ids.length}, or ${what}s`,
        );
      }
      id = ids[n - 1];
    } else if (ids.includes(item)) {
      id = item;
    } else {
      throw new InvalidAnswer(`${item} is not one of the ${what}s listed${ids.length ? ` (${ids.slice(0, 6).join(', ')}${ids.length > 6 ? ', …' : ''})` : ''}`);
    }
    if (id !== undefined && !picked.includes(id)) picked.push(id);
  }
  return picked;
}
