// Server-side faults (`--allow-fault-requests`, the client's own
// `faults()`): the client recovers from each one the server can inflict,
// and a second client on the same server sees none of them.
//
// Recovery is shown the strongest way there is: after the fault, a manual
// resync's snapshot, which arrives in sequence, must equal the book the
// client kept (`snapshotsVerified`), with no checksum mismatch beyond what
// the fault itself caused.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";

import { connect, type TickwireClient, type WebSocketConstructor } from "../src/index.js";
import { killServer, startServer, until, type Server } from "./server.js";

const WS = WebSocket as unknown as WebSocketConstructor;
let server: Server;
let bystander: TickwireClient;

beforeAll(async () => {
  server = await startServer([
    "serve",
    "--seed",
    "31",
    "--rate-scale",
    "10",
    "--allow-fault-requests",
  ]);
  bystander = connect(server.url, { WebSocket: WS });
  bystander.book("BTC-USD");
  bystander.trades("BTC-USD");
});
afterAll(async () => {
  bystander.close();
  await killServer(server);
});

/** A client following BTC-USD's book and trades, live. */
async function follower(): Promise<TickwireClient> {
  const c = connect(server.url, { WebSocket: WS, backoff: { initialMs: 50, maxMs: 200 } });
  const book = c.book("BTC-USD");
  c.trades("BTC-USD");
  // Open as well as live: the subscription goes out as the socket opens,
  // before the handshake's answers, so on a loaded machine the book can be
  // live a moment before the client takes requests (faults() would be
  // refused with not_connected).
  await until(
    "the book live and the connection open",
    () => book.get().status === "live" && c.connection.get().state === "open",
  );
  return c;
}

/** Waits for the book to be live and verified again after a fault. */
async function recovered(c: TickwireClient, mismatchesAllowed: number): Promise<void> {
  const book = c.book("BTC-USD");
  const verified = c.stats.get().checksumsVerified;
  await until(
    "updates verified after the fault",
    () => book.get().status === "live" && c.stats.get().checksumsVerified > verified + 20,
  );
  const snapshots = c.stats.get().snapshotsVerified;
  book.resync();
  await until(
    "a snapshot equal to the book kept",
    () => c.stats.get().snapshotsVerified > snapshots,
  );
  expect(c.stats.get().checksumMismatches).toBe(mismatchesAllowed);
}

const inStream: [string, string, (c: TickwireClient) => void][] = [
  [
    "drop:book:3@after=3",
    "a gap resynced",
    (c) => {
      expect(c.stats.get().gaps).toBeGreaterThan(0);
    },
  ],
  [
    "corrupt@after=3",
    "a checksum mismatch resynced",
    (c) => {
      expect(c.stats.get().resyncs).toBeGreaterThan(0);
    },
  ],
  [
    "duplicate:book@after=3",
    "a duplicate ignored",
    (c) => {
      expect(c.stats.get().gaps).toBe(0);
    },
  ],
  [
    "reorder:book@after=3",
    "a reorder resynced",
    (c) => {
      expect(c.stats.get().gaps).toBeGreaterThan(0);
    },
  ],
  [
    "stall:400ms@after=3",
    "a stall waited out",
    (c) => {
      expect(c.stats.get().reconnects).toBe(0);
    },
  ],
  [
    "lagged@after=3",
    "a lag's fresh state taken",
    (c) => {
      expect(c.stats.get().lagged).toBe(1);
    },
  ],
];

describe("the client recovers from each fault in the stream", () => {
  for (const [spec, what, check] of inStream) {
    it(`${spec}: ${what}`, async () => {
      const c = await follower();
      try {
        const answer = await c.faults(spec);
        expect(answer).toMatchObject({ type: "faults", spec, seed: 1 });
        await recovered(c, spec.startsWith("corrupt") ? 1 : 0);
        check(c);
      } finally {
        c.close();
      }
    });
  }
});

describe("the client reconnects after the connection is taken away", () => {
  for (const [spec, code] of [
    ["close:abrupt@after=3", 1006],
    ["close:4001@after=3", 4001],
    ["shutdown@after=3", 1001],
  ] as const) {
    it(`${spec}: closed with ${code}, reconnected, the book verified again`, async () => {
      const c = await follower();
      try {
        await c.faults(spec);
        await until(
          "reconnected",
          () => c.stats.get().reconnects === 1 && c.connection.get().state === "open",
        );
        expect(c.connection.get().lastClose?.code).toBe(code);
        // A new connection starts without faults.
        await recovered(c, 0);
      } finally {
        c.close();
      }
    });
  }
});

describe("faults stay on their connection", () => {
  it("the bystander saw no gap, no mismatch, no lag, no reconnect", async () => {
    await until(
      "the bystander's book verified",
      () => bystander.stats.get().checksumsVerified > 100,
    );
    const stats = bystander.stats.get();
    expect(stats.gaps).toBe(0);
    expect(stats.checksumMismatches).toBe(0);
    expect(stats.lagged).toBe(0);
    expect(stats.reconnects).toBe(0);
    expect(stats.resyncs).toBe(0);
  });

  it("a server without --allow-fault-requests refuses them", async () => {
    const plain = await startServer(["serve", "--seed", "32"]);
    const c = connect(plain.url, { WebSocket: WS });
    try {
      await until("open", () => c.connection.get().state === "open");
      await expect(c.faults("drop")).rejects.toMatchObject({ code: "unauthorized" });
    } finally {
      c.close();
      await killServer(plain);
    }
  });
});
