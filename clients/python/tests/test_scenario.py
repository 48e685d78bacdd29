"""A scripted halt (``serve --scenario``, v1.1 market status) seen by the
client: ``client.halted`` follows the ``status`` messages, and an order on
the halted market raises :class:`MarketHaltedError`."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from conftest import ACCOUNTS, start_server, stop, until

from tickwire_client import Client, MarketHaltedError, Notice

HALT = '[[step]]\nat = "2s"\nsymbol = "ETH-USD"\nkind = "halt"\nfor = "2s"\n'


async def test_a_halt_is_followed_and_orders_are_refused_meanwhile(tmp_path: Path) -> None:
    scenario = tmp_path / "halt.toml"
    scenario.write_text(HALT)
    server = start_server("serve", "--seed", "64", "--scenario", str(scenario))
    try:
        async with Client(server.url, token=ACCOUNTS["alice"]) as client:
            events = client.events()
            statuses: list[str] = []

            async def read() -> None:
                async for event in events:
                    if isinstance(event, Notice) and event.type == "status":
                        statuses.append(str(event.data["status"]))

            reading = asyncio.create_task(read())
            await client.subscribe(["ticker"], ["ETH-USD"])
            await until("the halt", lambda: "ETH-USD" in client.halted)
            with pytest.raises(MarketHaltedError):
                await client.order("ETH-USD", "buy", "0.0100", "3000.00")
            await until("trading again", lambda: "ETH-USD" not in client.halted)
            accepted = await client.order("ETH-USD", "buy", "0.0100", "3000.00")
            assert accepted.order_id.startswith("ETH-USD:")
            await events.aclose()
            reading.cancel()
            assert statuses[:2] == ["halted", "trading"]
    finally:
        stop(server)
