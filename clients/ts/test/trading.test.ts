// Trading against a real server: orders, fills and cancels as promises and
// events, the account kept from them, and every refusal as its typed error.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";

import {
  DuplicateClientOrderIdError,
  InvalidPriceError,
  NotConnectedError,
  PostOnlyWouldCrossError,
  RateLimitedError,
  TickwireError,
  connect,
  formatScaled,
  parseScaled,
  type Fill,
  type OrderDone,
  type PrivateEvent,
  type TickwireClient,
  type WebSocketConstructor,
} from "../src/index.js";
import { touch, ticks } from "./touch.js";
import { ACCOUNTS, killServer, startServer, until, type Server } from "./server.js";

const WS = WebSocket as unknown as WebSocketConstructor;
let server: Server;
let alice: TickwireClient;

beforeAll(async () => {
  server = await startServer(["serve", "--seed", "31", "--rate-scale", "5"]);
  alice = connect(server.url, { WebSocket: WS, token: ACCOUNTS.alice });
  await until(
    "alice",
    () => alice.connection.get().state === "open" && alice.connection.get().account === "alice",
  );
});
afterAll(async () => {
  alice.close();
  await killServer(server);
});

describe("orders", () => {
  it("rests a limit order, lists it, and cancels it", async () => {
    const { bid } = await touch(alice);
    const price = ticks(bid, -500);
    const accepted = await alice.order({
      symbol: "BTC-USD",
      side: "buy",
      order_type: "limit",
      qty: "0.0100",
      price,
      client_order_id: "rest-1",
    });
    expect(accepted).toMatchObject({
      type: "order_accepted",
      symbol: "BTC-USD",
      side: "buy",
      price,
      qty: "0.0100",
      tif: "gtc",
      client_order_id: "rest-1",
    });
    const listed = await alice.openOrders("BTC-USD");
    expect(listed.map((o) => o.order_id)).toContain(accepted.order_id);
    await until("the store to list it", () =>
      alice.orders.get().open.some((o) => o.order_id === accepted.order_id),
    );
    const done = await alice.cancel({ symbol: "BTC-USD", order_id: accepted.order_id });
    expect(done).toMatchObject({ type: "order_done", reason: "canceled", filled_qty: "0.0000" });
    expect(alice.orders.get().open.some((o) => o.order_id === accepted.order_id)).toBe(false);
    expect(alice.orders.get().done[0]?.order_id).toBe(accepted.order_id);
  });

  it("fills a market order against the book, with events in order and the position kept", async () => {
    const events: PrivateEvent[] = [];
    const off = alice.on("private", (e) => events.push(e));
    const accepted = await alice.order({
      symbol: "BTC-USD",
      side: "buy",
      order_type: "market",
      qty: "0.0200",
    });
    await until("the order to be done", () =>
      events.some((e) => e.type === "order_done" && e.order_id === accepted.order_id),
    );
    off();
    const mine = events.filter((e) => e.order_id === accepted.order_id);
    expect(mine[0]?.type).toBe("order_accepted");
    expect(mine[mine.length - 1]?.type).toBe("order_done");
    const fills = mine.filter((e): e is Fill => e.type === "fill");
    expect(fills.length).toBeGreaterThan(0);
    const filled = fills.reduce((sum, f) => sum + (parseScaled(f.qty, 4) ?? 0n), 0n);
    const done = mine[mine.length - 1] as OrderDone;
    expect(formatScaled(filled, 4)).toBe(done.filled_qty);
    expect(fills.every((f) => f.liquidity === "taker")).toBe(true);
    await until(
      "the position",
      () => alice.orders.get().positions["BTC-USD"]?.position === fills[fills.length - 1]?.position,
    );
    const account = await alice.account();
    expect(account.positions.find((p) => p.symbol === "BTC-USD")?.position).toBe(
      fills[fills.length - 1]?.position,
    );
    await until("cash from the account refresh", () => alice.orders.get().cash === account.cash);
    expect(
      alice.orders
        .get()
        .fills.slice(0, fills.length)
        .map((f) => f.trade_id)
        .sort(),
    ).toEqual(fills.map((f) => f.trade_id).sort());
  });

  it("cancels everything with cancel_all", async () => {
    const { bid } = await touch(alice);
    for (let i = 0; i < 3; i++) {
      await alice.order({
        symbol: "BTC-USD",
        side: "buy",
        order_type: "limit",
        qty: "0.0010",
        price: ticks(bid, -300 - i),
      });
    }
    expect(await alice.cancelAll("BTC-USD")).toBe(3);
    expect(await alice.openOrders()).toEqual([]);
    await until("the store to be empty", () => alice.orders.get().open.length === 0);
  });
});

