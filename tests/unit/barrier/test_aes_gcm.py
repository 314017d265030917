"""The AES-GCM barrier: envelopes, AAD binding, keyring rotation, seal and unseal."""

from __future__ import annotations

import base64
import secrets
import struct
import threading

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from tests.support.threads import run_together

from awsbroker.barrier.aes_gcm import (
    HEADER_SIZE,
    KEYRING_PATH,
    MAX_TERM,
    OUTSIDE_TERM,
    ROOT_KEY_PATH,
    TAG_SIZE,
    VERSION,
    AESGCMBarrier,
    seal_envelope,
)
from awsbroker.barrier.keyring import Key, Keyring
from awsbroker.physical.inmem import InmemStorage
from awsbroker.sdk.clock import ManualClock
from awsbroker.sdk.errors import InternalError, InvalidRequest, NotInitialized, Sealed
from awsbroker.sdk.storage import list_recursive

PLAINTEXT = b"AKIA-very-secret-plaintext-1234567890"


@pytest.fixture
def physical() -> InmemStorage:
    return InmemStorage()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def kek() -> bytes:
    return secrets.token_bytes(32)


@pytest.fixture
def barrier(physical: InmemStorage, clock: ManualClock, kek: bytes) -> AESGCMBarrier:
    b = AESGCMBarrier(physical, clock=clock)
    b.initialize(kek)
    b.unseal(kek)
    return b


def _open_outside(physical: InmemStorage, path: str, key: bytes) -> bytes:
    """Decrypt a term-0 envelope by hand, independently of the barrier."""
    blob = physical.get(path)
    assert blob is not None
    assert blob[:5] == struct.pack(">IB", 0, VERSION)
    return AESGCM(key).decrypt(blob[5:HEADER_SIZE], blob[HEADER_SIZE:], path.encode())


def _all_physical(physical: InmemStorage) -> list[bytes]:
    values = [physical.get(key) for key in list_recursive(physical)]
    return [v for v in values if v is not None]


class TestLifecycle:
    def test_initialize_leaves_it_sealed(self, physical: InmemStorage, kek: bytes) -> None:
        b = AESGCMBarrier(physical)
        assert not b.initialized()
        assert b.sealed
        b.initialize(kek)
        assert b.initialized()
        assert b.sealed
        assert set(list_recursive(physical)) == {KEYRING_PATH, ROOT_KEY_PATH}

    def test_initialize_twice(self, barrier: AESGCMBarrier, kek: bytes) -> None:
        with pytest.raises(InvalidRequest, match="already initialized"):
            barrier.initialize(kek)

    def test_initialize_needs_a_32_byte_kek(self, physical: InmemStorage) -> None:
        with pytest.raises(ValueError, match="32 bytes"):
            AESGCMBarrier(physical).initialize(b"short")
        assert not AESGCMBarrier(physical).initialized()

    def test_unseal_before_initialize(self, physical: InmemStorage, kek: bytes) -> None:
        with pytest.raises(NotInitialized):
            AESGCMBarrier(physical).unseal(kek)

    def test_wrong_unseal_key(self, physical: InmemStorage, kek: bytes) -> None:
        b = AESGCMBarrier(physical)
        b.initialize(kek)
        wrong = secrets.token_bytes(32)
        with pytest.raises(InvalidRequest) as info:
            b.unseal(wrong)
        assert str(info.value) == "invalid unseal key: could not decrypt the root key"
        assert info.value.__suppress_context__
        assert wrong.hex() not in repr(info.value)
        assert kek.hex() not in repr(info.value)
        assert b.sealed
        b.unseal(kek)
        assert not b.sealed

    def test_wrong_length_unseal_key(self, physical: InmemStorage, kek: bytes) -> None:
        b = AESGCMBarrier(physical)
        b.initialize(kek)
        with pytest.raises(InvalidRequest, match="invalid unseal key"):
            b.unseal(kek + b"\x00")
        assert b.sealed

    def test_unseal_when_unsealed_is_a_noop(self, barrier: AESGCMBarrier) -> None:
        barrier.unseal(secrets.token_bytes(32))
        assert not barrier.sealed

    def test_sealed_operations_raise(self, barrier: AESGCMBarrier) -> None:
        barrier.put("a", b"1")
        barrier.seal()
        assert barrier.sealed
        for call in (
            lambda: barrier.get("a"),
            lambda: barrier.put("a", b"2"),
            lambda: barrier.delete("a"),
            lambda: barrier.list(""),
            barrier.rotate,
            barrier.key_status,
        ):
            with pytest.raises(Sealed):
                call()

    def test_reseal_and_unseal_keeps_data(self, barrier: AESGCMBarrier, kek: bytes) -> None:
        barrier.put("x/y", PLAINTEXT)
        barrier.seal()
        barrier.unseal(kek)
        assert barrier.get("x/y") == PLAINTEXT

    def test_a_second_instance_reads_the_same_storage(
        self, barrier: AESGCMBarrier, physical: InmemStorage, kek: bytes
    ) -> None:
        barrier.put("k", PLAINTEXT)
        other = AESGCMBarrier(physical)
        other.unseal(kek)
        assert other.get("k") == PLAINTEXT

    def test_repr_is_secret_free(self, barrier: AESGCMBarrier) -> None:
        assert repr(barrier) == "AESGCMBarrier(sealed=False)"


