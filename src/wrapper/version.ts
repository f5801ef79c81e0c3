/** berth-wrap's version; packages/berth-wrap/package.json carries the same (a test checks). */
export const WRAPPER_VERSION = '0.1.0';
