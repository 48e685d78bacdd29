// Amend, order status and fills against a real server with a data
// directory; private events missed in transit recovered with `fills`; and a
// server restarted on the same directory: the client reconnects, its orders
// are still there and the private `seq` goes on.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";

import {
  PrivateSequence,
  UnknownOrderError,
  connect,
  type Fill,
  type PrivateEvent,
  type TickwireClient,
  type WebSocketConstructor,
} from "../src/index.js";
import { touch, ticks } from "./touch.js";
import { ACCOUNTS, killServer, startServer, stopServer, until, type Server } from "./server.js";

const WS = WebSocket as unknown as WebSocketConstructor;
let dir: string;
let server: Server;

function args(): string[] {
  return ["serve", "--seed", "41", "--rate-scale", "5", "--data-dir", dir];
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "tickwire-ts-"));
  server = await startServer(args());
});
afterAll(async () => {
  await killServer(server);
  rmSync(dir, { recursive: true, force: true });
});

async function client(
  token: string,
  options: { drop?: (m: PrivateEvent) => boolean } = {},
): Promise<TickwireClient> {
  const drop = options.drop;
  const c = connect(server.url, {
    WebSocket: WS,
    token,
    ...(drop === undefined ? {} : { dropInbound: (m) => (m.type === "fill" ? drop(m) : false) }),
  });
  await until(
    "authenticated",
    () => c.connection.get().state === "open" && c.connection.get().account !== null,
  );
  return c;
}

describe("the private sequence", () => {
  it("applies each seq once and finds gaps", () => {
    const s = new PrivateSequence();
    expect(s.observe(10)).toBe(true);
    expect(s.observe(11)).toBe(true);
    expect(s.observe(11)).toBe(false);
    expect(s.observe(14)).toBe(true);
    expect(s.hasGap).toBe(true);
    expect(s.last).toBe(11);
    expect(s.observe(12)).toBe(true);
    expect(s.observe(13)).toBe(true);
    expect(s.hasGap).toBe(false);
    expect(s.last).toBe(14);
    expect(s.observe(17)).toBe(true);
    expect(s.observe(20)).toBe(true);
    expect(s.highest).toBe(20);
    s.settle(17);
    expect(s.last).toBe(17);
    expect(s.hasGap).toBe(true);
    expect(s.observe(16)).toBe(false);
    s.settle(20);
    expect(s.last).toBe(20);
    expect(s.hasGap).toBe(false);
  });
});

describe("amend, status and fills", () => {
  it("amends a resting order, reports its status, and lists its fills", async () => {
    const alice = await client(ACCOUNTS.alice);
    try {
      const price = ticks((await touch(alice)).bid, -300);
      const accepted = await alice.order({
        symbol: "BTC-USD",
        side: "buy",
        order_type: "limit",
        qty: "0.0300",
        price,
        client_order_id: "amend-1",
      });
      expect(accepted.seq).toBeGreaterThan(0);
      const amended = await alice.amend({
        symbol: "BTC-USD",
        order_id: accepted.order_id,
        qty: "0.0200",
      });
      expect(amended).toMatchObject({
        type: "order_amended",
        qty: "0.0200",
        leaves_qty: "0.0200",
        price,
      });
      expect(amended.seq).toBe(accepted.seq + 1);
      await until("the amended order in the store", () =>
        alice.orders.get().open.some((o) => o.order_id === accepted.order_id && o.qty === "0.0200"),
      );
      const status = await alice.orderStatus({ symbol: "BTC-USD", client_order_id: "amend-1" });
      expect(status).toMatchObject({ status: "open", filled_qty: "0.0000", qty: "0.0200" });
      await alice.cancel({ symbol: "BTC-USD", order_id: accepted.order_id });
      const done = await alice.orderStatus({ symbol: "BTC-USD", order_id: accepted.order_id });
      expect(done.status).toBe("canceled");
      await expect(
        alice.orderStatus({ symbol: "BTC-USD", order_id: "BTC-USD:999999999" }),
      ).rejects.toBeInstanceOf(UnknownOrderError);
      const market = await alice.order({
        symbol: "BTC-USD",
        side: "buy",
        order_type: "market",
        qty: "0.0010",
      });
      await until("the fill", () =>
        alice.orders.get().fills.some((f) => f.order_id === market.order_id),
      );
      const fills = await alice.fills({ since: accepted.seq });
      expect(fills.map((f) => f.order_id)).toContain(market.order_id);
      for (const f of fills) expect(f.seq).toBeGreaterThan(accepted.seq);
    } finally {
      alice.close();
    }
  });
});

describe("missed private events", () => {
  it("recovers fills lost in transit with fills, each once", async () => {
    // Every live fill is dropped on the way in, as if lost.
    const bob = await client(ACCOUNTS.bob, { drop: () => true });
    try {
      const gaps: { from: number; to: number | null }[] = [];
      bob.on("private_gap", (g) => gaps.push(g));
      const received: Fill[] = [];
      bob.on("fill", (f) => received.push(f));
      const ids: string[] = [];
      for (let i = 0; i < 3; i++) {
        const accepted = await bob.order({
          symbol: "BTC-USD",
          side: "sell",
          order_type: "market",
          qty: "0.0010",
        });
        ids.push(accepted.order_id);
      }
      // The seq gaps give them away; they come from `fills`, each once.
      await until("the recovered fills", () =>
        ids.every((id) => received.some((f) => f.order_id === id)),
      );
      expect(gaps.length).toBeGreaterThan(0);
      const seqs = received.map((f) => f.seq);
      expect(new Set(seqs).size).toBe(seqs.length);
      expect(bob.integrity().get().fillsRecovered).toBeGreaterThanOrEqual(3);
      expect(bob.orders.get().fills.length).toBe(received.length);
    } finally {
      bob.close();
    }
  });
});

describe("a restarted server", () => {
  it("keeps the orders and the private seq, and the client picks up where it was", async () => {
    const alice = await client(ACCOUNTS.alice);
    try {
      const price = ticks((await touch(alice)).bid, -400);
      const accepted = await alice.order({
        symbol: "BTC-USD",
        side: "buy",
        order_type: "limit",
        qty: "0.0100",
        price,
        client_order_id: "survivor",
      });
      const port = server.port;
      await stopServer(server);
      server = await startServer(args(), port);
      await until(
        "reconnected",
        () => alice.connection.get().state === "open" && alice.integrity().get().reconnects > 0,
        30_000,
      );
      await until("the order reconciled", () =>
        alice.orders.get().open.some((o) => o.order_id === accepted.order_id),
      );
      const status = await alice.orderStatus({ symbol: "BTC-USD", client_order_id: "survivor" });
      expect(status.status).toBe("open");
      const canceled = await alice.cancel({ symbol: "BTC-USD", order_id: accepted.order_id });
      expect(canceled.seq).toBeGreaterThan(accepted.seq);
    } finally {
      alice.close();
    }
  });
});
