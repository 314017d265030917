"""Durations as Vault reads them (seconds, numeric strings, Go durations) and Go's formatting."""

from __future__ import annotations

import pytest

from awsbroker.sdk.duration import MAX_SECONDS, format_duration, parse_duration


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        (0, 0),
        (90, 90),
        (1.9, 1),
        ("", 0),
        ("   ", 0),
        ("0", 0),
        ("+0", 0),
        ("3600", 3600),
        (" 42 ", 42),
        ("+15", 15),
        ("60s", 60),
        ("0s", 0),
        ("-0s", 0),
        ("1m", 60),
        ("1h", 3600),
        ("1h30m", 5400),
        ("768h0m0s", 2_764_800),
        ("1.5h", 5400),
        (".5m", 30),
        ("1d", 86400),
        ("1500ms", 1),
        ("999ms", 0),
        ("2000000us", 2),
        ("3000000000ns", 3),
        ("1µs", 0),
        ("1h1s", 3601),
    ],
)
def test_accepted_forms(value: object, seconds: int) -> None:
    assert parse_duration(value) == seconds


@pytest.mark.parametrize(
    "value",
    ["abc", "1x", "h", "1h x", "1hx", "1hx5s", "-", "+", "1.5", "1_000", "٣", "5 s", "s5"],
)
def test_malformed_strings_are_refused_with_a_hint(value: str) -> None:
    with pytest.raises(ValueError, match="invalid duration"):
        parse_duration(value)


@pytest.mark.parametrize("value", [-1, -0.5, "-5", "-1h"])
def test_negative_durations_are_refused(value: object) -> None:
    with pytest.raises(ValueError, match="cannot be negative"):
        parse_duration(value)


@pytest.mark.parametrize(
    "value",
    # Found by the OpenAPI fuzzer: a token created with such a TTL made every lookup of it 500
    # (its expiry did not fit a datetime).
    [
        *(MAX_SECONDS + 1, "9223372037", "2562048h", 1e300, float("inf"), float("nan")),
        "99999999d",
        # Integer strings past a float's range, and past Python's 4300 digits for an int.
        *("9" * 400, "+" + "9" * 5000, "0" * 5000 + "9" * 20),
    ],
)
def test_durations_past_gos_range_are_refused(value: object) -> None:
    with pytest.raises(ValueError, match="at most 9223372036 seconds"):
        parse_duration(value)


@pytest.mark.parametrize("value", ["-" + "9" * 400, "-" + "9" * 5000])
def test_huge_negative_integer_strings_are_negative(value: str) -> None:
    with pytest.raises(ValueError, match="cannot be negative"):
        parse_duration(value)


def test_leading_zeros_do_not_count() -> None:
    assert parse_duration("0" * 5000 + "90") == 90


def test_the_longest_duration() -> None:
    assert parse_duration(MAX_SECONDS) == parse_duration("2562047h47m16s") == MAX_SECONDS


@pytest.mark.parametrize("value", [True, False, None, [1], {"s": 1}])
def test_other_types_are_refused(value: object) -> None:
    with pytest.raises(ValueError, match="number of seconds"):
        parse_duration(value)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0s"),
        (5, "5s"),
        (60, "1m0s"),
        (61, "1m1s"),
        (120, "2m0s"),
        (3600, "1h0m0s"),
        (2_764_800, "768h0m0s"),
        (3661, "1h1m1s"),
        (-90, "-1m30s"),
    ],
)
def test_format_matches_go(seconds: int, text: str) -> None:
    assert format_duration(seconds) == text


@pytest.mark.parametrize("seconds", [0, 1, 59, 60, 3599, 3600, 86400, 2_764_800])
def test_format_then_parse_round_trips(seconds: int) -> None:
    assert parse_duration(format_duration(seconds)) == seconds