class TestStorage:
    def test_round_trip_and_passthrough(self, barrier: AESGCMBarrier) -> None:
        assert barrier.get("missing") is None
        barrier.put("a/b", PLAINTEXT)
        barrier.put("a/c/d", b"")
        assert barrier.get("a/b") == PLAINTEXT
        assert barrier.get("a/c/d") == b""
        assert barrier.list("a/") == ["b", "c/"]
        barrier.delete("a/b")
        assert barrier.get("a/b") is None
        barrier.delete("a/b")  # deleting nothing is fine

    def test_envelope_layout(self, barrier: AESGCMBarrier, physical: InmemStorage) -> None:
        barrier.put("k", PLAINTEXT)
        blob = physical.get("k")
        assert blob is not None
        assert blob[:5] == struct.pack(">IB", 1, VERSION)
        assert len(blob) == HEADER_SIZE + len(PLAINTEXT) + TAG_SIZE

    def test_fresh_nonce_per_write(self, barrier: AESGCMBarrier, physical: InmemStorage) -> None:
        barrier.put("k", PLAINTEXT)
        first = physical.get("k")
        barrier.put("k", PLAINTEXT)
        assert physical.get("k") != first

    def test_nothing_secret_reaches_physical(
        self, barrier: AESGCMBarrier, physical: InmemStorage, kek: bytes
    ) -> None:
        barrier.put("creds/one", PLAINTEXT)
        barrier.rotate()
        barrier.put("creds/two", PLAINTEXT * 3)
        root_key = _open_outside(physical, ROOT_KEY_PATH, kek)
        keyring = Keyring.deserialize(_open_outside(physical, KEYRING_PATH, root_key))
        secrets_ = [PLAINTEXT, kek, root_key, *(k.value for k in keyring.keys.values())]
        forms = [f for s in secrets_ for f in (s, s.hex().encode(), base64.b64encode(s))]
        for value in _all_physical(physical):
            for form in forms:
                assert form not in value

    def test_value_moved_to_another_key_fails(
        self, barrier: AESGCMBarrier, physical: InmemStorage
    ) -> None:
        barrier.put("a", PLAINTEXT)
        blob = physical.get("a")
        assert blob is not None
        physical.put("b", blob)
        with pytest.raises(InternalError, match="could not decrypt"):
            barrier.get("b")
        assert barrier.get("a") == PLAINTEXT

    @pytest.mark.parametrize(
        "mangle",
        [
            lambda b: b[:-1] + bytes([b[-1] ^ 1]),  # tag
            lambda b: b[:HEADER_SIZE] + bytes([b[HEADER_SIZE] ^ 1]) + b[HEADER_SIZE + 1 :],
            lambda b: b[:6] + bytes([b[6] ^ 1]) + b[7:],  # nonce
            lambda b: b[:10],  # truncated
            lambda b: struct.pack(">IB", 1, 9) + b[5:],  # unknown version
            lambda b: struct.pack(">IB", 7, VERSION) + b[5:],  # unknown term
            lambda b: struct.pack(">IB", 0, VERSION) + b[5:],  # the reserved term
        ],
    )
    def test_tampering_is_an_internal_error(
        self, barrier: AESGCMBarrier, physical: InmemStorage, mangle: object
    ) -> None:
        barrier.put("k", PLAINTEXT)
        blob = physical.get("k")
        assert blob is not None
        physical.put("k", mangle(blob))  # type: ignore[operator]
        with pytest.raises(InternalError) as info:
            barrier.get("k")
        assert PLAINTEXT.decode() not in str(info.value)

    def test_reserved_keys(self, barrier: AESGCMBarrier) -> None:
        for key in (KEYRING_PATH, ROOT_KEY_PATH):
            with pytest.raises(ValueError, match="reserved"):
                barrier.put(key, b"x")
            with pytest.raises(ValueError, match="reserved"):
                barrier.delete(key)
            with pytest.raises(ValueError, match="reserved"):
                barrier.get(key)


