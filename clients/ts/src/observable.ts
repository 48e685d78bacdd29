/**
 * The one shape every piece of client state has: a current value and a way
 * to hear that it changed. It is exactly what React's
 * `useSyncExternalStore` wants (`subscribe`, `get`), and is as easy to use
 * without React.
 */

export type Listener = () => void;

export interface Observable<T> {
  /** The current value. The same object until the value changes. */
  get(): T;
  /** Calls `listener` after each change; returns the unsubscriber. */
  subscribe(listener: Listener): () => void;
}

/** Listeners, called in order; one that throws does not stop the others. */
export class Listeners {
  private readonly set = new Set<Listener>();

  add(listener: Listener): () => void {
    this.set.add(listener);
    return () => {
      this.set.delete(listener);
    };
  }

  get size(): number {
    return this.set.size;
  }

  notify(): void {
    for (const listener of this.set) {
      try {
        listener();
      } catch (error) {
        reportListenerError(error);
      }
    }
  }
}

function reportListenerError(error: unknown): void {
  // A listener's bug must not break the client's own bookkeeping; report it
  // the way an unhandled error would be.
  setTimeout(() => {
    throw error;
  }, 0);
}

/** A value that is replaced as a whole. */
export class Value<T> implements Observable<T> {
  private readonly listeners = new Listeners();

  constructor(private value: T) {}

  get(): T {
    return this.value;
  }

  set(value: T): void {
    if (Object.is(value, this.value)) return;
    this.value = value;
    this.listeners.notify();
  }

  subscribe(listener: Listener): () => void {
    return this.listeners.add(listener);
  }
}

/** Typed events: `on(name, handler)` returns the unsubscriber. */
export class Emitter<Events extends { [K in keyof Events]: unknown }> {
  private readonly handlers = new Map<keyof Events, Set<(payload: never) => void>>();

  on<K extends keyof Events>(name: K, handler: (payload: Events[K]) => void): () => void {
    let set = this.handlers.get(name);
    if (set === undefined) {
      set = new Set();
      this.handlers.set(name, set);
    }
    set.add(handler);
    return () => {
      set.delete(handler);
    };
  }

  emit<K extends keyof Events>(name: K, payload: Events[K]): void {
    const set = this.handlers.get(name);
    if (set === undefined) return;
    for (const handler of set) {
      try {
        (handler as (payload: Events[K]) => void)(payload);
      } catch (error) {
        reportListenerError(error);
      }
    }
  }
}
