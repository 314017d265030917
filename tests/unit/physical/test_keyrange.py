from __future__ import annotations

import pytest

from awsbroker.physical._keyrange import prefix_upper_bound


@pytest.mark.parametrize(
    ("prefix", "bound"),
    [
        ("", None),
        ("a/", "a0"),
        ("a", "b"),
        ("é/", "é0"),
        ("x\ud7ff", "x\ue000"),
        ("x\U0010ffff", "y"),
        ("x\U0010ffff\U0010ffff", "y"),
        ("\U0010ffff", None),
    ],
)
def test_prefix_upper_bound(prefix: str, bound: str | None) -> None:
    assert prefix_upper_bound(prefix) == bound


@pytest.mark.parametrize("prefix", ["a/", "a/b", "z\U0010ffff", "🔑/", "\ud7ff"])
def test_every_extension_sorts_inside_the_range(prefix: str) -> None:
    bound = prefix_upper_bound(prefix)
    assert bound is not None
    for tail in ["", "\x00", "/", "zzz", "\U0010ffff", "\U0010ffff" * 3]:
        assert prefix <= prefix + tail < bound
