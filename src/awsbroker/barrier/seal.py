"""The Shamir seal: initialisation and unseal progress, as Vault's `sys/init` and `sys/unseal`.

`initialize` makes a random key-encryption key (KEK), initialises the barrier with it and
splits it into shares; the barrier stays sealed. `submit` collects shares until the threshold
is met, then combines them and unseals the barrier. The seal configuration (shares and
threshold) is not secret and is stored as plain JSON at `core/seal-config`.

Several nodes may share the storage, and initialisation writes several records: a node claims
it first (`core/init-claim`, by compare-and-set), so of nodes initialising at once one goes on
and the others are refused. A claim older than `INIT_CLAIM_HOLD` was left by a process that
died while initialising, and may be taken over.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import secrets
import threading
import uuid
from dataclasses import dataclass

from awsbroker.barrier import shamir
from awsbroker.barrier.aes_gcm import AESGCMBarrier, envelope_digest
from awsbroker.barrier.keyring import KEY_SIZE
from awsbroker.sdk.clock import Clock, SystemClock
from awsbroker.sdk.errors import InternalError, InvalidRequest, NotInitialized
from awsbroker.sdk.storage import Storage

SEAL_CONFIG_PATH = "core/seal-config"
INIT_CLAIM_PATH = "core/init-claim"
INIT_CLAIM_HOLD = 60.0  # seconds; initialising takes milliseconds
# What the seal keeps in the physical store in plain text (not secret; read while sealed).
PLAIN_PATHS = frozenset({SEAL_CONFIG_PATH, INIT_CLAIM_PATH})
CLAIMED_ELSEWHERE = (
    "another node is initializing this storage; if none is, one stopped while initializing: "
    f"try again in {int(INIT_CLAIM_HOLD)} seconds"
)
MIN_KEY_LENGTH = 16  # Vault's barrier key length bounds, plus the share's x-coordinate byte
MAX_KEY_LENGTH = KEY_SIZE + shamir.SHARE_OVERHEAD


@dataclass(frozen=True)
class SealConfig:
    secret_shares: int
    secret_threshold: int


@dataclass(frozen=True)
class SealStatus:
    """What `sys/seal-status` reports. `nonce` is "" when no unseal is in progress."""

    initialized: bool
    sealed: bool
    t: int
    n: int
    progress: int
    nonce: str


def validate_config(shares: int, threshold: int) -> None:
    """Vault's `SealConfig.Validate`, with its messages."""
    problem = None
    if shares < 1:
        problem = "shares must be at least one"
    elif threshold < 1:
        problem = "threshold must be at least one"
    elif shares > 1 and threshold == 1:
        problem = "threshold must be greater than one for multiple shares"
    elif shares > shamir.MAX_PARTS:
        problem = "shares must be less than 256"
    elif threshold > shamir.MAX_PARTS:
        problem = "threshold must be less than 256"
    elif threshold > shares:
        problem = "threshold cannot be larger than shares"
    if problem is not None:
        raise InvalidRequest(f"invalid seal configuration: {problem}")


def decode_key_share(text: str) -> bytes:
    """Decode an unseal key given as hex or base64, trying hex first as Vault does.

    As in Vault, hex wins only if it decodes to a plausible key length, so a base64 string that
    happens to be valid hex is still read as base64.
    """
    try:
        key = binascii.unhexlify(text)
        if MIN_KEY_LENGTH <= len(key) <= MAX_KEY_LENGTH:
            return key
    except ValueError:
        pass
    try:
        return base64.b64decode(text, validate=True)
    except ValueError:
        raise InvalidRequest("'key' must be a valid hex or base64 string") from None


