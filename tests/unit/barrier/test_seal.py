"""The Shamir seal: init validation, unseal progress, reset, nonce, key decoding."""

from __future__ import annotations

import base64
import contextlib
import itertools
import json
import uuid

import pytest
from tests.support.threads import run_together

from awsbroker.barrier.aes_gcm import AESGCMBarrier
from awsbroker.barrier.seal import (
    INIT_CLAIM_HOLD,
    INIT_CLAIM_PATH,
    SEAL_CONFIG_PATH,
    SealStatus,
    ShamirSeal,
    decode_key_share,
)
from awsbroker.physical.inmem import InmemStorage
from awsbroker.sdk.clock import ManualClock
from awsbroker.sdk.errors import InternalError, InvalidRequest, NotInitialized


def _seal() -> tuple[ShamirSeal, AESGCMBarrier, InmemStorage]:
    physical = InmemStorage()
    barrier = AESGCMBarrier(physical)
    return ShamirSeal(barrier, physical), barrier, physical


@pytest.fixture
def seal() -> ShamirSeal:
    return _seal()[0]


class TestInitialize:
    @pytest.mark.parametrize(
        ("shares", "threshold", "problem"),
        [
            (0, 1, "shares must be at least one"),
            (-3, 1, "shares must be at least one"),
            (3, 0, "threshold must be at least one"),
            (5, 1, "threshold must be greater than one for multiple shares"),
            (256, 3, "shares must be less than 256"),
            (255, 256, "threshold must be less than 256"),
            (3, 4, "threshold cannot be larger than shares"),
            (1, 2, "threshold cannot be larger than shares"),
        ],
    )
    def test_validation(self, seal: ShamirSeal, shares: int, threshold: int, problem: str) -> None:
        with pytest.raises(InvalidRequest) as info:
            seal.initialize(shares, threshold)
        assert info.value.messages == [f"invalid seal configuration: {problem}"]
        assert not seal.initialized()

    def test_initialize(self) -> None:
        seal, barrier, physical = _seal()
        assert seal.status() == SealStatus(False, True, 0, 0, 0, "")
        shares = seal.initialize(5, 3)
        assert len(shares) == 5
        assert all(len(s) == 33 for s in shares)
        assert len({s[-1] for s in shares}) == 5
        assert seal.initialized()
        assert barrier.sealed
        raw = physical.get(SEAL_CONFIG_PATH)
        assert raw is not None
        assert json.loads(raw) == {"type": "shamir", "secret_shares": 5, "secret_threshold": 3}
        assert seal.status() == SealStatus(True, True, 3, 5, 0, "")

    def test_already_initialized(self, seal: ShamirSeal) -> None:
        seal.initialize(1, 1)
        with pytest.raises(InvalidRequest, match=r"^Vault is already initialized$"):
            seal.initialize(3, 2)
        config = seal.config()
        assert config is not None
        assert (config.secret_shares, config.secret_threshold) == (1, 1)

    def test_a_crashed_init_can_be_retried(self) -> None:
        seal, _, physical = _seal()
        physical.put(SEAL_CONFIG_PATH, b'{"secret_shares": 9, "secret_threshold": 9}')
        assert not seal.initialized()
        seal.initialize(2, 2)
        assert seal.status().n == 2

    def test_of_nodes_initializing_at_once_one_goes_on(self) -> None:
        """Another node (a seal on the same storage) claimed the initialisation a moment ago:
        this one is refused, and what the other writes is not mixed with its keys."""
        physical, clock = InmemStorage(), ManualClock()
        first = ShamirSeal(AESGCMBarrier(physical), physical, clock)
        second = ShamirSeal(AESGCMBarrier(physical), physical, clock)
        physical.put(INIT_CLAIM_PATH, json.dumps({"at": clock.now(), "by": "other"}).encode())
        with pytest.raises(InvalidRequest, match="another node is initializing this storage"):
            second.initialize(1, 1)
        assert physical.get(SEAL_CONFIG_PATH) is None
        clock.advance(INIT_CLAIM_HOLD + 1)  # the other died while initialising
        shares = first.initialize(1, 1)
        with pytest.raises(InvalidRequest, match=r"^Vault is already initialized$"):
            second.initialize(1, 1)
        first.submit(shares[0])
        assert not first.status().sealed

    def test_nodes_racing_to_initialize_leave_one_working_storage(self) -> None:
        physical, clock = InmemStorage(), ManualClock()
        seals = [ShamirSeal(AESGCMBarrier(physical), physical, clock) for _ in range(4)]
        shares: list[list[bytes]] = []

        def init(n: int) -> None:
            with contextlib.suppress(InvalidRequest):
                shares.append(seals[n].initialize(1, 1))

        run_together(len(seals), init)
        assert len(shares) == 1
        fresh = ShamirSeal(AESGCMBarrier(physical), physical, clock)
        fresh.submit(shares[0][0])
        assert not fresh.status().sealed

    def test_malformed_config(self) -> None:
        seal, _, physical = _seal()
        seal.initialize(1, 1)
        physical.put(SEAL_CONFIG_PATH, b'{"secret_shares": "many"}')
        with pytest.raises(InternalError, match="seal configuration is malformed"):
            seal.status()

    def test_validation_comes_before_the_initialized_check(self, seal: ShamirSeal) -> None:
        seal.initialize(1, 1)
        with pytest.raises(InvalidRequest, match="invalid seal configuration"):
            seal.initialize(0, 0)


