// Loads the shared known-answer vectors from ../tests/vectors.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const here = dirname(fileURLToPath(import.meta.url));
export const VECTORS_DIR = join(here, '..', '..', 'tests', 'vectors');

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function loadVectors(name: string): any {
  return JSON.parse(readFileSync(join(VECTORS_DIR, name), 'utf8'));
}