class ShamirSeal:
    """Initialises the barrier and unseals it from key shares."""

    def __init__(
        self, barrier: AESGCMBarrier, physical: Storage, clock: Clock | None = None
    ) -> None:
        self._barrier = barrier
        self._physical = physical
        self._clock: Clock = clock if clock is not None else SystemClock()
        self._lock = threading.Lock()
        self._parts: list[bytes] = []
        self._nonce = ""

    def __repr__(self) -> str:
        return f"ShamirSeal(progress={len(self._parts)})"

    def config(self) -> SealConfig | None:
        """The stored seal configuration, or None before initialisation."""
        raw = self._physical.get(SEAL_CONFIG_PATH)
        if raw is None:
            return None
        try:
            doc = json.loads(raw)
            pending = doc.get("next")
            if pending is not None and hmac.compare_digest(
                self._barrier.stored_root_key_digest(), str(pending["root_key"])
            ):
                doc = pending  # a rekey stored its root key and stopped before this record
            return SealConfig(int(doc["secret_shares"]), int(doc["secret_threshold"]))
        except (ValueError, TypeError, KeyError, AttributeError):
            raise InternalError("the stored seal configuration is malformed") from None

    def initialized(self) -> bool:
        return self.config() is not None and self._barrier.initialized()

    def initialize(self, shares: int, threshold: int) -> list[bytes]:
        """Initialise the barrier under a fresh KEK and return its shares (sealed afterwards)."""
        validate_config(shares, threshold)
        with self._lock:
            # The barrier decides: a config left by a crashed init must not block a retry, and
            # an initialised barrier's config must never be overwritten.
            if self._barrier.initialized():
                raise InvalidRequest("Vault is already initialized")
            self._claim_initialization()
            self._physical.put(SEAL_CONFIG_PATH, _dump(_config_doc(shares, threshold)))
            kek = secrets.token_bytes(KEY_SIZE)
            self._barrier.initialize(kek)
            self._reset_progress()
            return shamir.split(kek, shares, threshold)

    def rekey(self, new_kek: bytes, shares: int, threshold: int, root_key_digest: str) -> None:
        """Seal the root key by `new_kek`, whose shares are `shares` with `threshold`, if the
        stored root key is still the envelope `root_key_digest` names (the one the old shares
        opened). Two records change, the root key envelope and this configuration, and a crash
        between them must leave a server that unseals: the configuration is written first with
        the new one as `next`, naming the new envelope; `config` takes `next` exactly when that
        envelope is the stored one. Then the envelope (one compare-and-set), then the final
        configuration."""
        validate_config(shares, threshold)
        with self._lock:
            current = self._require_config()
            new_blob = self._barrier.wrap_root_key(new_kek)
            old = _config_doc(current.secret_shares, current.secret_threshold)
            final = _config_doc(shares, threshold)
            pending = {**old, "next": {**final, "root_key": envelope_digest(new_blob)}}
            self._physical.put(SEAL_CONFIG_PATH, _dump(pending))
            if not self._barrier.replace_root_key(root_key_digest, new_blob):
                self._physical.put(SEAL_CONFIG_PATH, _dump(old))
                raise InvalidRequest(
                    "the root key changed while this rekey ran (another rekey finished first); "
                    "start a new rekey"
                )
            self._physical.put(SEAL_CONFIG_PATH, _dump(final))

    def submit(self, key: bytes) -> SealStatus:
        """Add one share; unseal when the threshold is reached. Returns the new status."""
        with self._lock:
            config = self._require_config()
            if not self._barrier.sealed:
                return self._status(config)
            if len(key) < MIN_KEY_LENGTH:
                raise InvalidRequest(
                    f"invalid key: key is shorter than minimum {MIN_KEY_LENGTH} bytes"
                )
            if len(key) > MAX_KEY_LENGTH:
                raise InvalidRequest(
                    f"invalid key: key is longer than maximum {MAX_KEY_LENGTH} bytes"
                )
            if self._parts and len(key) != len(self._parts[0]):
                self._reset_progress()
                raise InvalidRequest(
                    "invalid key: this share's length differs from the shares already "
                    "submitted; unseal progress has been reset"
                )
            if any(hmac.compare_digest(part, key) for part in self._parts):
                return self._status(config)
            if not self._parts:
                self._nonce = str(uuid.uuid4())
            self._parts.append(bytes(key))
            if len(self._parts) < config.secret_threshold:
                return self._status(config)
            parts, self._parts = self._parts, []
            self._nonce = ""
            self._unseal(parts, config)
            return self._status(config)

    def reset(self) -> None:
        """Discard the shares submitted so far."""
        with self._lock:
            self._require_config()
            if not self._barrier.sealed:
                raise InvalidRequest("vault is unsealed")
            self._reset_progress()

    def seal(self) -> None:
        """Seal the barrier and discard any unseal progress."""
        with self._lock:
            self._reset_progress()
            self._barrier.seal()

    def status(self) -> SealStatus:
        with self._lock:
            config = self.config()
            if config is None or not self._barrier.initialized():
                return SealStatus(False, True, 0, 0, 0, "")
            return self._status(config)

    def _status(self, config: SealConfig) -> SealStatus:
        return SealStatus(
            initialized=True,
            sealed=self._barrier.sealed,
            t=config.secret_threshold,
            n=config.secret_shares,
            progress=len(self._parts),
            nonce=self._nonce,
        )

    def _claim_initialization(self) -> None:
        now = self._clock.now()
        current = self._physical.get(INIT_CLAIM_PATH)
        if current is not None and now - _claimed_at(current) < INIT_CLAIM_HOLD:
            raise InvalidRequest(CLAIMED_ELSEWHERE)
        claim = json.dumps({"at": now, "by": str(uuid.uuid4())}).encode()
        if not self._physical.compare_and_set(INIT_CLAIM_PATH, current, claim):
            raise InvalidRequest(CLAIMED_ELSEWHERE)

    def _require_config(self) -> SealConfig:
        config = self.config()
        if config is None or not self._barrier.initialized():
            raise NotInitialized()
        return config

    def _reset_progress(self) -> None:
        self._parts = []
        self._nonce = ""

    def _unseal(self, parts: list[bytes], config: SealConfig) -> None:
        if config.secret_threshold == 1:
            kek = parts[0]
        else:
            try:
                kek = shamir.combine(parts)
            except ValueError as exc:
                raise InvalidRequest(f"failed to compute combined key: {exc}") from None
        self._barrier.unseal(kek)


def _config_doc(shares: int, threshold: int) -> dict[str, object]:
    return {"type": "shamir", "secret_shares": shares, "secret_threshold": threshold}


def _dump(doc: dict[str, object]) -> bytes:
    return json.dumps(doc, sort_keys=True).encode()


def _claimed_at(blob: bytes) -> float:
    """When a claim was made; a claim that does not parse counts as abandoned."""
    try:
        return float(json.loads(blob)["at"])
    except (ValueError, TypeError, KeyError):
        return float("-inf")
