/**
 * The order ticket: side, limit or market, price, quantity, time in force,
 * post-only. Prices and quantities are checked against the instrument's
 * tick, lot and maximum before sending (exactly, as the server checks
 * them); the button is disabled while disconnected or signed out, since
 * orders are never queued.
 */

import { useState, type SyntheticEvent } from "react";
import {
  TickwireError,
  checkPrice,
  checkQty,
  type Instrument,
  type OrderParams,
  type Side,
  type TimeInForce,
} from "tickwire-client";
import { useClient, useConnection } from "tickwire-client/react";

export interface TicketPrefill {
  price: string;
  /** Changes on every click, so clicking the same price again applies it. */
  nonce: number;
}

type Outcome = { ok: true; text: string } | { ok: false; text: string };

export function Ticket(props: { instrument: Instrument; prefill: TicketPrefill | null }) {
  const { instrument, prefill } = props;
  const client = useClient();
  const connection = useConnection();
  const [side, setSide] = useState<Side>("buy");
  const [orderType, setOrderType] = useState<"limit" | "market">("limit");
  const [price, setPrice] = useState("");
  const [qty, setQty] = useState(instrument.lot_size);
  const [tif, setTif] = useState<TimeInForce>("gtc");
  const [postOnly, setPostOnly] = useState(false);
  const [sending, setSending] = useState(false);
  const [outcome, setOutcome] = useState<Outcome | null>(null);
  const [applied, setApplied] = useState(0);

  // A price clicked in the ladder (adjusting state while rendering, as
  // React recommends over an effect).
  if (prefill !== null && prefill.nonce !== applied) {
    setApplied(prefill.nonce);
    setPrice(prefill.price);
    setOrderType("limit");
  }

  const limit = orderType === "limit";
  const priceProblem = limit ? checkPrice(instrument, price) : null;
  const qtyProblem = checkQty(instrument, qty);
  const postOnlyProblem =
    postOnly && (!limit || tif !== "gtc") ? "post-only needs a limit gtc order" : null;
  const problem =
    (limit && price === "" ? "enter a price" : priceProblem) ?? qtyProblem ?? postOnlyProblem;
  const online = connection.state === "open";
  const signedIn = connection.account !== null;
  const blocked = !online
    ? `not connected (${connection.state}): orders are not queued`
    : !signedIn
      ? "sign in with a token to trade"
      : null;

  const submit = async (event: SyntheticEvent) => {
    event.preventDefault();
    if (problem !== null || blocked !== null || sending) return;
    const order: OrderParams = {
      symbol: instrument.symbol,
      side,
      order_type: orderType,
      qty,
      ...(limit
        ? { price, tif, ...(postOnly ? { post_only: true } : {}) }
        : tif === "fok"
          ? { tif }
          : {}),
    };
    setSending(true);
    setOutcome(null);
    try {
      const accepted = await client.order(order);
      setOutcome({ ok: true, text: `accepted ${accepted.order_id}` });
    } catch (error) {
      const text =
        error instanceof TickwireError
          ? `${error.code}: ${error.response?.message ?? error.message}`
          : String(error);
      setOutcome({ ok: false, text });
    } finally {
      setSending(false);
    }
  };

  return (
    <form className="ticket" onSubmit={(e) => void submit(e)} data-testid="ticket">
      <h2>Order · {instrument.symbol}</h2>
      <div className="segmented">
        {(["buy", "sell"] as const).map((s) => (
          <button
            key={s}
            type="button"
            className={`${s}${side === s ? " selected" : ""}`}
            data-testid={`side-${s}`}
            onClick={() => {
              setSide(s);
            }}
          >
            {s}
          </button>
        ))}
      </div>
      <div className="segmented">
        {(["limit", "market"] as const).map((t) => (
          <button
            key={t}
            type="button"
            className={orderType === t ? "selected" : ""}
            data-testid={`type-${t}`}
            onClick={() => {
              setOrderType(t);
            }}
          >
            {t}
          </button>
        ))}
      </div>
      <label>
        price
        <input
          data-testid="ticket-price"
          inputMode="decimal"
          disabled={!limit}
          placeholder={limit ? `tick ${instrument.tick_size}` : "market"}
          value={limit ? price : ""}
          onChange={(e) => {
            setPrice(e.target.value.trim());
          }}
          aria-invalid={priceProblem !== null && price !== ""}
        />
      </label>
      <label>
        qty
        <input
          data-testid="ticket-qty"
          inputMode="decimal"
          placeholder={`lot ${instrument.lot_size}`}
          value={qty}
          onChange={(e) => {
            setQty(e.target.value.trim());
          }}
          aria-invalid={qtyProblem !== null}
        />
      </label>
      <div className="ticket-row">
        <label>
          tif
          <select
            data-testid="ticket-tif"
            value={tif}
            onChange={(e) => {
              setTif(e.target.value as TimeInForce);
            }}
          >
            <option value="gtc">gtc</option>
            <option value="ioc">ioc</option>
            <option value="fok">fok</option>
          </select>
        </label>
        <label className="check">
          <input
            type="checkbox"
            data-testid="ticket-post-only"
            checked={postOnly}
            disabled={!limit}
            onChange={(e) => {
              setPostOnly(e.target.checked);
            }}
          />
          post-only
        </label>
      </div>
      <button
        type="submit"
        className={`submit ${side}`}
        data-testid="submit-order"
        disabled={problem !== null || blocked !== null || sending}
      >
        {sending ? "sending…" : `${side} ${qty} ${instrument.symbol}`}
      </button>
      <div className="ticket-note" data-testid="ticket-note">
        {blocked ?? problem ?? ""}
      </div>
      {outcome !== null && (
        <div className={`ticket-outcome ${outcome.ok ? "ok" : "bad"}`} data-testid="ticket-outcome">
          {outcome.text}
        </div>
      )}
    </form>
  );
}
