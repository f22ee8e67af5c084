// The end-to-end tests' own OpenAI-compatible model server: POST /v1/chat/completions streamed
// as server-sent events, with CORS for the host page's origin (as llama-server and Ollama with
// OLLAMA_ORIGINS send). The answer to a prompt P is answerFor(P), in small chunks; a prompt
// containing "hold" sends its first chunks and then waits until the test calls release().
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export function answerFor(prompt: string): string {
  return `Echo: ${prompt.toUpperCase()} · ünïcode ✓ 你好`;
}

export interface ModelServer {
  baseUrl: string; // http://127.0.0.1:PORT/v1
  requests: number;
  /** Lets held answers finish. */
  release(): void;
  /** Resolves once a held answer has sent its first chunks. */
  held(): Promise<void>;
  close(): Promise<void>;
}

function chunks(text: string): string[] {
  return text.match(/.{1,4}/gsu) ?? [];
}

/** `cors`: false answers without CORS headers, as a server that refuses the page's origin. */
export async function startModelServer(cors = true): Promise<ModelServer> {
  let release!: () => void;
  const released = new Promise<void>((r) => (release = r));
  let heldNow!: () => void;
  const held = new Promise<void>((r) => (heldNow = r));
  const state = { requests: 0 };
  const headers = cors
    ? {
        'access-control-allow-origin': '*',
        'access-control-allow-headers': 'content-type, authorization',
        'access-control-allow-methods': 'POST, OPTIONS',
      }
    : {};
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    if (req.method === 'OPTIONS') {
      res.writeHead(204, headers).end();
      return;
    }
    if (req.method !== 'POST' || req.url !== '/v1/chat/completions') {
      res.writeHead(404, headers).end();
      return;
    }
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', async () => {
      state.requests += 1;
      const { messages } = JSON.parse(body) as { messages: { role: string; content: string }[] };
      const prompt = messages[messages.length - 1].content;
      res.writeHead(200, { ...headers, 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      const send = (content: string) =>
        res.write(`data: ${JSON.stringify({ choices: [{ index: 0, delta: { content } }] })}\n\n`);
      const parts = chunks(answerFor(prompt));
      for (const [i, part] of parts.entries()) {
        if (prompt.includes('hold') && i === 3) {
          heldNow();
          await released;
          if (res.destroyed) return; // the host tab went away meanwhile
        }
        send(part);
      }
      res.end('data: [DONE]\n\n');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    get requests() {
      return state.requests;
    },
    release,
    held: () => held,
    close: () =>
      new Promise<void>((r) => {
        release();
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
