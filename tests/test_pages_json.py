"""``_pages.dumps``: the C encoder's fast path writes exactly the text of the Decimal-aware walk
(content ids of provider rows are hashes of it: a changed byte would make a re-import of the same
page look new)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from usagectl.importers import _pages

_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=12),
    st.decimals(allow_nan=False, allow_infinity=False, places=6),
)
_values = st.recursive(
    _scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=6), inner, max_size=4)),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(_values)
def test_dumps_writes_the_text_of_the_walk(value: Any) -> None:
    assert _pages.dumps(value) == _pages._dumps(value)


def test_dumps_keeps_decimals_as_read_and_non_ascii_as_is() -> None:
    row = {"amount": {"value": Decimal("0.30000000000000004"), "currency": "usd"}, "name": "Zoë", "n": [1, None]}
    assert _pages.dumps(row) == '{"amount":{"value":0.30000000000000004,"currency":"usd"},"name":"Zoë","n":[1,null]}'
    assert _pages.dumps({"a": 1, "b": "x"}) == '{"a":1,"b":"x"}'  # the fast path, same shape


def test_dumps_of_a_value_nested_too_deeply_is_a_note() -> None:
    deep: Any = 1
    for _ in range(5000):
        deep = [deep]
    assert _pages.dumps(deep) == '"(nested too deeply to show)"'
