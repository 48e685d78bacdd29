"""ccxt pointed at a local tickwire: docs/binance.md's set-up."""

from __future__ import annotations

from typing import Any

import ccxt.pro as ccxtpro


def pointed_at(address: str, key: str | None = None, secret: str | None = None) -> Any:
    """A ccxt.pro binance client pointed at tickwire (docs/binance.md's
    set-up), with an API key if given."""
    base = f"http://{address}/binance"
    exchange = ccxtpro.binance(
        {
            "apiKey": key,
            "secret": secret,
            "options": {
                "defaultType": "spot",
                "fetchMarkets": {"types": ["spot"]},
                "fetchCurrencies": False,
                "fetchMargins": False,
            },
        }
    )
    exchange.urls["api"] = {
        "public": f"{base}/api/v3",
        "private": f"{base}/api/v3",
        "v1": f"{base}/api/v1",
        "sapi": f"{base}/sapi/v1",
        "ws": {
            "spot": f"ws://{address}/binance/ws",
            "ws-api": {"spot": f"ws://{address}/binance/ws-api/v3"},
        },
    }
    return exchange
