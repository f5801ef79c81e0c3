#!/usr/bin/env node
// Builds berth-wrap (part of `npm run build`):
//
//   dist/berth-wrap.mjs                      the wrapper: one file, no node_modules needed
//   packages/berth-wrap/dist/berth-wrap.mjs  the same file, for the npm package `berth-wrap`
//   packages/berth-wrap/dist/client.mjs      the status-update client (src/wrapper/client.ts)
//   packages/berth-wrap/dist/client.d.ts     its types
//
// The AWS SDK clients and the yaml parser (src/wrapper/lazy-deps.ts) are needed only by runs that
// resolve AWS secrets or read yaml, yet they are most of the code. Parsing them on every start
// would cost about 40 ms and 10 MiB. So they are bundled separately (CommonJS, minified),
// compressed with brotli and embedded in the wrapper as one base64 string, which is decoded and
// evaluated on the first `import('./lazy-deps.js')` only. The wrapper stays a single file.
//
// Usage: node scripts/build-wrapper.mjs  (or import { buildWrapper } from it).
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import zlib from 'node:zlib';
import * as esbuild from 'esbuild';
import ts from 'typescript';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SRC = path.join(ROOT, 'src', 'wrapper');
const PACKAGE_DIST = path.join(ROOT, 'packages', 'berth-wrap', 'dist');
const LAZY_NAMESPACE = 'berth-wrap-lazy-deps';

/** Writes a file atomically, so that concurrent builds (parallel test files) never see half of one. */
function writeAtomic(/** @type {string} */ file, /** @type {string | Uint8Array} */ contents, mode = 0o644) {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const temp = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  fs.writeFileSync(temp, contents, { mode });
  fs.renameSync(temp, file);
}

/** The lazy dependencies as a compressed CommonJS bundle, base64. */
async function packLazyDeps() {
  const result = await esbuild.build({
    entryPoints: [path.join(SRC, 'lazy-deps.ts')],
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    minify: true,
    write: false,
    legalComments: 'none',
    logLevel: 'warning',
  });
  const code = result.outputFiles[0]?.contents;
  if (!code) throw new Error('esbuild produced no output for lazy-deps.ts');
  const packed = zlib.brotliCompressSync(code, { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 9 } });
  return { base64: packed.toString('base64'), bytes: code.length };
}

/**
 * Replaces `./lazy-deps.js` with a module that evaluates the embedded bundle. esbuild keeps a
 * dynamically imported module's body lazy, so the decoding happens on first import only.
 * @param {string} base64
 * @returns {esbuild.Plugin}
 */
function embeddedLazyDeps(base64) {
  return {
    name: 'embedded-lazy-deps',
    setup(build) {
      build.onResolve({ filter: /[\\/]lazy-deps\.js$/ }, (args) => ({ path: args.path, namespace: LAZY_NAMESPACE }));
      build.onLoad({ filter: /.*/, namespace: LAZY_NAMESPACE }, () => ({
        loader: 'js',
        contents: `
import { createRequire } from 'node:module';
import { brotliDecompressSync } from 'node:zlib';
import { compileFunction } from 'node:vm';
const packed = ${JSON.stringify(base64)};
const source = brotliDecompressSync(Buffer.from(packed, 'base64')).toString('utf8');
const module = { exports: {} };
compileFunction(source, ['module', 'exports', 'require'], { filename: 'berth-wrap-lazy-deps.cjs' })(
  module, module.exports, createRequire(import.meta.url));
const deps = module.exports;
export const GetSecretValueCommand = deps.GetSecretValueCommand;
export const SecretsManagerClient = deps.SecretsManagerClient;
export const GetParameterCommand = deps.GetParameterCommand;
export const SSMClient = deps.SSMClient;
export const GetObjectCommand = deps.GetObjectCommand;
export const S3Client = deps.S3Client;
export const parseYaml = deps.parseYaml;
`,
      }));
    },
  };
}

/** The client's declarations, from the TypeScript source (it has explicit types on every export). */
function clientDeclarations() {
  const file = path.join(SRC, 'client.ts');
  const out = ts.transpileDeclaration(fs.readFileSync(file, 'utf8'), {
    fileName: file,
    compilerOptions: { module: ts.ModuleKind.NodeNext, target: ts.ScriptTarget.ES2022, strict: true },
    reportDiagnostics: true,
  });
  if (out.diagnostics?.length) {
    throw new Error(`client.ts declarations: ${out.diagnostics.map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n')).join('; ')}`);
  }
  return out.outputText;
}

/**
 * Builds everything listed at the top of this file.
 * @returns {Promise<{ wrapper: string, wrapperBytes: number, lazyDepsBytes: number }>}
 */
export async function buildWrapper() {
  const lazy = await packLazyDeps();
  const wrapperResult = await esbuild.build({
    entryPoints: [path.join(SRC, 'main.ts')],
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'esm',
    write: false,
    banner: { js: '#!/usr/bin/env node\n// berth-wrap: runs a command and reports it to Berth. Built from src/wrapper by scripts/build-wrapper.mjs.' },
    legalComments: 'none',
    logLevel: 'warning',
    plugins: [embeddedLazyDeps(lazy.base64)],
  });
  const wrapper = wrapperResult.outputFiles[0]?.contents;
  if (!wrapper) throw new Error('esbuild produced no output for main.ts');
  const clientResult = await esbuild.build({
    entryPoints: [path.join(SRC, 'client.ts')],
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'esm',
    write: false,
    legalComments: 'none',
    logLevel: 'warning',
  });
  const client = clientResult.outputFiles[0]?.contents;
  if (!client) throw new Error('esbuild produced no output for client.ts');

  const target = path.join(ROOT, 'dist', 'berth-wrap.mjs');
  writeAtomic(target, wrapper, 0o755);
  writeAtomic(path.join(PACKAGE_DIST, 'berth-wrap.mjs'), wrapper, 0o755);
  writeAtomic(path.join(PACKAGE_DIST, 'client.mjs'), client);
  writeAtomic(path.join(PACKAGE_DIST, 'client.d.ts'), clientDeclarations());
  return { wrapper: target, wrapperBytes: wrapper.length, lazyDepsBytes: lazy.bytes };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const result = await buildWrapper();
  console.log(
    `built ${path.relative(ROOT, result.wrapper)} (${Math.round(result.wrapperBytes / 1024)} KiB, with ${Math.round(result.lazyDepsBytes / 1024)} KiB of AWS SDK/yaml embedded compressed) and packages/berth-wrap/dist/`,
  );
}
