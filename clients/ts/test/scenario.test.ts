// A scripted halt (`serve --scenario`, v1.1 market status) seen by the
// client: the ticker stream says halted, an order is refused with
// MarketHaltedError, then trading resumes and orders are taken again.

import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { afterAll, beforeAll, expect, it } from "vitest";
import WebSocket from "ws";

import {
  MarketHaltedError,
  connect,
  type ServerMessage,
  type TickwireClient,
  type WebSocketConstructor,
} from "../src/index.js";
import { ACCOUNTS, killServer, startServer, until, type Server } from "./server.js";

const WS = WebSocket as unknown as WebSocketConstructor;
let dir: string;
let server: Server;
let client: TickwireClient;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "tickwire-scenario-"));
  const file = join(dir, "halt.toml");
  writeFileSync(
    file,
    ["[[step]]", 'at = "2s"', 'symbol = "ETH-USD"', 'kind = "halt"', 'for = "2s"', ""].join("\n"),
  );
  server = await startServer(["serve", "--seed", "33", "--scenario", file]);
  client = connect(server.url, { WebSocket: WS, token: ACCOUNTS.alice });
});
afterAll(async () => {
  client.close();
  await killServer(server);
  rmSync(dir, { recursive: true, force: true });
});

it("follows a halt and its end on the ticker stream, and orders are refused meanwhile", async () => {
  const statuses: string[] = [];
  client.on("message", (m: ServerMessage) => {
    if (m.type === "status") statuses.push(`${m.symbol} ${m.status}`);
  });
  const ticker = client.ticker("ETH-USD");
  await until("the halt", () => ticker.halted, 10_000);
  const order = {
    symbol: "ETH-USD",
    side: "buy",
    order_type: "limit",
    qty: "0.0100",
    price: "3000.00",
  } as const;
  await expect(client.order(order)).rejects.toBeInstanceOf(MarketHaltedError);
  await until("trading again", () => !ticker.halted, 10_000);
  await expect(client.order(order)).resolves.toMatchObject({ type: "order_accepted" });
  expect(statuses).toEqual(["ETH-USD halted", "ETH-USD trading"]);
  expect(client.stats.get().gaps).toBe(0);
});
