"""Counts in words: "1 face", "2 faces", "1,204 faces" (issue 24 item 5: the Gallery said "1 faces")."""
from __future__ import annotations


def count(n: int, noun: str, plural: str | None = None) -> str:
    """`n` with thousands separators and the noun in the singular for exactly one, else the plural
    (`plural`, default noun + "s")."""
    n = int(n)
    return f"{n:,} {noun if n == 1 else (plural or noun + 's')}"
