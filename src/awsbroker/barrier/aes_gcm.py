"""The AES-GCM barrier: a Storage that encrypts every value before it reaches physical storage.

Modelled on Vault's `vault/barrier_aes_gcm.go`. A stored value is

    term (4 bytes, big-endian) || version (1 byte) || nonce (12 bytes) || AES-256-GCM ciphertext

with the storage key as associated data, so a value copied to another key does not decrypt.
Keys (paths) are not encrypted. In physical storage:

    core/root-key   the root key, encrypted with the key-encryption key (the unseal key)
    core/keyring    the keyring, encrypted with the root key

Those two envelopes carry term 0: they are sealed by a key that is not a keyring term.

Several processes may share the physical store, each with its own copy of the keyring. A
rotation is a compare-and-set of `core/keyring` against the copy it extended, so two rotating
at once cannot both write a term 2; and a process that meets a term it does not know (another
rotated since) reads the keyring again before giving up on the value.

Sealing drops every reference to key material. CPython cannot promise the bytes are zeroed
(immutable `bytes`, and OpenSSL holds its own copy inside each AESGCM object until collected).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import struct
import threading
from collections.abc import Mapping
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from awsbroker.barrier.keyring import KEY_SIZE, Keyring
from awsbroker.sdk.clock import Clock, SystemClock
from awsbroker.sdk.errors import InternalError, InvalidRequest, NotInitialized, Sealed
from awsbroker.sdk.storage import Storage

ROOT_KEY_PATH = "core/root-key"
KEYRING_PATH = "core/keyring"
RESERVED_PATHS = frozenset({ROOT_KEY_PATH, KEYRING_PATH})

VERSION = 1
OUTSIDE_TERM = 0
MAX_TERM = 0xFFFFFFFF
NONCE_SIZE = 12
TAG_SIZE = 16
_HEADER = struct.Struct(">IB")
HEADER_SIZE = _HEADER.size + NONCE_SIZE


@dataclass(frozen=True)
class KeyStatus:
    """The active term, when it was installed, and encryptions under it since this unseal."""

    term: int
    install_time: float
    encryptions: int


class _EnvelopeError(Exception):
    """A stored value that cannot be opened. The message is fixed text, never data."""

    def __init__(self, reason: str, *, auth_failed: bool = False, unknown_term: int = 0) -> None:
        super().__init__(reason)
        self.auth_failed = auth_failed
        self.unknown_term = unknown_term


def seal_envelope(cipher: AESGCM, term: int, path: str, plaintext: bytes) -> bytes:
    """Encrypt `plaintext` for storage at `path` under `term`."""
    nonce = secrets.token_bytes(NONCE_SIZE)
    header = _HEADER.pack(term, VERSION) + nonce
    return header + cipher.encrypt(nonce, plaintext, path.encode())


def open_envelope(ciphers: Mapping[int, AESGCM], path: str, blob: bytes) -> bytes:
    """Decrypt a value stored at `path`; raises `_EnvelopeError` if it does not authenticate."""
    if len(blob) < HEADER_SIZE + TAG_SIZE:
        raise _EnvelopeError("the value is too short to be a barrier envelope")
    term, version = _HEADER.unpack_from(blob)
    if version != VERSION:
        raise _EnvelopeError(f"unknown barrier envelope version {version}")
    cipher = ciphers.get(term)
    if cipher is None:
        raise _EnvelopeError(f"no key for term {term}", unknown_term=term)
    nonce = blob[_HEADER.size : HEADER_SIZE]
    try:
        return cipher.decrypt(nonce, blob[HEADER_SIZE:], path.encode())
    except InvalidTag:
        raise _EnvelopeError("authentication failed", auth_failed=True) from None


class _Unsealed:
    """Everything the barrier knows while unsealed. Replaced whole, never mutated (but the
    encryption counter)."""

    def __init__(self, keyring: Keyring) -> None:
        self.keyring = keyring
        self.root_cipher = AESGCM(keyring.root_key)
        self.ciphers = {term: AESGCM(key.value) for term, key in keyring.keys.items()}
        self.active_term = keyring.active_term
        self.active_cipher = self.ciphers[self.active_term]
        self._count_lock = threading.Lock()
        self.encryptions = 0

    def count_encryption(self) -> None:
        with self._count_lock:
            self.encryptions += 1


class AESGCMBarrier:
    """A Storage over `physical` that encrypts values; usable only while unsealed."""

    def __init__(self, physical: Storage, clock: Clock | None = None) -> None:
        self._physical = physical
        self._clock: Clock = clock if clock is not None else SystemClock()
        self._lock = threading.RLock()
        self._state: _Unsealed | None = None

    def __repr__(self) -> str:
        return f"AESGCMBarrier(sealed={self.sealed})"

    # lifecycle

    def initialized(self) -> bool:
        return self._physical.get(KEYRING_PATH) is not None

    def initialize(self, kek: bytes) -> None:
        """Create the root key and keyring (term 1), sealed by `kek`. The barrier stays sealed."""
        if len(kek) != KEY_SIZE:
            raise ValueError("the key-encryption key must be 32 bytes")
        with self._lock:
            if self.initialized():
                raise InvalidRequest("Vault is already initialized")
            root_key = secrets.token_bytes(KEY_SIZE)
            keyring = Keyring.new(root_key, secrets.token_bytes(KEY_SIZE), self._clock.now())
            sealed_root = seal_envelope(AESGCM(kek), OUTSIDE_TERM, ROOT_KEY_PATH, root_key)
            self._physical.put(ROOT_KEY_PATH, sealed_root)
            self._write_keyring(AESGCM(root_key), keyring)

    def unseal(self, kek: bytes) -> None:
        """Open the root key with `kek`, then load the keyring. A no-op when already unsealed."""
        with self._lock:
            if self._state is not None:
                return
            if not self.initialized():
                raise NotInitialized()
            if len(kek) != KEY_SIZE:
                raise InvalidRequest("invalid unseal key: the combined key must be 32 bytes")
            root_key = self._open_physical(ROOT_KEY_PATH, AESGCM(kek), wrong_key_is_caller=True)
            _, keyring = self._stored_keyring(AESGCM(root_key))
            if not hmac.compare_digest(keyring.root_key, root_key):
                raise InternalError("the stored keyring does not match the root key")
            self._state = _Unsealed(keyring)

    def seal(self) -> None:
        """Forget all key material."""
        with self._lock:
            self._state = None

    @property
    def sealed(self) -> bool:
        return self._state is None

    def rotate(self) -> int:
        """Add a new term to the stored keyring and make it the active one; returns the new
        term. The stored keyring is extended (not this process's copy, which another process's
        rotation may have outdated) and written only if no other rotation got in first."""
        with self._lock:
            root_cipher = self._require().root_cipher
            while True:
                blob, stored = self._stored_keyring(root_cipher)
                if stored.active_term >= MAX_TERM:
                    raise InternalError("the keyring has reached the maximum term")
                keyring = stored.with_new_term(secrets.token_bytes(KEY_SIZE), self._clock.now())
                new_blob = _seal_keyring(root_cipher, keyring)
                if self._physical.compare_and_set(KEYRING_PATH, blob, new_blob):
                    self._state = _Unsealed(keyring)
                    return keyring.active_term

    # rekey (new key shares): the root key stays, sealed by a new KEK

    def root_key_digest(self, kek: bytes) -> str:
        """Check that `kek` opens the stored root key and that it is this process's root key;
        returns a digest of that stored envelope, for `replace_root_key` to check against.
        Raises InvalidRequest if the key does not open it (wrong or too few shares)."""
        with self._lock:
            state = self._require()
            if len(kek) != KEY_SIZE:
                raise InvalidRequest("invalid key: the combined key must be 32 bytes")
            blob = self._physical.get(ROOT_KEY_PATH)
            if blob is None:
                raise InternalError(f"{ROOT_KEY_PATH!r} is missing from storage")
            try:
                root_key = open_envelope({OUTSIDE_TERM: AESGCM(kek)}, ROOT_KEY_PATH, blob)
            except _EnvelopeError:
                raise InvalidRequest(
                    "root key verification failed: the key shares do not open the root key"
                ) from None
            if not hmac.compare_digest(root_key, state.keyring.root_key):
                raise InternalError("the stored root key is not the one this node holds")
            return envelope_digest(blob)

    def wrap_root_key(self, kek: bytes) -> bytes:
        """The root key sealed by `kek`, as `core/root-key` would hold it (not written)."""
        if len(kek) != KEY_SIZE:
            raise ValueError("the key-encryption key must be 32 bytes")
        state = self._require()
        return seal_envelope(AESGCM(kek), OUTSIDE_TERM, ROOT_KEY_PATH, state.keyring.root_key)

    def stored_root_key_digest(self) -> str:
        """The digest of the stored root key envelope ("" if there is none)."""
        blob = self._physical.get(ROOT_KEY_PATH)
        return "" if blob is None else envelope_digest(blob)

    def replace_root_key(self, expected_digest: str, new_blob: bytes) -> bool:
        """Write `new_blob` (from `wrap_root_key`) as the stored root key, only if the stored
        one is still the envelope `expected_digest` names. One compare-and-set: a crash leaves
        either the old envelope or the new one."""
        with self._lock:
            self._require()
            blob = self._physical.get(ROOT_KEY_PATH)
            if blob is None or not hmac.compare_digest(envelope_digest(blob), expected_digest):
                return False
            return self._physical.compare_and_set(ROOT_KEY_PATH, blob, new_blob)

    def reload_keyring(self) -> bool:
        """Take the stored keyring (another process may have rotated it). True if it differed
        from this process's copy."""
        with self._lock:
            state = self._require()
            _, stored = self._stored_keyring(state.root_cipher)
            if set(stored.keys) == set(state.keyring.keys):
                return False
            self._state = _Unsealed(stored)
            return True

    def key_status(self) -> KeyStatus:
        state = self._require()
        key = state.keyring.active_key
        return KeyStatus(key.term, key.install_time, state.encryptions)

    # Storage

    def get(self, key: str) -> bytes | None:
        state = self._require()
        _check_key(key)
        blob = self._physical.get(key)
        return None if blob is None else self._open(state, key, blob)

    def put(self, key: str, value: bytes) -> None:
        state = self._require()
        _check_key(key)
        self._physical.put(key, self._seal(state, key, value))

    def compare_and_set(self, key: str, expected: bytes | None, value: bytes | None) -> bool:
        """The physical compare-and-set, on plaintext: the stored value is decrypted and
        compared (in constant time) with `expected`, and the new ciphertext is written only if
        the stored ciphertext is still the one that was read."""
        state = self._require()
        _check_key(key)
        blob = self._physical.get(key)
        current = None if blob is None else self._open(state, key, blob)
        if current is None or expected is None:
            if current is not expected:
                return False
        elif not hmac.compare_digest(current, expected):
            return False
        new_blob = None if value is None else self._seal(state, key, value)
        return self._physical.compare_and_set(key, blob, new_blob)

    def delete(self, key: str) -> None:
        self._require()
        _check_key(key)
        self._physical.delete(key)

    def list(self, prefix: str) -> list[str]:
        self._require()
        return self._physical.list(prefix)

    # internals

    def _require(self) -> _Unsealed:
        state = self._state
        if state is None:
            raise Sealed()
        return state

    def _seal(self, state: _Unsealed, key: str, value: bytes) -> bytes:
        state.count_encryption()
        return seal_envelope(state.active_cipher, state.active_term, key, value)

    def _open(self, state: _Unsealed, key: str, blob: bytes) -> bytes:
        try:
            return open_envelope(state.ciphers, key, blob)
        except _EnvelopeError as exc:
            if exc.unknown_term > state.active_term and self.reload_keyring():
                return self._open(self._require(), key, blob)
            raise InternalError(f"could not decrypt the value at {key!r}: {exc}") from None

    def _stored_keyring(self, root_cipher: AESGCM) -> tuple[bytes, Keyring]:
        """The stored keyring's envelope and its contents."""
        blob = self._physical.get(KEYRING_PATH)
        if blob is None:
            raise InternalError(f"{KEYRING_PATH!r} is missing from storage")
        try:
            plain = open_envelope({OUTSIDE_TERM: root_cipher}, KEYRING_PATH, blob)
        except _EnvelopeError as exc:
            raise InternalError(f"could not decrypt {KEYRING_PATH!r}: {exc}") from None
        try:
            return blob, Keyring.deserialize(plain)
        except ValueError:
            raise InternalError("the stored keyring is malformed") from None

    def _write_keyring(self, root_cipher: AESGCM, keyring: Keyring) -> None:
        self._physical.put(KEYRING_PATH, _seal_keyring(root_cipher, keyring))

    def _open_physical(self, path: str, cipher: AESGCM, *, wrong_key_is_caller: bool) -> bytes:
        blob = self._physical.get(path)
        if blob is None:
            raise InternalError(f"{path!r} is missing from storage")
        try:
            return open_envelope({OUTSIDE_TERM: cipher}, path, blob)
        except _EnvelopeError as exc:
            if wrong_key_is_caller and exc.auth_failed:
                raise InvalidRequest("invalid unseal key: could not decrypt the root key") from None
            raise InternalError(f"could not decrypt {path!r}: {exc}") from None


def envelope_digest(blob: bytes) -> str:
    """A SHA-256 of a stored envelope (ciphertext: no secret in it), to name one version."""
    return hashlib.sha256(blob).hexdigest()


def _seal_keyring(root_cipher: AESGCM, keyring: Keyring) -> bytes:
    return seal_envelope(root_cipher, OUTSIDE_TERM, KEYRING_PATH, keyring.serialize())


def _check_key(key: str) -> None:
    if key in RESERVED_PATHS:
        raise ValueError(f"{key!r} is reserved for the barrier")
