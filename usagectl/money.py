"""Rounding money so that the rounded parts add up to a rounded total exactly."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_FLOOR, Decimal

MICRO = Decimal("0.000001")  # the displayed quantum of report money
CENT = Decimal("0.01")


def round_to_total(exacts: Sequence[Decimal], target: Decimal, quantum: Decimal = MICRO) -> list[Decimal]:
    """Round each exact amount to ``quantum`` so the rounded amounts add up to ``target`` EXACTLY.

    Largest remainder: each amount is rounded down, then the quanta still missing from
    ``target`` (the rounded sum of the exact amounts) go one each to the largest remainders,
    ties to the earlier position (too many quanta come off the smallest remainders first).
    Rounding each amount on its own would not do: $2.5e-6 three times rounds to 0.000002 each
    (0.000006) but to 0.000008 in all. 0.0000025 x 3 against 0.000008 -> 0.000003, 0.000003,
    0.000002. Used for report sections at $0.000001 and invoice lines at $0.01.
    """
    floors = [e.quantize(quantum, rounding=ROUND_FLOOR) for e in exacts]
    if not floors:
        return floors
    rest = [e - f for e, f in zip(exacts, floors, strict=True)]
    missing = int((target - sum(floors, Decimal(0))) / quantum)
    order = sorted(range(len(floors)), key=lambda i: (-rest[i], i))
    if missing < 0:
        order.reverse()
    for k in range(abs(missing)):
        floors[order[k % len(order)]] += quantum if missing > 0 else -quantum
    return floors
