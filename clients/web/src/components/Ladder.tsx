/**
 * The order-book ladder: asks above (best at the bottom), spread and mid,
 * bids below (best at the top), each level with a bar of the cumulative
 * quantity from the touch. Clicking a row puts its price in the ticket.
 */

import { useEffect } from "react";
import type { Instrument, Level } from "tickwire-client";
import { useOrderBook } from "tickwire-client/react";

import { fixed } from "../format";

const DEPTH = 12;

interface Row {
  price: string;
  qty: string;
  cumulative: number;
}

function cumulate(levels: Level[]): Row[] {
  let sum = 0;
  return levels.map(([price, qty]) => {
    sum += Number(qty);
    return { price, qty, cumulative: sum };
  });
}

export function Ladder(props: { instrument: Instrument; onPrice: (price: string) => void }) {
  const { instrument, onPrice } = props;
  const book = useOrderBook(instrument.symbol, DEPTH);
  const bids = cumulate(book.bids);
  const asks = cumulate(book.asks);
  const deepest = Math.max(bids.at(-1)?.cumulative ?? 0, asks.at(-1)?.cumulative ?? 0, 1e-12);
  const ready = bids.length > 0 || asks.length > 0;

  useEffect(() => {
    // For the "page load to first rendered book" figure.
    if (ready && performance.getEntriesByName("tickwire:first-book").length === 0) {
      performance.mark("tickwire:first-book");
    }
  }, [ready]);

  // Rows are keyed by their place from the touch, not by price: as the book
  // moves, each row keeps its element and only its text changes. That is
  // less work for the browser than replacing rows, and a row under the
  // pointer stays there to be clicked.
  const line = (row: Row, side: "bid" | "ask", place: number) => (
    <tr
      key={`${side}-${place}`}
      className={`level ${side}`}
      onClick={() => {
        onPrice(row.price);
      }}
      title="put this price in the ticket"
    >
      <td className="num price" data-testid={place === 0 ? `best-${side}` : undefined}>
        {row.price}
      </td>
      <td className="num">{row.qty}</td>
      <td className="num depth-cell">
        <span className="depth-bar" style={{ width: `${(100 * row.cumulative) / deepest}%` }} />
        <span className="depth-text">{fixed(row.cumulative, instrument.qty_decimals)}</span>
      </td>
    </tr>
  );

  const spread = book.spread;
  const mid = book.mid;
  return (
    <div
      className="ladder"
      data-testid="ladder"
      data-symbol={book.symbol}
      data-status={book.status}
      data-seq={book.seq}
    >
      <h2>
        Order book <small>{book.status === "live" ? `seq ${book.seq}` : book.status}</small>
      </h2>
      <table>
        <thead>
          <tr>
            <th className="num">price</th>
            <th className="num">qty</th>
            <th className="num">total</th>
          </tr>
        </thead>
        <tbody className="asks">
          {asks.map((row, place) => line(row, "ask", place)).reverse()}
        </tbody>
        <tbody>
          <tr className="spread-row">
            <td colSpan={3}>
              {spread === null || mid === null ? (
                "—"
              ) : (
                <>
                  spread <b data-testid="spread">{fixed(spread, instrument.price_decimals)}</b> (
                  {((spread / mid) * 10_000).toPrecision(2)} bps) · mid{" "}
                  <b data-testid="mid">{fixed(mid, instrument.price_decimals + 1)}</b>
                </>
              )}
            </td>
          </tr>
        </tbody>
        <tbody className="bids">{bids.map((row, place) => line(row, "bid", place))}</tbody>
      </table>
    </div>
  );
}
