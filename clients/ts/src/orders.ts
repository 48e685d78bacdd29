/**
 * The account as the client knows it: open orders, every fill and finished
 * order of the session, positions. Kept from the private events (which the
 * server never drops) and reconciled with `open_orders` and `account`
 * answers after each (re)authentication, so an order that filled while the
 * connection was down is not shown open.
 */

import { Listeners, type Listener, type Observable } from "./observable.js";
import type {
  AccountState,
  Fill,
  OpenOrder,
  OrderAccepted,
  OrderAmended,
  OrderDone,
  Position,
} from "./protocol.js";

export interface OrdersView {
  /** The account authenticated on this connection, if any. */
  account: string | null;
  /** Open orders, oldest first. */
  open: OpenOrder[];
  /** Every fill of the session, newest first (never dropped). */
  fills: Fill[];
  /** Orders finished during the session, newest first. */
  done: OrderDone[];
  /** Per symbol: position, average price, realised P&L. */
  positions: Record<string, Position>;
  /** Quote-currency cash (from the last `account` answer), or null. */
  cash: string | null;
}

export class OrdersStore implements Observable<OrdersView> {
  private account: string | null = null;
  private readonly open = new Map<string, OpenOrder>();
  private fills: Fill[] = [];
  private done: OrderDone[] = [];
  private positions: Record<string, Position> = {};
  private cash: string | null = null;
  private readonly listeners = new Listeners();
  private cached: OrdersView | null = null;

  /**
   * @param keepDone how many finished orders to keep (fills are all kept:
   *   they are the account's money).
   */
  constructor(private readonly keepDone = 500) {}

  get(): OrdersView {
    if (this.cached === null) {
      this.cached = {
        account: this.account,
        open: [...this.open.values()],
        fills: this.fills.slice(),
        done: this.done.slice(),
        positions: { ...this.positions },
        cash: this.cash,
      };
    }
    return this.cached;
  }

  subscribe(listener: Listener): () => void {
    return this.listeners.add(listener);
  }

  private changed(): void {
    this.cached = null;
    this.listeners.notify();
  }

  setAccount(account: string | null): void {
    if (account !== this.account) {
      // Another account: nothing of the previous one applies.
      this.open.clear();
      this.fills = [];
      this.done = [];
      this.positions = {};
      this.cash = null;
    }
    this.account = account;
    this.changed();
  }

  onAccepted(m: OrderAccepted): void {
    if (!this.open.has(m.order_id) && !this.done.some((d) => d.order_id === m.order_id)) {
      this.open.set(m.order_id, {
        order_id: m.order_id,
        client_order_id: m.client_order_id,
        symbol: m.symbol,
        side: m.side,
        order_type: m.order_type,
        price: m.price,
        qty: m.qty,
        leaves_qty: m.qty,
        tif: m.tif,
        ts: m.ts,
      });
    }
    this.changed();
  }

  onAmended(m: OrderAmended): void {
    const order = this.open.get(m.order_id);
    if (order !== undefined) {
      this.open.set(m.order_id, { ...order, price: m.price, qty: m.qty, leaves_qty: m.leaves_qty });
      this.changed();
    }
  }

  onFill(m: Fill): void {
    this.fills.unshift(m);
    const order = this.open.get(m.order_id);
    if (order !== undefined) this.open.set(m.order_id, { ...order, leaves_qty: m.leaves_qty });
    const before = this.positions[m.symbol];
    this.positions = {
      ...this.positions,
      [m.symbol]: {
        symbol: m.symbol,
        position: m.position,
        avg_price: before?.avg_price ?? m.price,
        realized_pnl: before?.realized_pnl ?? "0",
      },
    };
    this.changed();
  }

  onDone(m: OrderDone): void {
    this.open.delete(m.order_id);
    this.done.unshift(m);
    if (this.done.length > this.keepDone) this.done.length = this.keepDone;
    this.changed();
  }

  /** The server's list of open orders replaces the local one. */
  reconcile(orders: OpenOrder[]): void {
    this.open.clear();
    for (const order of orders) this.open.set(order.order_id, order);
    this.changed();
  }

  onAccount(state: AccountState): void {
    this.cash = state.cash;
    const positions: Record<string, Position> = {};
    for (const p of state.positions) positions[p.symbol] = p;
    this.positions = positions;
    this.changed();
  }
}
