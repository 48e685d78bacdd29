/**
 * The account: sign in with a token (pre-filled from `#token=`), positions
 * with realised and unrealised P&L, open orders with cancel and cancel-all,
 * and the session's fills.
 */

import { useState, type SyntheticEvent } from "react";
import { TickwireError, type Position } from "tickwire-client";
import { useClient, useConnection, useOrders, useTicker } from "tickwire-client/react";

import { clockTime, fixed } from "../format";
import { setFragment } from "../location";

function describe(error: unknown): string {
  return error instanceof TickwireError
    ? `${error.code}: ${error.response?.message ?? error.message}`
    : String(error);
}

export function Account({ initialToken }: { initialToken: string }) {
  const client = useClient();
  const connection = useConnection();
  const orders = useOrders();
  const [token, setToken] = useState(initialToken);
  const [note, setNote] = useState<string | null>(connection.authError);
  const online = connection.state === "open";

  const signIn = async (event: SyntheticEvent) => {
    event.preventDefault();
    try {
      const answer = await client.auth(token.trim());
      setFragment("token", token.trim());
      setNote(`signed in as ${answer.account}`);
    } catch (error) {
      setNote(describe(error));
    }
  };

  const cancel = async (symbol: string, orderId: string) => {
    try {
      await client.cancel({ symbol, order_id: orderId });
    } catch (error) {
      setNote(describe(error));
    }
  };

  const cancelAll = async () => {
    try {
      const count = await client.cancelAll();
      setNote(`canceled ${count}`);
    } catch (error) {
      setNote(describe(error));
    }
  };

  const positions = Object.values(orders.positions);
  return (
    <div className="account">
      <form className="signin" onSubmit={(e) => void signIn(e)}>
        <h2>
          Account{" "}
          {connection.account !== null && (
            <small data-testid="account-name">{connection.account}</small>
          )}
        </h2>
        <input
          type="password"
          data-testid="token"
          placeholder="token"
          autoComplete="off"
          value={token}
          onChange={(e) => {
            setToken(e.target.value);
          }}
        />
        <button type="submit" data-testid="sign-in" disabled={!online || token.trim() === ""}>
          sign in
        </button>
        <span className="account-note" data-testid="account-note">
          {note ?? connection.authError ?? ""}
        </span>
      </form>

      <div className="account-tables">
        <div>
          <h3>
            Positions <small>cash {orders.cash ?? "—"}</small>
          </h3>
          <table data-testid="positions">
            <thead>
              <tr>
                <th>symbol</th>
                <th className="num">position</th>
                <th className="num">avg price</th>
                <th className="num">realised</th>
                <th className="num">unrealised</th>
              </tr>
            </thead>
            <tbody>
              {positions.map((p) => (
                <PositionRow key={p.symbol} position={p} />
              ))}
            </tbody>
          </table>
        </div>

        <div>
          <h3>
            Open orders{" "}
            <button
              type="button"
              className="small"
              data-testid="cancel-all"
              disabled={!online || orders.open.length === 0}
              onClick={() => void cancelAll()}
            >
              cancel all
            </button>
          </h3>
          <table>
            <thead>
              <tr>
                <th>order</th>
                <th>side</th>
                <th className="num">price</th>
                <th className="num">qty</th>
                <th className="num">leaves</th>
                <th>tif</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {orders.open.map((o) => (
                <tr key={o.order_id} data-testid="open-order" data-order-id={o.order_id}>
                  <td>{o.order_id}</td>
                  <td className={o.side === "buy" ? "up" : "down"}>{o.side}</td>
                  <td className="num">{o.price ?? "market"}</td>
                  <td className="num">{o.qty}</td>
                  <td className="num">{o.leaves_qty}</td>
                  <td>{o.tif}</td>
                  <td>
                    <button
                      type="button"
                      className="small"
                      data-testid="cancel-order"
                      disabled={!online}
                      onClick={() => void cancel(o.symbol, o.order_id)}
                    >
                      cancel
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>

        <div>
          <h3>Fills</h3>
          <table>
            <thead>
              <tr>
                <th>time</th>
                <th>order</th>
                <th>side</th>
                <th className="num">price</th>
                <th className="num">qty</th>
                <th>liq.</th>
              </tr>
            </thead>
            <tbody>
              {orders.fills.slice(0, 50).map((f) => (
                <tr key={`${f.trade_id}:${f.order_id}`} data-testid="fill">
                  <td>{clockTime(f.ts)}</td>
                  <td>{f.order_id}</td>
                  <td className={f.side === "buy" ? "up" : "down"}>{f.side}</td>
                  <td className="num">{f.price}</td>
                  <td className="num">{f.qty}</td>
                  <td>{f.liquidity}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </div>
    </div>
  );
}

function PositionRow({ position }: { position: Position }) {
  const ticker = useTicker(position.symbol);
  const size = Number(position.position);
  const mark = ticker?.last == null ? null : Number(ticker.last);
  const unrealised =
    mark === null || size === 0 ? null : (mark - Number(position.avg_price)) * size;
  return (
    <tr data-testid="position">
      <td>{position.symbol}</td>
      <td className={`num ${size > 0 ? "up" : size < 0 ? "down" : ""}`}>{position.position}</td>
      <td className="num">{position.avg_price}</td>
      <td className="num">{position.realized_pnl}</td>
      <td className={`num ${unrealised === null ? "" : unrealised >= 0 ? "up" : "down"}`}>
        {unrealised === null ? "—" : fixed(unrealised, 2)}
      </td>
    </tr>
  );
}
