// Cluster mode with the library: a real nats-server, a real engine and a
// real gateway (the release binary in its two roles). The client on the
// gateway keeps a verified book, trades through it, and when NATS goes away
// and comes back it hears `stream_interrupted` and `stream_resumed`, its
// book goes `syncing` and is live again from the fresh snapshot.

import { spawn, type ChildProcess } from "node:child_process";
import { createServer } from "node:net";

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";

import { connect, type TickwireClient, type WebSocketConstructor } from "../src/index.js";
import { ACCOUNTS, BINARY, killServer, sleep, startServer, until, type Server } from "./server.js";

const WS = WebSocket as unknown as WebSocketConstructor;

const children = new Set<ChildProcess>();
process.on("exit", () => {
  for (const child of children) child.kill("SIGKILL");
});

async function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once("error", fail);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      server.close(() => {
        done(port);
      });
    });
  });
}

/** Starts `program args` and waits until `ready` matches its output. */
async function start(program: string, args: string[], ready: RegExp): Promise<ChildProcess> {
  const child = spawn(program, args, {
    env: {
      ...process.env,
      TICKWIRE_ACCOUNTS: `alice=${ACCOUNTS.alice},bob=${ACCOUNTS.bob}`,
      RUST_LOG: "warn",
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.add(child);
  child.on("exit", () => children.delete(child));
  let out = "";
  child.stdout.on("data", (chunk: Buffer) => (out += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (out += chunk.toString()));
  const deadline = Date.now() + 30_000;
  while (!ready.test(out)) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`${program} ${args.join(" ")} did not start:\n${out}`);
    }
    await sleep(20);
  }
  return child;
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((done) => child.once("exit", done));
  child.kill("SIGKILL");
  await exited;
}

let natsPort: number;
let nats: ChildProcess;
let engine: ChildProcess;
let gateway: Server;
let client: TickwireClient;

function startNats(): Promise<ChildProcess> {
  // nats-server is installed by .ci/deps (apt-get install nats-server).
  return start("nats-server", ["-a", "127.0.0.1", "-p", String(natsPort)], /Server is ready/);
}

beforeAll(async () => {
  natsPort = await freePort();
  nats = await startNats();
  const url = `nats://127.0.0.1:${natsPort}`;
  engine = await start(
    BINARY,
    ["engine", "--nats", url, "--ephemeral", "--seed", "5", "--listen", "127.0.0.1:0"],
    /health\s+http/,
  );
  gateway = await startServer(["gateway", "--nats", url]);
  client = connect(gateway.url, { WebSocket: WS, token: ACCOUNTS.alice });
});

afterAll(async () => {
  client.close();
  await killServer(gateway);
  await stop(engine);
  await stop(nats);
});

describe("a client of a cluster gateway", () => {
  it("keeps a verified book and trades through the gateway", async () => {
    const book = client.book("BTC-USD");
    await until("a live book", () => book.get().status === "live" && book.seq > 0);
    await until("authenticated", () => client.connection.get().account === "alice");
    const accepted = await client.order({
      symbol: "BTC-USD",
      side: "buy",
      order_type: "market",
      qty: "0.0100",
    });
    expect(accepted.type).toBe("order_accepted");
    await until("the order done in the store", () =>
      client.orders.get().open.every((o) => o.order_id !== accepted.order_id),
    );
    const status = await client.orderStatus({ symbol: "BTC-USD", order_id: accepted.order_id });
    expect(["filled", "expired"]).toContain(status.status);
    expect(client.stats.get().checksumMismatches).toBe(0);
  });

  it("hears the bus go and come back, and resumes from a fresh snapshot", async () => {
    const book = client.book("BTC-USD");
    await until("a live book", () => book.get().status === "live");
    const heard: string[] = [];
    client.on("stream_interrupted", (e) => heard.push(`interrupted ${e.symbol} ${e.reason}`));
    client.on("stream_resumed", (e) => heard.push(`resumed ${e.symbol}`));
    await stop(nats);
    await until("the interruption", () => heard.includes("interrupted BTC-USD bus"));
    expect(book.get().status).toBe("syncing");
    const before = book.seq;
    nats = await startNats();
    await until("the resumption", () => heard.includes("resumed BTC-USD"), 20_000);
    await until("a live book again", () => book.get().status === "live" && book.seq > before);
    expect(client.stats.get().checksumMismatches).toBe(0);
  });
});