describe("refusals", () => {
  const cases: [string, () => Promise<unknown>, string][] = [];

  it("surfaces every refusal as its code and typed error", async () => {
    const { bid, ask } = await touch(alice);
    const limit = {
      symbol: "BTC-USD",
      side: "buy" as const,
      order_type: "limit" as const,
      qty: "0.0100",
    };
    cases.push(
      ["off-tick price", () => alice.order({ ...limit, price: "64000.005" }), "invalid_price"],
      ["lot", () => alice.order({ ...limit, qty: "0.00001", price: bid }), "invalid_qty"],
      ["band", () => alice.order({ ...limit, price: ticks(bid, -2_000_000) }), "price_out_of_band"],
      [
        "post only",
        () => alice.order({ ...limit, price: ask, post_only: true }),
        "post_only_would_cross",
      ],
      ["symbol", () => alice.order({ ...limit, symbol: "DOGE-USD", price: bid }), "unknown_symbol"],
      [
        "shape",
        () => alice.order({ ...limit, price: bid, tif: "ioc", post_only: true }),
        "bad_request",
      ],
      [
        "unknown order",
        () => alice.cancel({ symbol: "BTC-USD", order_id: "BTC-USD:999999999" }),
        "unknown_order",
      ],
      // The default limit is 10 x max_qty, counting open orders: the
      // eleventh order of max_qty at the latest is refused.
      [
        "position limit",
        async () => {
          for (let i = 0; i < 11; i++)
            await alice.order({ ...limit, qty: "100.0000", price: ticks(bid, -1000) });
        },
        "position_limit",
      ],
    );
    const codes: string[] = [];
    for (const [, attempt, expected] of cases) {
      const error = await attempt().then(
        () => null,
        (e: unknown) => e,
      );
      expect(error, expected).toBeInstanceOf(TickwireError);
      codes.push((error as TickwireError).code);
    }
    expect(codes).toEqual(cases.map(([, , code]) => code));
    await alice.cancelAll();
  });

  it("has a class per code", async () => {
    const { ask } = await touch(alice);
    const crossing = alice.order({
      symbol: "BTC-USD",
      side: "buy",
      order_type: "limit",
      qty: "0.0100",
      price: ask,
      post_only: true,
    });
    await expect(crossing).rejects.toBeInstanceOf(PostOnlyWouldCrossError);
    const offTick = alice.order({
      symbol: "BTC-USD",
      side: "buy",
      order_type: "limit",
      qty: "0.0100",
      price: "1.001",
    });
    await expect(offTick).rejects.toBeInstanceOf(InvalidPriceError);
  });

  it("names the order that holds a duplicate client order id", async () => {
    const { bid } = await touch(alice);
    const order = {
      symbol: "BTC-USD",
      side: "buy" as const,
      order_type: "limit" as const,
      qty: "0.0010",
      price: ticks(bid, -400),
      client_order_id: "dup-1",
    };
    const first = await alice.order(order);
    const error = await alice.order(order).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DuplicateClientOrderIdError);
    expect(error).toMatchObject({ orderId: first.order_id, status: "open" });
    await alice.cancel({ symbol: "BTC-USD", client_order_id: "dup-1" });
    const again = await alice.order(order).catch((e: unknown) => e);
    expect(again).toMatchObject({ orderId: first.order_id, status: "canceled" });
  });

  it("says when the order rate is passed, with when to retry", async () => {
    // Its own connection and account: the flood uses up the request budget.
    const bob = connect(server.url, { WebSocket: WS, token: ACCOUNTS.bob });
    await until("bob", () => bob.connection.get().account === "bob");
    const { bid } = await touch(bob);
    const price = ticks(bid, -600);
    const results = await Promise.allSettled(
      Array.from({ length: 130 }, () =>
        bob.order({
          symbol: "BTC-USD",
          side: "buy",
          order_type: "limit",
          qty: "0.0001",
          price,
          tif: "ioc",
        }),
      ),
    );
    bob.close();
    const limited = results.filter(
      (r) => r.status === "rejected" && r.reason instanceof RateLimitedError,
    );
    expect(limited.length).toBeGreaterThan(0);
    const first = (limited[0] as PromiseRejectedResult).reason as RateLimitedError;
    expect(first.retryAfterMs).toBeGreaterThan(0);
    expect(results.filter((r) => r.status === "fulfilled").length).toBeGreaterThan(0);
  });

  it("refuses trading before auth and a wrong token", async () => {
    const anonymous = connect(server.url, { WebSocket: WS });
    try {
      await until("open", () => anonymous.connection.get().state === "open");
      await expect(anonymous.openOrders()).rejects.toMatchObject({
        code: "not_authenticated",
        name: "NotAuthenticatedError",
      });
      await expect(anonymous.auth("not-a-token")).rejects.toMatchObject({
        code: "unauthorized",
        name: "UnauthorizedError",
      });
    } finally {
      anonymous.close();
    }
  });

  it("never queues an order while disconnected", async () => {
    const offline = connect("ws://127.0.0.1:9/ws", { WebSocket: WS, token: ACCOUNTS.alice });
    try {
      const error = await offline
        .order({ symbol: "BTC-USD", side: "buy", order_type: "market", qty: "0.0100" })
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(NotConnectedError);
      expect((error as Error).message).toMatch(/never queued/);
    } finally {
      offline.close();
    }
    const closed = await offline.ping().catch((e: unknown) => e);
    expect(closed).toBeInstanceOf(NotConnectedError);
  });

  it("tells another connection of the same account about the orders", async () => {
    const second = connect(server.url, { WebSocket: WS, token: ACCOUNTS.alice });
    try {
      await until("the second connection", () => second.connection.get().account === "alice");
      const { bid } = await touch(alice);
      const accepted = await alice.order({
        symbol: "BTC-USD",
        side: "buy",
        order_type: "limit",
        qty: "0.0010",
        price: ticks(bid, -700),
      });
      await until("the other connection to see it", () =>
        second.orders.get().open.some((o) => o.order_id === accepted.order_id),
      );
      await alice.cancel({ symbol: "BTC-USD", order_id: accepted.order_id });
      await until("the other connection to see the cancel", () =>
        second.orders.get().done.some((d) => d.order_id === accepted.order_id),
      );
    } finally {
      second.close();
    }
  });
});