class TestRotation:
    def test_rotate_keeps_old_values_and_uses_new_term(
        self, barrier: AESGCMBarrier, physical: InmemStorage, clock: ManualClock, kek: bytes
    ) -> None:
        barrier.put("old", b"v1")
        clock.advance(60)
        assert barrier.rotate() == 2
        barrier.put("new", b"v2")
        old, new = physical.get("old"), physical.get("new")
        assert old is not None
        assert new is not None
        assert old[:4] == struct.pack(">I", 1)
        assert new[:4] == struct.pack(">I", 2)
        assert barrier.get("old") == b"v1"
        assert barrier.get("new") == b"v2"
        # the rotated keyring is persisted
        barrier.seal()
        barrier.unseal(kek)
        assert barrier.key_status().term == 2
        assert barrier.get("old") == b"v1"
        assert barrier.get("new") == b"v2"
        assert barrier.rotate() == 3

    def test_key_status(self, barrier: AESGCMBarrier, clock: ManualClock) -> None:
        status = barrier.key_status()
        assert (status.term, status.install_time, status.encryptions) == (1, clock.now(), 0)
        barrier.put("a", b"1")
        barrier.put("b", b"2")
        assert barrier.key_status().encryptions == 2
        clock.advance(10)
        barrier.rotate()
        status = barrier.key_status()
        assert (status.term, status.install_time, status.encryptions) == (2, clock.now(), 0)

    def test_tampered_keyring_fails_unseal(self, physical: InmemStorage, kek: bytes) -> None:
        b = AESGCMBarrier(physical)
        b.initialize(kek)
        blob = physical.get(KEYRING_PATH)
        assert blob is not None
        physical.put(KEYRING_PATH, blob[:-1] + bytes([blob[-1] ^ 1]))
        with pytest.raises(InternalError, match="core/keyring"):
            b.unseal(kek)
        assert b.sealed

    def test_malformed_keyring_fails_unseal(self, physical: InmemStorage, kek: bytes) -> None:
        AESGCMBarrier(physical).initialize(kek)
        root_key = _open_outside(physical, ROOT_KEY_PATH, kek)
        blob = seal_envelope(AESGCM(root_key), OUTSIDE_TERM, KEYRING_PATH, b"{}")
        physical.put(KEYRING_PATH, blob)
        with pytest.raises(InternalError, match="keyring is malformed"):
            AESGCMBarrier(physical).unseal(kek)

    def test_missing_root_key_fails_unseal(self, physical: InmemStorage, kek: bytes) -> None:
        AESGCMBarrier(physical).initialize(kek)
        physical.delete(ROOT_KEY_PATH)
        with pytest.raises(InternalError, match="missing"):
            AESGCMBarrier(physical).unseal(kek)

    def test_rotation_stops_at_the_maximum_term(self, physical: InmemStorage, kek: bytes) -> None:
        AESGCMBarrier(physical).initialize(kek)
        root_key = _open_outside(physical, ROOT_KEY_PATH, kek)
        last = Keyring(root_key, {MAX_TERM: Key(MAX_TERM, secrets.token_bytes(32), 0.0)})
        blob = seal_envelope(AESGCM(root_key), OUTSIDE_TERM, KEYRING_PATH, last.serialize())
        physical.put(KEYRING_PATH, blob)
        b = AESGCMBarrier(physical)
        b.unseal(kek)
        b.put("k", b"v")
        stored = physical.get("k")
        assert stored is not None
        assert stored[:4] == b"\xff\xff\xff\xff"
        assert b.get("k") == b"v"
        with pytest.raises(InternalError, match="maximum term"):
            b.rotate()

    def test_keyring_for_another_root_key_fails_unseal(self, kek: bytes) -> None:
        first, second = InmemStorage(), InmemStorage()
        AESGCMBarrier(first).initialize(kek)
        AESGCMBarrier(second).initialize(kek)
        keyring = second.get(KEYRING_PATH)
        assert keyring is not None
        first.put(KEYRING_PATH, keyring)
        with pytest.raises(InternalError):
            AESGCMBarrier(first).unseal(kek)

    def test_concurrent_writes_and_rotations(self, barrier: AESGCMBarrier) -> None:
        errors: list[BaseException] = []

        def writer(n: int) -> None:
            try:
                for i in range(50):
                    barrier.put(f"t{n}/{i}", f"{n}-{i}".encode())
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)

        threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
        for t in threads:
            t.start()
        for _ in range(5):
            barrier.rotate()
        for t in threads:
            t.join()
        assert not errors
        for n in range(4):
            for i in range(50):
                assert barrier.get(f"t{n}/{i}") == f"{n}-{i}".encode()
        assert barrier.key_status().term == 6


