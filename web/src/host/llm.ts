// The model source of a browser host: an OpenAI-compatible server (llama.cpp's llama-server,
// Ollama, ...) streamed with fetch and server-sent events, as src/llm does natively. The page's
// origin is not the server's, so the server must allow it (CORS): a refusal is explained with the
// fix for the two common servers.
import type { ChatMessage } from './host-session';

export interface ModelSource {
  baseUrl: string; // e.g. http://127.0.0.1:8080/v1
  apiKey: string; // '' for none; kept in this browser only
  model: string;
}

export interface GenerationCallbacks {
  delta(text: string): void;
  done(tokens: bigint): void;
  error(reason: string, unreachable?: boolean): void; // unreachable: the reason is advice on CORS
}

const MAX_LINE = 1 << 20; // an SSE line longer than this is not a chat delta

export function corsAdvice(baseUrl: string, origin: string): string {
  return (
    `The page could not reach the model server at ${baseUrl}. If it is running, it refuses this ` +
    `page's origin (${origin}). llama.cpp: llama-server allows any origin unless told otherwise; ` +
    `if it was started with --cors-origins (or with its tools on, which limit it to localhost), ` +
    `add this page: --cors-origins ${origin}; also check the URL and its --host and --port. ` +
    `Ollama: start it with ` +
    `OLLAMA_ORIGINS=${origin} (for example OLLAMA_ORIGINS=${origin} ollama serve). Other servers: ` +
    `allow the origin ${origin} (Access-Control-Allow-Origin).`
  );
}

export function chatCompletionsUrl(baseUrl: string): string {
  return baseUrl.replace(/\/+$/, '') + '/chat/completions';
}

/** The text of one SSE data line of a chat completion chunk, or null for none. */
export function deltaOf(data: string): string | null {
  const chunk = JSON.parse(data) as { choices?: { delta?: { content?: unknown } }[]; error?: { message?: unknown } };
  if (chunk.error) throw new Error(typeof chunk.error.message === 'string' ? chunk.error.message : 'the model server reported an error');
  const content = chunk.choices?.[0]?.delta?.content;
  return typeof content === 'string' && content.length > 0 ? content : null;
}

/** Streams one answer; the returned function cancels it (no callback follows). */
export function generate(source: ModelSource, history: ChatMessage[], cb: GenerationCallbacks): () => void {
  const abort = new AbortController();
  let over = false;
  const finish = (f: () => void) => {
    if (over) return;
    over = true;
    f();
  };
  void (async () => {
    let response: Response;
    try {
      response = await fetch(chatCompletionsUrl(source.baseUrl), {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          ...(source.apiKey ? { authorization: `Bearer ${source.apiKey}` } : {}),
        },
        body: JSON.stringify({ model: source.model, stream: true, messages: history }),
        signal: abort.signal,
        referrerPolicy: 'no-referrer',
        credentials: 'omit',
      });
    } catch {
      if (!abort.signal.aborted) finish(() => cb.error(corsAdvice(source.baseUrl, location.origin), true));
      return;
    }
    if (!response.ok || !response.body) {
      finish(() => cb.error(`the model server answered HTTP ${response.status}`));
      return;
    }
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = '';
    let tokens = 0n;
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value;
        let nl: number;
        while ((nl = buffer.indexOf('\n')) >= 0) {
          const line = buffer.slice(0, nl).replace(/\r$/, '');
          buffer = buffer.slice(nl + 1);
          if (!line.startsWith('data:')) continue;
          const data = line.slice(5).trim();
          if (data === '[DONE]') {
            finish(() => cb.done(tokens));
            void reader.cancel();
            return;
          }
          const text = deltaOf(data);
          if (text !== null && !over) {
            tokens += 1n;
            cb.delta(text);
          }
        }
        if (buffer.length > MAX_LINE) throw new Error('the model server sent an over-long line');
      }
      finish(() => cb.done(tokens)); // ended without [DONE]: what came is the answer
    } catch (e) {
      if (!abort.signal.aborted) finish(() => cb.error(e instanceof Error ? e.message : 'the model stream failed'));
    }
  })();
  return () => {
    over = true;
    abort.abort();
  };
}
