// A fan-out server written the way Node users write one, with the `ws`
// package: the peer that tickwire is measured against in benches/run.sh.
//
// It plays a tickwire recording (plain JSON Lines, from `tickwire simulate`)
// at the recorded pace: each message goes, as recorded but with `ts` set to
// the time it is published (same length: 19 digits), to every connection
// subscribed to its stream. So it sends messages of the same size, at the
// same rates, to the same subscriptions as tickwire does, and the same load
// generator measures both. Each message is turned into a Buffer once and that
// Buffer is sent to every subscriber (ws's fastest path). There is no book,
// no matching and no slow-consumer policy: ws buffers without a bound. It
// does not loop (that would restart `seq`): when the recording runs out it
// stops publishing and prints "the feed ran out at <unix ns>" on stderr, so
// the harness can fail a run whose window outlasted the feed.
//
//   node server.js --feed FILE [--listen 127.0.0.1:0] [--speed 1]
//
// Prints "listening on IP:PORT" once it accepts connections.
'use strict';

const fs = require('fs');
const readline = require('readline');
const { WebSocketServer } = require('ws');

function arg(name, fallback) {
  const i = process.argv.indexOf(name);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

const feedPath = arg('--feed');
const listen = arg('--listen', '127.0.0.1:0');
const speed = Number(arg('--speed', '1'));
if (!feedPath || !(speed > 0)) {
  console.error('usage: node server.js --feed FILE [--listen IP:PORT] [--speed X]');
  process.exit(2);
}

// Wall-clock nanoseconds, as tickwire keeps them: the start time plus a
// monotonic offset. performance.timeOrigin + performance.now() drifts from
// the wall clock (by milliseconds on this VM, ahead of it: the generator then
// read messages "before" their ts), so calibrate once against Date.now():
// wait for its millisecond to turn over and pair that instant with hrtime.
function calibrate() {
  const start = Date.now();
  let ms = start;
  while (ms === start) ms = Date.now();
  return BigInt(ms) * 1000000n - process.hrtime.bigint();
}
const OFFSET = calibrate();
function nowNs() {
  return process.hrtime.bigint() + OFFSET;
}

async function loadFeed(path) {
  const entries = [];
  const lines = readline.createInterface({ input: fs.createReadStream(path) });
  let first = true;
  for await (const line of lines) {
    if (first) { first = false; continue; } // the header
    const at = line.indexOf('"msg":');
    if (at < 0) continue; // book snapshots of the recording
    const ts = Number(line.slice(6, line.indexOf(',')));
    const stream = line.slice(line.indexOf('"stream":"') + 10, line.indexOf('",'));
    const msg = line.slice(at + 6, line.length - 1);
    const tsAt = msg.indexOf('"ts":') + 5;
    let tsEnd = tsAt;
    while (tsEnd < msg.length && msg.charCodeAt(tsEnd) >= 48 && msg.charCodeAt(tsEnd) <= 57) tsEnd++;
    entries.push({ ts, stream, head: msg.slice(0, tsAt), tail: msg.slice(tsEnd) });
  }
  return entries;
}

const TEXT = { binary: false }; // one options object for every send

function streamKey(channel, symbol, interval) {
  if (channel === 'candles') return `candles_${interval || '1m'}:${symbol}`;
  return `${channel}:${symbol}`;
}

async function main() {
  const entries = await loadFeed(feedPath);
  if (entries.length === 0) {
    console.error(`${feedPath}: no messages`);
    process.exit(1);
  }
  const streams = new Map(); // stream key -> Set of sockets
  const [host, port] = [listen.slice(0, listen.lastIndexOf(':')), Number(listen.slice(listen.lastIndexOf(':') + 1))];
  const wss = new WebSocketServer({ host, port, backlog: 4096, perMessageDeflate: false });

  wss.on('connection', (ws) => {
    const mine = new Set();
    ws.on('message', (data, isBinary) => {
      let req;
      try { req = JSON.parse(data.toString()); } catch (e) { req = null; }
      if (isBinary || !req || typeof req !== 'object') {
        ws.send(JSON.stringify({ type: 'error', code: 'bad_request', message: 'send JSON objects' }));
        return;
      }
      if (req.op !== 'subscribe') {
        ws.send(JSON.stringify({ type: 'error', id: req.id, op: req.op, code: 'unknown_op', message: 'this peer only streams' }));
        return;
      }
      for (const channel of req.channels || []) {
        for (const symbol of req.symbols || []) {
          const key = streamKey(channel, symbol, req.interval);
          if (!streams.has(key)) streams.set(key, new Set());
          streams.get(key).add(ws);
          mine.add(key);
        }
      }
      const subscriptions = [...mine].map((k) => {
        const [channel, symbol] = k.split(':');
        return { channel, symbol };
      });
      ws.send(JSON.stringify({ type: 'subscribed', id: req.id, subscriptions }));
    });
    ws.on('close', () => { for (const key of mine) streams.get(key).delete(ws); });
    ws.on('error', () => {});
  });

  wss.on('listening', () => {
    const a = wss.address();
    console.log(`listening on ${a.address}:${a.port}`);
    // Play the feed against the clock, once.
    let next = 0;
    const base = Number(nowNs()) - entries[0].ts / speed;
    const tick = () => {
      const now = Number(nowNs());
      while (base + entries[next].ts / speed <= now) {
        const e = entries[next];
        const subscribers = streams.get(e.stream);
        if (subscribers && subscribers.size > 0) {
          const frame = Buffer.from(e.head + nowNs().toString() + e.tail);
          for (const ws of subscribers) ws.send(frame, TEXT);
        }
        next += 1;
        if (next === entries.length) {
          console.error(`the feed ran out at ${nowNs()}`);
          return;
        }
      }
      const wait = (base + entries[next].ts / speed - Number(nowNs())) / 1e6;
      setTimeout(tick, Math.max(0, wait));
    };
    tick();
  });

  const stop = () => { wss.close(); process.exit(0); };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main();