# ---- several processes on one physical store ----------------------------------------------


def _second(physical: InmemStorage, clock: ManualClock, kek: bytes) -> AESGCMBarrier:
    """Another process's barrier on the same store, unsealed with the same key."""
    other = AESGCMBarrier(physical, clock=clock)
    other.unseal(kek)
    return other


def test_a_term_rotated_elsewhere_is_loaded_when_met(
    barrier: AESGCMBarrier, physical: InmemStorage, clock: ManualClock, kek: bytes
) -> None:
    other = _second(physical, clock, kek)
    assert barrier.rotate() == 2
    barrier.put("written/after", PLAINTEXT)
    assert other.key_status().term == 1
    assert other.get("written/after") == PLAINTEXT
    assert other.key_status().term == 2
    other.put("written/by-other", b"x")
    assert physical.get("written/by-other")[:4] == struct.pack(">I", 2)  # type: ignore[index]


def test_an_unknown_term_that_storage_does_not_have_either_is_an_error(
    barrier: AESGCMBarrier, physical: InmemStorage
) -> None:
    barrier.put("k", PLAINTEXT)
    blob = physical.get("k")
    assert blob is not None
    physical.put("k", struct.pack(">I", 7) + blob[4:])
    with pytest.raises(InternalError, match="no key for term 7"):
        barrier.get("k")


def test_reload_keyring_reports_whether_it_changed(
    barrier: AESGCMBarrier, physical: InmemStorage, clock: ManualClock, kek: bytes
) -> None:
    other = _second(physical, clock, kek)
    assert other.reload_keyring() is False
    barrier.rotate()
    assert other.reload_keyring() is True
    assert other.key_status().term == 2


def test_rotations_on_two_processes_at_once_make_distinct_terms(
    barrier: AESGCMBarrier, physical: InmemStorage, clock: ManualClock, kek: bytes
) -> None:
    """Each rotation extends the stored keyring by compare-and-set, so two processes rotating
    together make terms 2 and 3 (never two different term-2 keys), and what each wrote under
    its new term stays readable everywhere."""
    others = [_second(physical, clock, kek) for _ in range(3)]
    barriers = [barrier, *others]
    terms: list[int] = []

    def rotate_and_write(n: int) -> None:
        terms.append(barriers[n].rotate())
        barriers[n].put(f"by/{n}", str(n).encode())

    run_together(len(barriers), rotate_and_write)
    assert sorted(terms) == [2, 3, 4, 5]
    fresh = _second(physical, clock, kek)
    assert fresh.key_status().term == 5
    for reader in [*barriers, fresh]:
        for n in range(len(barriers)):
            assert reader.get(f"by/{n}") == str(n).encode()
