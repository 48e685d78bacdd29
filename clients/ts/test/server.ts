/**
 * Real tickwire servers for the tests: the release binary, started on
 * `127.0.0.1:0` (or on a given port, to restart one in place), killed at the
 * end of the test run even when a test fails.
 */

import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");

/** The binary under test: `TICKWIRE_BIN`, else the release build. */
export const BINARY = process.env.TICKWIRE_BIN ?? resolve(ROOT, "target/release/tickwire");
export const SAMPLE_RECORDING = resolve(ROOT, "feeds/recordings/sample-30s.jsonl.zst");

/** Accounts every test server has. */
export const ACCOUNTS = { alice: "alice-token-1", bob: "bob-token-22" } as const;

const running = new Set<ChildProcess>();
process.on("exit", () => {
  for (const child of running) child.kill("SIGKILL");
});

export interface Server {
  url: string;
  http: string;
  port: number;
  args: string[];
  child: ChildProcess;
  output: () => string;
}

/**
 * Starts `tickwire ARGS --listen 127.0.0.1:PORT` (`serve` unless `args`
 * names another command) and resolves once it prints its WebSocket URL.
 */
export async function startServer(args: string[] = ["serve"], port = 0): Promise<Server> {
  if (!existsSync(BINARY)) {
    throw new Error(`${BINARY} does not exist: build it first (cargo build --release)`);
  }
  // A test server keeps nothing unless the test gives it a data directory.
  const keep = args[0] !== "serve" || args.includes("--data-dir");
  const full = [...args, ...(keep ? [] : ["--ephemeral"]), "--listen", `127.0.0.1:${port}`];
  const child = spawn(BINARY, full, {
    env: {
      ...process.env,
      TICKWIRE_ACCOUNTS: `alice=${ACCOUNTS.alice},bob=${ACCOUNTS.bob}`,
      RUST_LOG: "warn",
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  running.add(child);
  child.on("exit", () => running.delete(child));
  let out = "";
  child.stdout.on("data", (chunk: Buffer) => (out += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (out += chunk.toString()));
  const deadline = Date.now() + 30_000;
  for (;;) {
    const m = /WebSocket\s+ws:\/\/127\.0\.0\.1:(\d+)\/ws/.exec(out);
    if (m !== null) {
      const bound = Number(m[1]);
      return {
        url: `ws://127.0.0.1:${bound}/ws`,
        http: `http://127.0.0.1:${bound}`,
        port: bound,
        args,
        child,
        output: () => out,
      };
    }
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`tickwire ${full.join(" ")} did not start:\n${out}`);
    }
    await sleep(20);
  }
}

/** Kills the server at once (SIGKILL: a crash, not a shutdown). */
export async function killServer(server: Server): Promise<void> {
  if (server.child.exitCode !== null || server.child.signalCode !== null) return;
  const exited = new Promise((done) => server.child.once("exit", done));
  server.child.kill("SIGKILL");
  await exited;
}

/** Stops the server gracefully (SIGTERM: `shutdown`, then close 1001). */
export async function stopServer(server: Server): Promise<void> {
  if (server.child.exitCode !== null || server.child.signalCode !== null) return;
  const exited = new Promise((done) => server.child.once("exit", done));
  server.child.kill("SIGTERM");
  await Promise.race([exited, sleep(10_000)]);
  await killServer(server);
}

/** The value of one metric from `/metrics`. */
export async function metric(server: Server, name: string): Promise<number> {
  const text = await (await fetch(`${server.http}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith(`${name} `));
  if (line === undefined) throw new Error(`no metric ${name}`);
  return Number(line.split(" ")[1]);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((done) => setTimeout(done, ms));
}

/** Resolves when `check()` is true; fails after `timeoutMs` saying `what`. */
export async function until(
  what: string,
  check: () => boolean | Promise<boolean>,
  timeoutMs = 15_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}
