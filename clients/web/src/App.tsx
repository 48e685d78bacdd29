/**
 * The trading screen: one connection (tickwire-client, through its React
 * hooks) for the whole page; a symbol picked from the server's instruments;
 * chart, ladder, tape, ticket and account around it.
 */

import { useLayoutEffect, useMemo, useState } from "react";
import type { TickwireClient } from "tickwire-client";
import { TickwireProvider, useClient, useServerInfo, useTickwire } from "tickwire-client/react";

import { Account } from "./components/Account";
import { Chart } from "./components/Chart";
import { Ladder } from "./components/Ladder";
import { Markets } from "./components/Markets";
import { Status } from "./components/Status";
import { Tape } from "./components/Tape";
import { Ticket, type TicketPrefill } from "./components/Ticket";
import { TickerBar } from "./components/TickerBar";
import { fragment, serverUrl, setFragment } from "./location";

export function App() {
  const url = useMemo(() => serverUrl(), []);
  const options = useMemo(() => {
    const token = fragment().get("token");
    return token === null ? {} : { token };
  }, []);
  const client = useTickwire(url, options);
  if (client === null) return <div className="splash">connecting to {url}</div>;
  return (
    <TickwireProvider client={client}>
      <Terminal initialToken={options.token ?? ""} />
    </TickwireProvider>
  );
}

function Terminal({ initialToken }: { initialToken: string }) {
  const server = useServerInfo();
  const instruments = server?.instruments ?? [];
  const [picked, setPicked] = useState<string | null>(() => fragment().get("symbol"));
  const [prefill, setPrefill] = useState<TicketPrefill | null>(null);
  const instrument = instruments.find((i) => i.symbol === picked) ?? instruments[0] ?? null;
  useEarlyStreams(useClient(), instrument?.symbol ?? null);

  const select = (symbol: string) => {
    setPicked(symbol);
    setPrefill(null);
    setFragment("symbol", symbol);
  };

  return (
    <div className="app">
      <header className="topbar">
        <div className="brand">
          tick<span>wire</span>
        </div>
        <Markets
          instruments={instruments}
          selected={instrument?.symbol ?? null}
          onSelect={select}
        />
        <Status />
      </header>
      {instrument === null ? (
        <div className="splash">waiting for the server&apos;s instruments…</div>
      ) : (
        <>
          <TickerBar instrument={instrument} />
          <main className="grid">
            <section className="panel chart-panel">
              <Chart symbol={instrument.symbol} />
            </section>
            <section className="panel ladder-panel">
              <Ladder
                instrument={instrument}
                onPrice={(price) => {
                  setPrefill((p) => ({ price, nonce: (p?.nonce ?? 0) + 1 }));
                }}
              />
            </section>
            <section className="panel tape-panel">
              <Tape instrument={instrument} />
            </section>
            <section className="panel ticket-panel">
              <Ticket key={instrument.symbol} instrument={instrument} prefill={prefill} />
            </section>
            <section className="panel account-panel">
              <Account initialToken={initialToken} />
            </section>
          </main>
        </>
      )}
      <footer className="footer">
        tickwire · charts by{" "}
        <a href="https://www.tradingview.com/" target="_blank" rel="noreferrer">
          TradingView Lightweight Charts™
        </a>{" "}
        (Copyright © TradingView, Inc.)
      </footer>
    </div>
  );
}

/**
 * Asks for the selected symbol's streams as soon as it is known, before
 * the first paint of the screen that shows them: the panels' own
 * subscriptions come only after that paint (React runs their effects
 * then), which would put the paint's time before the first book. The
 * client shares one subscription per stream, so the panels find these.
 */
function useEarlyStreams(client: TickwireClient, symbol: string | null) {
  useLayoutEffect(() => {
    if (symbol === null) return;
    const held = [client.book(symbol), client.trades(symbol), client.candles(symbol, "1m")];
    return () => {
      for (const stream of held) client.release(stream);
    };
  }, [client, symbol]);
}
