// llama.cpp's llama-server for the end-to-end tests, as tests/support/llama_server.hpp starts it
// for the C++ tests: the build of scripts/build-llama (in ~/.cache/tokencast, or
// TOKENCAST_LLAMA_DIR), serving a tiny model with random weights and a real tokenizer written
// by tests/support/make_tiny_gguf.py (without byte tokens: llama-server fails a turn whose output
// is not valid UTF-8), on 127.0.0.1 at a port of its choosing.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { WEB_DIR } from './harness';

export interface LlamaBuild {
  dir: string;
  server: string; // bin/llama-server
  ggufPy: string; // share/gguf-py
  vocab: string; // share/models/ggml-vocab-llama-spm.gguf
}

/** The llama.cpp build cmake/Llama.cmake would use: TOKENCAST_LLAMA_DIR, else the newest
 *  complete one in the cache; null when there is none (or it has no llama-server). */
export function findLlamaBuild(): LlamaBuild | null {
  let dir = process.env.TOKENCAST_LLAMA_DIR ?? '';
  if (!dir) {
    const cache = process.env.TOKENCAST_CACHE ?? join(homedir(), '.cache', 'tokencast');
    let names: string[] = [];
    try {
      names = readdirSync(cache).filter((n) => n.startsWith('llama.cpp-node-llama-cpp-3.21.1-') && existsSync(join(cache, n, '.complete')));
    } catch {
      return null;
    }
    names.sort();
    if (!names.length) return null;
    dir = join(cache, names[names.length - 1]);
  }
  const build = {
    dir,
    server: join(dir, 'bin', 'llama-server'),
    ggufPy: join(dir, 'share', 'gguf-py'),
    vocab: join(dir, 'share', 'models', 'ggml-vocab-llama-spm.gguf'),
  };
  return existsSync(build.server) && existsSync(build.vocab) ? build : null;
}

/** Writes the tests' tiny model (no byte tokens) to `out`; throws with python's output. */
export function makeTinyModel(build: LlamaBuild, out: string): void {
  const script = resolve(WEB_DIR, '..', 'tests', 'support', 'make_tiny_gguf.py');
  // Python 3 with numpy, as CMake's TOKENCAST_PYTHON (Debian's python3-numpy).
  const python = process.env.TOKENCAST_PYTHON ?? '/usr/bin/python3';
  const r = spawnSync(python, [script, build.ggufPy, build.vocab, out, '--no-byte-tokens'], { encoding: 'utf8', timeout: 120_000 });
  if (r.status !== 0) throw new Error(`make_tiny_gguf.py exited ${r.status}: ${r.stderr}`);
}

export interface LlamaServer {
  baseUrl: string; // http://127.0.0.1:PORT/v1
  log(): string;
  close(): void;
}

/** Starts llama-server on `model` with `extra` arguments (e.g. --cors-origins ORIGIN); resolves
 *  once it has loaded the model (it answers 503 until then). */
export async function startLlamaServer(build: LlamaBuild, model: string, extra: string[] = []): Promise<LlamaServer> {
  // --no-jinja and one slot, as the C++ tests run it; -n bounds every answer (the host page
  // sends no max_tokens), so an answer ends well before the context is full.
  const args = ['-m', model, '--host', '127.0.0.1', '--port', '0', '--no-jinja', '-c', '512', '-t', '1', '-np', '1', '-n', '48', ...extra];
  const proc: ChildProcess = spawn(build.server, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const keep = (d: Buffer) => (out = (out + d.toString()).slice(-20_000));
  proc.stdout!.on('data', keep);
  proc.stderr!.on('data', keep);
  const close = () => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
  };
  const deadline = Date.now() + 120_000;
  let port = 0;
  try {
    for (;;) {
      if (proc.exitCode !== null || proc.signalCode !== null) throw new Error(`llama-server exited (${proc.exitCode ?? proc.signalCode})`);
      if (Date.now() > deadline) throw new Error('llama-server did not load the model within 120 s');
      if (!port) {
        const m = /listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(out);
        if (m) port = Number(m[1]);
      }
      if (port) {
        const r = await fetch(`http://127.0.0.1:${port}/v1/models`).catch(() => null);
        if (r?.ok) break;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  } catch (e) {
    close();
    throw new Error(`${(e as Error).message}:\n${out}`);
  }
  return { baseUrl: `http://127.0.0.1:${port}/v1`, log: () => out, close };
}
