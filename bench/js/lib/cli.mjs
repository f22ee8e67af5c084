// Command-line handling shared by the bench/js scripts: --help prints the usage and exits 0,
// bad arguments print the error and the usage to stderr and exit 2, and fail() reports a
// failure of the measurement itself (exit 1).
import { parseArgs } from 'node:util';

export function parseCommandLine(usage, options, argv = process.argv.slice(2)) {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: { ...options, help: { type: 'boolean' } }, strict: true, allowPositionals: false });
  } catch (e) {
    usageError(usage, e.message);
  }
  if (parsed.values.help) {
    process.stdout.write(usage);
    process.exit(0);
  }
  return parsed.values;
}

export function usageError(usage, message) {
  process.stderr.write(`error: ${message}\n\n${usage}`);
  process.exit(2);
}

/** A positive integer option, or a usage error naming it. */
export function positiveInt(usage, name, text) {
  if (!/^[1-9][0-9]*$/.test(text ?? '')) usageError(usage, `--${name} must be a positive integer, got ${JSON.stringify(text)}`);
  const n = Number(text);
  if (!Number.isSafeInteger(n)) usageError(usage, `--${name} is too large`);
  return n;
}

export function fail(message) {
  process.stderr.write(`error: ${message}\n`);
  process.exit(1);
}

/** The version of an installed package of this bench package (from its package.json). */
export async function installedVersion(name) {
  const { readFile } = await import('node:fs/promises');
  const url = new URL(`../node_modules/${name}/package.json`, import.meta.url);
  return JSON.parse(await readFile(url, 'utf8')).version;
}
