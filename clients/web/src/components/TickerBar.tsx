/** The selected symbol's ticker: last, 24 h change, bid/ask, high/low/volume. */

import type { Instrument } from "tickwire-client";
import { useMarketHalted, useTicker } from "tickwire-client/react";

import { compactNumber, percent } from "../format";
import { dayChange } from "./Markets";

export function TickerBar({ instrument }: { instrument: Instrument }) {
  const t = useTicker(instrument.symbol);
  const halted = useMarketHalted(instrument.symbol);
  const change = dayChange(t?.last ?? null, t?.open ?? null);
  const direction = change === null ? "" : change >= 0 ? "up" : "down";
  return (
    <div className="tickerbar">
      <div className="tickerbar-symbol">{instrument.symbol}</div>
      {halted && (
        <span className="badge halted" data-testid="halted-badge" title="trading is halted">
          HALTED
        </span>
      )}
      <div className={`tickerbar-last ${direction}`} data-testid="last-price">
        {t?.last ?? "—"}
      </div>
      <Field
        label="24h change"
        value={change === null ? "—" : percent(change)}
        className={direction}
      />
      <Field
        label="bid"
        value={t?.bid == null ? "—" : `${t.bid} × ${t.bid_qty ?? ""}`}
        className="up"
      />
      <Field
        label="ask"
        value={t?.ask == null ? "—" : `${t.ask} × ${t.ask_qty ?? ""}`}
        className="down"
      />
      <Field label="24h high" value={t?.high ?? "—"} />
      <Field label="24h low" value={t?.low ?? "—"} />
      <Field label="24h volume" value={t?.volume == null ? "—" : compactNumber(Number(t.volume))} />
    </div>
  );
}

function Field(props: { label: string; value: string; className?: string }) {
  return (
    <div className="field">
      <div className="field-label">{props.label}</div>
      <div className={`field-value ${props.className ?? ""}`}>{props.value}</div>
    </div>
  );
}
