// Keeps the screen on while an answer streams (Screen Wake Lock API), where the browser allows
// it: secure contexts, a visible page. The browser releases the lock whenever the page is
// hidden; it is requested again when the page is visible again and an answer still streams.
// Where the API is missing, or a request is refused (battery saver, policy), nothing happens.

interface Sentinel {
  readonly released: boolean;
  release(): Promise<void>;
  addEventListener(type: 'release', listener: () => void): void;
}

export interface WakeLockEnv {
  wakeLock?: { request(type: 'screen'): Promise<Sentinel> };
  document: Pick<Document, 'visibilityState' | 'addEventListener'>;
}

function defaultEnv(): WakeLockEnv {
  const nav = typeof navigator !== 'undefined' ? (navigator as unknown as { wakeLock?: WakeLockEnv['wakeLock'] }) : undefined;
  return { wakeLock: nav?.wakeLock, document };
}

export class StreamWakeLock {
  private wanted = false;
  private sentinel: Sentinel | null = null;
  private requesting = false;

  constructor(private readonly env: WakeLockEnv = defaultEnv()) {
    if (!env.wakeLock) return;
    env.document.addEventListener('visibilitychange', () => this.sync());
  }

  /** Whether the screen is being kept on now (for tests and the status). */
  get held(): boolean {
    return this.sentinel !== null && !this.sentinel.released;
  }

  /** An answer streams (true) or not (false). Cheap to call on every update. */
  set streaming(on: boolean) {
    if (on === this.wanted) return;
    this.wanted = on;
    this.sync();
  }

  private sync(): void {
    const lock = this.env.wakeLock;
    if (!lock) return;
    if (!this.wanted) {
      const s = this.sentinel;
      this.sentinel = null;
      if (s && !s.released) s.release().catch(() => undefined);
      return;
    }
    if (this.held || this.requesting || this.env.document.visibilityState !== 'visible') return;
    this.requesting = true;
    lock.request('screen').then(
      (s) => {
        this.requesting = false;
        this.sentinel = s;
        s.addEventListener('release', () => {
          if (this.sentinel === s) this.sentinel = null;
        });
        if (!this.wanted) this.sync(); // the answer ended while the request was on its way
      },
      () => {
        this.requesting = false; // refused: try again at the next visibility change
      },
    );
  }
}
