/**
 * Rendering at most once per animation frame, however fast the feed is.
 *
 * A `FrameView` sits between a client store (which may change thousands of
 * times a second) and React: it hears every change, but takes a new value
 * from the store, and tells React, only once per frame. The store keeps
 * every event (fills are appended, never replaced), so a value taken once
 * per frame still contains all of them: batching drops renders, never data.
 */

import { Listeners, type Listener, type Observable } from "../observable.js";

type Task = () => void;

const queued = new Set<Task>();
let scheduled = false;

function requestFrame(run: () => void): void {
  if (typeof requestAnimationFrame === "function") requestAnimationFrame(run);
  else setTimeout(run, 16);
}

function flushFrame(): void {
  scheduled = false;
  const tasks = [...queued];
  queued.clear();
  for (const task of tasks) task();
}

/** Runs `task` in the next frame, once however often it is asked for. */
export function scheduleFrame(task: Task): void {
  queued.add(task);
  if (!scheduled) {
    scheduled = true;
    requestFrame(flushFrame);
  }
}

export function cancelFrame(task: Task): void {
  queued.delete(task);
}

/** An observable opened when first listened to, closed after the last. */
export interface Opened<S> {
  source: Observable<S>;
  close: () => void;
}

/**
 * `select(source.get())`, refreshed at most once per frame. The source is
 * opened when the first listener comes (for a market stream: subscribed)
 * and closed when the last one goes, which is how React's
 * `useSyncExternalStore` subscribes a component while it is mounted.
 */
export class FrameView<S, T> {
  private value: T;
  private seen: S | undefined;
  private opened: Opened<S> | null = null;
  private unsubscribe: (() => void) | null = null;
  private readonly listeners = new Listeners();

  constructor(
    private readonly open: () => Opened<S>,
    private readonly select: (state: S) => T,
    initial: T,
  ) {
    this.value = initial;
  }

  /** A view of an observable that is always there. */
  static of<S, T>(source: Observable<S>, select: (state: S) => T): FrameView<S, T> {
    const view = new FrameView(() => ({ source, close: () => {} }), select, select(source.get()));
    view.seen = source.get();
    return view;
  }

  readonly get = (): T => this.value;

  readonly subscribe = (listener: Listener): (() => void) => {
    const remove = this.listeners.add(listener);
    if (this.opened === null) {
      const opened = this.open();
      this.opened = opened;
      this.unsubscribe = opened.source.subscribe(() => {
        scheduleFrame(this.flush);
      });
      // What changed before anyone listened.
      this.flush();
    }
    return () => {
      remove();
      if (this.listeners.size === 0 && this.opened !== null) {
        this.unsubscribe?.();
        this.unsubscribe = null;
        this.opened.close();
        this.opened = null;
        cancelFrame(this.flush);
      }
    };
  };

  private readonly flush = (): void => {
    if (this.opened === null) return;
    const state = this.opened.source.get();
    if (this.seen !== undefined && Object.is(state, this.seen)) return;
    this.seen = state;
    const next = this.select(state);
    if (!Object.is(next, this.value)) {
      this.value = next;
      this.listeners.notify();
    }
  };
}
