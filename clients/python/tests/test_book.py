"""The pure parts: checksum and the local book."""

from __future__ import annotations

import zlib

from tickwire_client import OrderBook, book_checksum, checksum_string


def test_checksum_is_the_protocol_example() -> None:
    bids = [("64000.50", "1.2500"), ("64000.00", "0.5000")]
    asks = [("64001.00", "0.7500")]
    assert checksum_string(bids, asks) == "64000.50:1.2500,64000.00:0.5000|64001.00:0.7500"
    assert book_checksum(bids, asks) == 1801057275
    assert book_checksum([], []) == zlib.crc32(b"|")


def test_levels_sort_by_value_and_zero_removes() -> None:
    book = OrderBook()
    book.reset([["9.99", "1"], ["10.00", "2"]], [["100.00", "1"], ["10.01", "3"]])
    assert book.bids() == [("10.00", "2"), ("9.99", "1")]
    assert book.asks() == [("10.01", "3"), ("100.00", "1")]
    book.apply([["10.00", "0"], ["9.98", "0"]], [["10.02", "5"]])
    assert book.bids() == [("9.99", "1")]
    assert book.asks(2) == [("10.01", "3"), ("10.02", "5")]
    assert book.best_bid() == ("9.99", "1")
    assert book.equals([["9.99", "1"]], [["10.01", "3"], ["10.02", "5"], ["100.00", "1"]])


def test_checksum_covers_ten_levels_per_side() -> None:
    book = OrderBook()
    book.reset([[f"{100 - i}.00", "1"] for i in range(15)], [])
    expected = ",".join(f"{100 - i}.00:1" for i in range(10)) + "|"
    assert book.checksum() == zlib.crc32(expected.encode())
