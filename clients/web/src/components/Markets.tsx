/** Every instrument with its last price and 24 h change; click to pick. */

import type { Instrument } from "tickwire-client";
import { useTicker } from "tickwire-client/react";

import { percent } from "../format";

export function Markets(props: {
  instruments: Instrument[];
  selected: string | null;
  onSelect: (symbol: string) => void;
}) {
  return (
    <nav className="markets" aria-label="markets">
      {props.instruments.map((i) => (
        <Market
          key={i.symbol}
          symbol={i.symbol}
          selected={i.symbol === props.selected}
          onSelect={props.onSelect}
        />
      ))}
    </nav>
  );
}

function Market(props: { symbol: string; selected: boolean; onSelect: (symbol: string) => void }) {
  const ticker = useTicker(props.symbol);
  const change = dayChange(ticker?.last ?? null, ticker?.open ?? null);
  return (
    <button
      type="button"
      className={`market${props.selected ? " selected" : ""}`}
      data-testid={`market-${props.symbol}`}
      onClick={() => {
        props.onSelect(props.symbol);
      }}
    >
      <span className="market-symbol">{props.symbol}</span>
      <span className="market-last">{ticker?.last ?? "—"}</span>
      {change !== null && <span className={change >= 0 ? "up" : "down"}>{percent(change)}</span>}
    </button>
  );
}

/** Last against the 24 h open, as a fraction (null without both). */
export function dayChange(last: string | null, open: string | null): number | null {
  if (last === null || open === null) return null;
  const o = Number(open);
  return o === 0 ? null : (Number(last) - o) / o;
}
