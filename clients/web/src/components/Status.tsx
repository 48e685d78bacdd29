/**
 * Connection state, how old the newest data is, the integrity counters
 * (checksums verified, gaps, resyncs, lags, reconnects) and, when the
 * server replays a recording, a REPLAY badge with its speed (PAPER REPLAY
 * when it takes paper orders).
 */

import { useEffect, useState } from "react";
import { useClient, useConnection, useIntegrity, useServerInfo } from "tickwire-client/react";

import { age } from "../format";

export function Status() {
  const connection = useConnection();
  const server = useServerInfo();
  const stats = useIntegrity();
  const dataAge = useDataAge();
  const close = connection.lastClose;
  const title =
    close === null ? "" : `last close: ${close.code}${close.reason ? ` ${close.reason}` : ""}`;
  return (
    <div className="status">
      {(server?.mode === "replay" || server?.mode === "replay-paper") && (
        <span className="badge replay" data-testid="replay-badge" title={server.file ?? ""}>
          {server.mode === "replay-paper" ? "PAPER " : ""}REPLAY ×{server.speed ?? "?"}
          {server.replayPass > 1 ? ` · pass ${server.replayPass}` : ""}
          {server.replayEnded ? " · ended" : ""}
        </span>
      )}
      <span className={`badge conn ${connection.state}`} data-testid="conn-state" title={title}>
        {connection.state}
      </span>
      <span className="stat" title="time since the last message">
        age <b data-testid="data-age">{dataAge === null ? "—" : age(dataAge)}</b>
      </span>
      <span className="stat" title="book checksums computed locally that matched the server's">
        ✓ <b data-testid="checksums">{stats.checksumsVerified}</b>
      </span>
      <span className="stat" title="sequence gaps seen">
        gaps <b data-testid="gaps">{stats.gaps}</b>
      </span>
      <span className="stat" title="streams asked for again after a gap or a checksum mismatch">
        resyncs <b data-testid="resyncs">{stats.resyncs}</b>
      </span>
      <span className="stat" title="times the server dropped queued data because this page lagged">
        lags <b data-testid="lags">{stats.lagged}</b>
      </span>
      <span className="stat" title="connections opened after the first">
        reconnects <b data-testid="reconnects">{stats.reconnects}</b>
      </span>
    </div>
  );
}

/** Milliseconds since the last message arrived, refreshed 4 times a second. */
function useDataAge(): number | null {
  const client = useClient();
  const [now, setNow] = useState(() => Date.now());
  const [last, setLast] = useState<number | null>(null);
  useEffect(() => {
    let latest: number | null = null;
    const off = client.on("message", () => {
      latest = Date.now();
    });
    const timer = setInterval(() => {
      setNow(Date.now());
      setLast(latest);
    }, 250);
    return () => {
      off();
      clearInterval(timer);
    };
  }, [client]);
  return last === null ? null : now - last;
}
