"""Shamir secret sharing over GF(2^8)."""

from __future__ import annotations

import itertools
import random
import secrets
from collections.abc import Callable

import pytest

from awsbroker.barrier import shamir


def _reference_mult(a: int, b: int) -> int:
    """Vault's bitwise GF(2^8) multiply (shamir.go `mult`), as an independent reference."""
    r = 0
    for i in range(7, -1, -1):
        r = ((-((b >> i) & 1) & a) ^ (-(r >> 7) & 0x1B) ^ (r + r)) & 0xFF
    return r


def _seeded_rand(seed: float) -> Callable[[int], bytes]:
    rng = random.Random(seed)
    return lambda n: bytes(rng.getrandbits(8) for _ in range(n))


class TestField:
    def test_tables_are_a_bijection(self) -> None:
        assert sorted(shamir.EXP_TABLE) == list(range(1, 256))
        for power, value in enumerate(shamir.EXP_TABLE):
            assert shamir.LOG_TABLE[value] == power

    def test_mult_matches_vault_bitwise_mult_everywhere(self) -> None:
        for a in range(256):
            for b in range(256):
                assert shamir.mult(a, b) == _reference_mult(a, b), (a, b)

    def test_div_inverts_mult(self) -> None:
        for a in range(256):
            for b in range(1, 256):
                assert shamir.div(shamir.mult(a, b), b) == a

    def test_div_by_zero(self) -> None:
        with pytest.raises(ZeroDivisionError):
            shamir.div(7, 0)

    def test_add_is_xor(self) -> None:
        assert shamir.add(0x53, 0xCA) == 0x53 ^ 0xCA


class TestSplit:
    @pytest.mark.parametrize(
        ("parts", "threshold"),
        [(2, 2), (3, 2), (3, 3), (5, 3), (6, 4), (10, 2), (10, 10), (16, 7)],
    )
    def test_every_threshold_subset_recovers(self, parts: int, threshold: int) -> None:
        secret = secrets.token_bytes(32)
        shares = shamir.split(secret, parts, threshold)
        assert len(shares) == parts
        subsets = list(itertools.combinations(shares, threshold))
        random.Random(parts * 1000 + threshold).shuffle(subsets)
        for subset in subsets[:40]:
            assert shamir.combine(list(subset)) == secret
        # more than the threshold also works
        assert shamir.combine(shares) == secret

    @pytest.mark.parametrize(("parts", "threshold"), [(3, 2), (5, 3), (10, 10), (7, 5)])
    def test_fewer_than_threshold_do_not_recover(self, parts: int, threshold: int) -> None:
        secret = secrets.token_bytes(32)
        shares = shamir.split(secret, parts, threshold)
        # (a lone share is read as an unsplit secret, which is still not the secret)
        for subset in itertools.combinations(shares, threshold - 1):
            assert shamir.combine(list(subset)) != secret

    def test_random_combos(self) -> None:
        rng = random.Random(1234)
        for _ in range(60):
            parts = rng.randint(2, 40)
            threshold = rng.randint(2, parts)
            secret = bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 40)))
            shares = shamir.split(secret, parts, threshold, rand=_seeded_rand(rng.random()))
            chosen = rng.sample(shares, rng.randint(threshold, parts))
            assert shamir.combine(chosen) == secret

    def test_maximum_parts(self) -> None:
        secret = b"\x00\xff\x10"
        shares = shamir.split(secret, 255, 255)
        assert sorted(s[-1] for s in shares) == list(range(1, 256))
        assert shamir.combine(shares) == secret
        two = shamir.split(secret, 255, 2)
        assert shamir.combine([two[17], two[200]]) == secret

    def test_share_layout(self) -> None:
        secret = secrets.token_bytes(32)
        shares = shamir.split(secret, 8, 3)
        xs = [share[-1] for share in shares]
        assert all(len(share) == len(secret) + shamir.SHARE_OVERHEAD for share in shares)
        assert len(set(xs)) == len(xs)
        assert 0 not in xs

    def test_degree_one_polynomial_by_hand(self) -> None:
        # With a fixed random source the share is y = s + a1 * x, computed independently.
        stream = iter(range(256))
        rand_bytes = lambda n: bytes(next(stream) for _ in range(n))  # noqa: E731
        shares = shamir.split(b"\x2a", 2, 2, rand=rand_bytes)
        # x-coordinates come from a Fisher-Yates draw: bytes 0 and 1 -> x = 1, then x = 3
        assert [s[-1] for s in shares] == [1, 3]
        coefficient = 2  # the next byte from the stream
        for share in shares:
            assert share[0] == 0x2A ^ _reference_mult(coefficient, share[-1])

    def test_deterministic_with_injected_rand(self) -> None:
        a = shamir.split(b"secret", 5, 3, rand=_seeded_rand(7))
        b = shamir.split(b"secret", 5, 3, rand=_seeded_rand(7))
        assert a == b

    def test_single_part_is_the_secret_unsplit(self) -> None:
        secret = secrets.token_bytes(32)
        assert shamir.split(secret, 1, 1) == [secret]
        assert shamir.combine([secret]) == secret

    @pytest.mark.parametrize(
        ("parts", "threshold", "message"),
        [
            (0, 1, "parts must be between 1 and 255"),
            (256, 2, "parts must be between 1 and 255"),
            (3, 0, "threshold must be between 1 and 255"),
            (2, 3, "parts cannot be less than threshold"),
            (3, 1, "threshold must be at least 2"),
        ],
    )
    def test_validation(self, parts: int, threshold: int, message: str) -> None:
        with pytest.raises(ValueError, match=message):
            shamir.split(b"secret", parts, threshold)

    def test_empty_secret(self) -> None:
        with pytest.raises(ValueError, match="empty secret"):
            shamir.split(b"", 3, 2)


class TestCombine:
    def test_no_shares(self) -> None:
        with pytest.raises(ValueError, match="no shares"):
            shamir.combine([])

    def test_unequal_lengths(self) -> None:
        shares = shamir.split(b"secret", 3, 2)
        with pytest.raises(ValueError, match="same length"):
            shamir.combine([shares[0], shares[1] + b"\x01"])

    def test_duplicate_x(self) -> None:
        shares = shamir.split(b"secret", 3, 2)
        forged = bytes([shares[0][0] ^ 1]) + shares[0][1:]
        with pytest.raises(ValueError, match="duplicate part"):
            shamir.combine([shares[0], forged])

    def test_too_short(self) -> None:
        with pytest.raises(ValueError, match="at least two bytes"):
            shamir.combine([b"\x01", b"\x02"])

    def test_zero_x_rejected(self) -> None:
        with pytest.raises(ValueError, match="x-coordinate"):
            shamir.combine([b"\x05\x00", b"\x06\x01"])
