/** Public trades, newest first, coloured by the aggressor's side. */

import type { Instrument } from "tickwire-client";
import { useTrades } from "tickwire-client/react";

import { clockTime } from "../format";

export function Tape({ instrument }: { instrument: Instrument }) {
  const trades = useTrades(instrument.symbol, 60);
  return (
    <div className="tape" data-testid="tape">
      <h2>Trades</h2>
      <table>
        <thead>
          <tr>
            <th>time</th>
            <th className="num">price</th>
            <th className="num">qty</th>
          </tr>
        </thead>
        <tbody>
          {trades.map((t) => (
            <tr key={t.trade_id} className={t.side === "buy" ? "up" : "down"} data-testid="trade">
              <td>{clockTime(t.ts)}</td>
              <td className="num">{t.price}</td>
              <td className="num">{t.qty}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