class TestUnseal:
    def test_dev_mode_single_share(self, seal: ShamirSeal) -> None:
        (key,) = seal.initialize(1, 1)
        assert len(key) == 32
        status = seal.submit(key)
        assert status == SealStatus(True, False, 1, 1, 0, "")

    def test_progress_nonce_and_unseal(self) -> None:
        seal, barrier, _ = _seal()
        shares = seal.initialize(5, 3)
        first = seal.submit(shares[4])
        assert (first.sealed, first.progress) == (True, 1)
        assert uuid.UUID(first.nonce)
        second = seal.submit(shares[0])
        assert (second.progress, second.nonce) == (2, first.nonce)
        assert seal.status() == second
        done = seal.submit(shares[2])
        assert done == SealStatus(True, False, 3, 5, 0, "")
        assert not barrier.sealed
        barrier.put("k", b"v")
        assert barrier.get("k") == b"v"

    def test_every_threshold_subset_unseals(self) -> None:
        seal, barrier, _ = _seal()
        shares = seal.initialize(4, 3)
        for subset in itertools.permutations(shares, 3):
            seal.seal()
            for share in subset:
                seal.submit(share)
            assert not barrier.sealed

    def test_repeated_share_does_not_advance(self, seal: ShamirSeal) -> None:
        shares = seal.initialize(3, 2)
        nonce = seal.submit(shares[0]).nonce
        again = seal.submit(bytes(shares[0]))
        assert (again.progress, again.nonce, again.sealed) == (1, nonce, True)
        assert not seal.submit(shares[1]).sealed

    def test_new_round_gets_a_new_nonce(self, seal: ShamirSeal) -> None:
        shares = seal.initialize(3, 2)
        nonce = seal.submit(shares[0]).nonce
        seal.reset()
        assert seal.status().progress == 0
        assert seal.status().nonce == ""
        assert seal.submit(shares[0]).nonce not in ("", nonce)

    def test_wrong_shares_reset_progress(self) -> None:
        seal, barrier, _ = _seal()
        shares = seal.initialize(3, 2)
        foreign = _seal()[0].initialize(3, 2)
        seal.submit(shares[0])
        with pytest.raises(InvalidRequest, match="invalid unseal key") as info:
            seal.submit(foreign[1] if foreign[1][-1] != shares[0][-1] else foreign[2])
        for share in (*shares, *foreign):
            assert share.hex() not in str(info.value)
        assert barrier.sealed
        assert seal.status().progress == 0
        assert seal.status().nonce == ""
        seal.submit(shares[1])
        assert not seal.submit(shares[2]).sealed

    def test_duplicate_x_with_different_y(self, seal: ShamirSeal) -> None:
        shares = seal.initialize(3, 2)
        forged = bytes([shares[0][0] ^ 1]) + shares[0][1:]
        seal.submit(shares[0])
        with pytest.raises(InvalidRequest, match="failed to compute combined key"):
            seal.submit(forged)
        assert seal.status().progress == 0

    def test_unequal_share_lengths(self, seal: ShamirSeal) -> None:
        shares = seal.initialize(3, 2)
        seal.submit(shares[0])
        with pytest.raises(InvalidRequest, match="length differs"):
            seal.submit(shares[1][:-2] + shares[1][-1:])
        assert seal.status().progress == 0

    def test_key_length_bounds(self, seal: ShamirSeal) -> None:
        shares = seal.initialize(3, 2)
        seal.submit(shares[0])
        with pytest.raises(InvalidRequest, match="shorter than minimum 16 bytes"):
            seal.submit(b"x" * 15)
        with pytest.raises(InvalidRequest, match="longer than maximum 33 bytes"):
            seal.submit(b"x" * 34)
        assert seal.status().progress == 1

    def test_wrong_single_key(self, seal: ShamirSeal) -> None:
        (key,) = seal.initialize(1, 1)
        with pytest.raises(InvalidRequest, match="invalid unseal key"):
            seal.submit(bytes(b ^ 0xFF for b in key))
        assert seal.status().sealed
        assert not seal.submit(key).sealed

    def test_submit_when_unsealed_returns_status(self, seal: ShamirSeal) -> None:
        (key,) = seal.initialize(1, 1)
        seal.submit(key)
        assert seal.submit(b"garbage") == SealStatus(True, False, 1, 1, 0, "")

    def test_reset_when_unsealed(self, seal: ShamirSeal) -> None:
        (key,) = seal.initialize(1, 1)
        seal.submit(key)
        with pytest.raises(InvalidRequest, match=r"^vault is unsealed$"):
            seal.reset()

    def test_seal_clears_progress(self) -> None:
        seal, barrier, _ = _seal()
        shares = seal.initialize(3, 3)
        for share in shares:
            seal.submit(share)
        seal.seal()
        assert barrier.sealed
        seal.submit(shares[0])
        seal.seal()
        assert seal.status() == SealStatus(True, True, 3, 3, 0, "")

    def test_not_initialized(self, seal: ShamirSeal) -> None:
        with pytest.raises(NotInitialized):
            seal.submit(b"x" * 33)
        with pytest.raises(NotInitialized):
            seal.reset()

    def test_repr_shows_no_shares(self, seal: ShamirSeal) -> None:
        shares = seal.initialize(3, 2)
        seal.submit(shares[0])
        assert repr(seal) == "ShamirSeal(progress=1)"


class TestDecodeKeyShare:
    def test_hex(self) -> None:
        raw = bytes(range(33))
        assert decode_key_share(raw.hex()) == raw
        assert decode_key_share(raw.hex().upper()) == raw

    def test_base64(self) -> None:
        raw = bytes(range(200, 233))
        assert decode_key_share(base64.b64encode(raw).decode()) == raw

    def test_hex_of_an_implausible_length_is_read_as_base64(self) -> None:
        # "abcd" is valid hex (2 bytes, too short for a key), so Vault reads it as base64
        assert decode_key_share("abcd") == base64.b64decode("abcd")
        long_hex = "00" * 40
        assert decode_key_share(long_hex) == base64.b64decode(long_hex)

    @pytest.mark.parametrize("text", ["not a key!", "abc", "gg" * 16 + "?", "é" * 4, "YWJj\n"])
    def test_neither(self, text: str) -> None:
        with pytest.raises(InvalidRequest) as info:
            decode_key_share(text)
        assert info.value.messages == ["'key' must be a valid hex or base64 string"]
