"""Shamir secret sharing over GF(2^8), compatible with Vault's `shamir` package.

Each share is `len(secret)` y-bytes followed by one x-coordinate byte. The x-coordinates are
distinct, random and non-zero. Arithmetic uses log/exp tables for the AES field (polynomial
0x11b, generator 3), as older Vault releases did.

Side channels: the zero cases of multiply/divide are masked without branches, as Vault does
with `subtle.ConstantTimeSelect`, but table lookups are data-dependent memory accesses and
CPython itself gives no timing guarantees. Treat this as constant-time-ish, not constant-time.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence

MAX_PARTS = 255
SHARE_OVERHEAD = 1  # the trailing x-coordinate byte

RandFunc = Callable[[int], bytes]


def _build_tables() -> tuple[tuple[int, ...], tuple[int, ...]]:
    exp = [0] * 255
    log = [0] * 256  # log[0] is a placeholder; zero is masked out by the callers
    value = 1
    for power in range(255):
        exp[power] = value
        log[value] = power
        doubled = (value << 1) ^ (0x11B if value & 0x80 else 0)
        value = doubled ^ value  # multiply by the generator 3 = x + 1
    return tuple(exp), tuple(log)


EXP_TABLE, LOG_TABLE = _build_tables()


def _nonzero(a: int) -> int:
    """1 if 0 < a < 256 else 0, without a branch."""
    return ((a | -a) >> 8) & 1


def add(a: int, b: int) -> int:
    """Addition (and subtraction) in GF(2^8)."""
    return a ^ b


def mult(a: int, b: int) -> int:
    """Multiplication in GF(2^8)."""
    product = EXP_TABLE[(LOG_TABLE[a] + LOG_TABLE[b]) % 255]
    return product & -(_nonzero(a) & _nonzero(b))


def div(a: int, b: int) -> int:
    """Division in GF(2^8); `b` must be non-zero."""
    if b == 0:
        raise ZeroDivisionError("division by zero in GF(2^8)")
    quotient = EXP_TABLE[(LOG_TABLE[a] - LOG_TABLE[b] + 255) % 255]
    return quotient & -_nonzero(a)


def _evaluate(coefficients: Sequence[int], x: int) -> int:
    """Horner evaluation of the polynomial at x (coefficients[0] is the intercept)."""
    out = coefficients[-1]
    for coefficient in reversed(coefficients[:-1]):
        out = add(mult(out, x), coefficient)
    return out


def _interpolate_at_zero(xs: Sequence[int], ys: Sequence[int]) -> int:
    """Lagrange interpolation of the samples, evaluated at x = 0."""
    result = 0
    for i, x_i in enumerate(xs):
        basis = 1
        for j, x_j in enumerate(xs):
            if i != j:
                basis = mult(basis, div(x_j, add(x_i, x_j)))
        result = add(result, mult(ys[i], basis))
    return result


def _uniform_below(bound: int, rand: RandFunc) -> int:
    """An unbiased random integer in [0, bound) for bound <= 256, by rejection sampling."""
    limit = 256 - 256 % bound
    while True:
        byte = rand(1)[0]
        if byte < limit:
            return byte % bound


def _x_coordinates(parts: int, rand: RandFunc) -> list[int]:
    """`parts` distinct random values in 1..255 (a partial Fisher-Yates shuffle)."""
    pool = list(range(1, MAX_PARTS + 1))
    for i in range(parts):
        j = i + _uniform_below(MAX_PARTS - i, rand)
        pool[i], pool[j] = pool[j], pool[i]
    return pool[:parts]


def split(
    secret: bytes, parts: int, threshold: int, rand: RandFunc = secrets.token_bytes
) -> list[bytes]:
    """Split `secret` into `parts` shares, any `threshold` of which recover it.

    With parts == threshold == 1 the secret is returned unsplit, as Vault does for a single
    unseal key.
    """
    if not 1 <= parts <= MAX_PARTS:
        raise ValueError("parts must be between 1 and 255")
    if not 1 <= threshold <= MAX_PARTS:
        raise ValueError("threshold must be between 1 and 255")
    if threshold > parts:
        raise ValueError("parts cannot be less than threshold")
    if not secret:
        raise ValueError("cannot split an empty secret")
    if parts == 1:
        return [bytes(secret)]
    if threshold < 2:
        raise ValueError("threshold must be at least 2 for multiple parts")

    xs = _x_coordinates(parts, rand)
    outs = [bytearray(len(secret) + SHARE_OVERHEAD) for _ in range(parts)]
    for out, x in zip(outs, xs, strict=True):
        out[-1] = x
    for index, byte in enumerate(secret):
        coefficients = [byte, *rand(threshold - 1)]
        for out, x in zip(outs, xs, strict=True):
            out[index] = _evaluate(coefficients, x)
    return [bytes(out) for out in outs]


def combine(shares: Sequence[bytes]) -> bytes:
    """Recover the secret from shares made by `split`.

    A single share is taken to be an unsplit secret (parts == threshold == 1) and is returned
    as is. Fewer shares than the threshold yield a wrong secret, not an error: the caller must
    verify the result (the barrier does, by decrypting the root key).
    """
    if not shares:
        raise ValueError("no shares to combine")
    if len(shares) == 1:
        return bytes(shares[0])
    length = len(shares[0])
    if length < 2:
        raise ValueError("parts must be at least two bytes")
    if any(len(share) != length for share in shares):
        raise ValueError("all parts must be the same length")
    xs = [share[-1] for share in shares]
    if len(set(xs)) != len(xs):
        raise ValueError("duplicate part detected")
    if 0 in xs:
        raise ValueError("a part has an invalid x-coordinate of zero")
    secret = bytearray(length - SHARE_OVERHEAD)
    for index in range(len(secret)):
        secret[index] = _interpolate_at_zero(xs, [share[index] for share in shares])
    return bytes(secret)
