/**
 * Requests in flight on one connection, by `id`: each is a promise resolved
 * by the answer that carries its `id` and has its expected type (an
 * `order`'s fills may carry the order's `id` too, and must not answer it
 * twice), or rejected by an `error` with its `id`, a timeout, or the end of
 * the connection.
 */

import { TimeoutError, fromErrorMessage, type TickwireError } from "./errors.js";
import type { Request, ServerMessage } from "./protocol.js";

/** A request as the caller writes it; the table adds the `id`. */
export type WithoutId<R> = R extends unknown ? Omit<R, "id"> : never;

/** What each request's successful answer is called. */
const ANSWER: Record<Request["op"], ServerMessage["type"]> = {
  subscribe: "subscribed",
  unsubscribe: "unsubscribed",
  instruments: "instruments",
  auth: "authenticated",
  order: "order_accepted",
  cancel: "order_done",
  cancel_all: "canceled_all",
  open_orders: "open_orders",
  account: "account",
  amend: "order_amended",
  order_status: "order_status",
  fills: "fills",
  faults: "faults",
  ping: "pong",
};

interface Pending {
  op: Request["op"];
  resolve: (message: ServerMessage) => void;
  reject: (error: TickwireError) => void;
  timer: ReturnType<typeof setTimeout>;
}

export class RequestTable {
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;

  constructor(private readonly timeoutMs: () => number) {}

  /** Gives `request` the next id, hands its text to `send`, awaits the answer. */
  issue<T extends ServerMessage>(
    request: WithoutId<Request>,
    send: (text: string) => void,
  ): Promise<T> {
    const id = this.nextId++;
    const timeout = this.timeoutMs();
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(
          new TimeoutError(
            `no answer to ${request.op} within ${timeout} ms` +
              (request.op === "order" ? "; check open_orders before resending" : ""),
            request.op,
          ),
        );
      }, timeout);
      this.pending.set(id, {
        op: request.op,
        resolve: resolve as (m: ServerMessage) => void,
        reject,
        timer,
      });
      send(JSON.stringify({ ...request, id }));
    });
  }

  /**
   * Settles the request `m` answers, if any. `false` for an `error` that
   * answers no request of this table (the caller reports it otherwise).
   */
  answer(m: ServerMessage): boolean {
    const id = "id" in m ? m.id : undefined;
    const pending = typeof id === "number" ? this.pending.get(id) : undefined;
    if (pending === undefined || typeof id !== "number") return m.type !== "error";
    if (m.type === "error") {
      this.settle(id, pending);
      pending.reject(fromErrorMessage(m));
    } else if (m.type === ANSWER[pending.op]) {
      this.settle(id, pending);
      pending.resolve(m);
    }
    return true;
  }

  private settle(id: number, pending: Pending): void {
    this.pending.delete(id);
    clearTimeout(pending.timer);
  }

  /** Rejects every request in flight with `error` (the connection ended). */
  failAll(error: TickwireError): void {
    for (const pending of this.pending.values()) {
      clearTimeout(pending.timer);
      pending.reject(error);
    }
    this.pending.clear();
  }
}
