"""Rekey and root-token generation: key shares collected towards one attempt, shared by nodes.

Vault keeps an attempt (its nonce, and the key shares given so far) in the memory of the
active node, and standbys forward to it. Here every node serves every request and nothing is
forwarded, so an attempt is a record in the barrier's storage (`core/attempt/rekey`,
`core/attempt/generate-root`): a share given to any node counts towards the one attempt, and
the attempt outlives a restart (or a seal) of the node that was given a share. The record is
encrypted by the barrier like any value, so the shares in it are never in plain text in the
physical store; and it lives only as long as the attempt: it is deleted when the attempt
completes or is cancelled. Every change is a compare-and-set, so shares given at once to two
nodes are both counted, or one of them is asked again.

The share that reaches the threshold claims the shares (the record is stored with its progress
cleared, by compare-and-set, so no other node can complete the same attempt), combines them and
checks the result opens the stored root key; only then the attempt's record goes (or, for a
rekey that asks for verification, moves to its verification stage), and only after that the
operation's effect is written. A crash anywhere leaves either the old keys and no attempt, or
the new keys: never keys nobody was given.
"""

from __future__ import annotations

import base64
import hmac
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from awsbroker.barrier import shamir
from awsbroker.barrier.aes_gcm import AESGCMBarrier
from awsbroker.barrier.keyring import KEY_SIZE
from awsbroker.barrier.seal import (
    MAX_KEY_LENGTH,
    MIN_KEY_LENGTH,
    SealConfig,
    ShamirSeal,
    validate_config,
)
from awsbroker.sdk.errors import InvalidRequest, NotInitialized, StorageUnavailable
from awsbroker.sdk.logical import JSONObject, JSONValue
from awsbroker.sdk.records import dump, load
from awsbroker.sdk.storage import UPDATE_ATTEMPTS

REKEY_PATH = "core/attempt/rekey"
GENERATE_ROOT_PATH = "core/attempt/generate-root"
OTP_LENGTH = 28  # a root token's length, "hvs." and 24 characters (tokens.py)


@dataclass(frozen=True)
class Progress:
    """A share was added: the record as this share left it, and the shares it holds. (What a
    status shows after a share: reading the record again could show another node's later
    change.)"""

    record: JSONObject
    count: int


@dataclass(frozen=True)
class Claimed:
    """The threshold was reached: the shares (taken out of the record) and the record as it is
    stored now, for the next compare-and-set."""

    shares: list[bytes]
    record: JSONObject
    blob: bytes


class Attempt:
    """One kind of attempt: its record, and share collection by compare-and-set."""

    def __init__(self, barrier: AESGCMBarrier, seal: ShamirSeal, path: str) -> None:
        self.barrier = barrier
        self.seal = seal
        self.path = path

    def config(self) -> SealConfig:
        config = self.seal.config()
        if config is None:
            raise NotInitialized()
        return config

    def record(self) -> JSONObject | None:
        blob = self.barrier.get(self.path)
        return None if blob is None else load(blob)

    def create(self, record: JSONObject, already: str) -> None:
        if not self.barrier.compare_and_set(self.path, None, dump(record)):
            raise InvalidRequest(already)

    def delete(self) -> None:
        self.barrier.delete(self.path)

    def replace(self, claimed: Claimed, record: JSONObject | None, gone: str) -> None:
        """Store what follows a claimed attempt (None: the attempt is over)."""
        new = None if record is None else dump(record)
        if not self.barrier.compare_and_set(self.path, claimed.blob, new):
            raise InvalidRequest(gone)

    def add_share(
        self,
        key: bytes,
        locate: Callable[[JSONObject], tuple[JSONObject, int]],
        duplicate: str,
    ) -> Progress | Claimed:
        """Add `key` to the progress list that `locate` finds in the record (it checks the
        nonce and raises if the attempt is not there; it returns the dict holding `progress`
        and the threshold). Returns the progress, or the claimed shares at the threshold."""
        check_length(key)
        for _ in range(UPDATE_ATTEMPTS):
            blob = self.barrier.get(self.path)
            record = load(blob) if blob is not None else {}
            holder, threshold = locate(record)
            shares = decode_shares(holder.get("progress"))
            if any(hmac.compare_digest(share, key) for share in shares):
                raise InvalidRequest(duplicate)
            shares.append(key)
            done = len(shares) >= threshold
            kept: list[JSONValue] = [] if done else list(encode_shares(shares))
            holder["progress"] = kept
            new = dump(record)
            if self.barrier.compare_and_set(self.path, blob, new):
                return Claimed(shares, record, new) if done else Progress(record, len(shares))
        raise StorageUnavailable("too many key shares given at once; give this one again")


def check_length(key: bytes) -> None:
    if len(key) < MIN_KEY_LENGTH:
        raise InvalidRequest(f"key is shorter than minimum {MIN_KEY_LENGTH} bytes")
    if len(key) > MAX_KEY_LENGTH:
        raise InvalidRequest(f"key is longer than maximum {MAX_KEY_LENGTH} bytes")


def combine(shares: list[bytes]) -> bytes:
    if len(shares) == 1:
        return shares[0]
    try:
        return shamir.combine(shares)
    except ValueError as exc:
        raise InvalidRequest(f"failed to compute root key: {exc}") from None


def decode_shares(value: object) -> list[bytes]:
    if not isinstance(value, list):
        return []
    return [base64.b64decode(str(item)) for item in value]


def encode_shares(shares: list[bytes]) -> list[str]:
    return [base64.b64encode(share).decode() for share in shares]


def new_nonce() -> str:
    return str(uuid.uuid4())


def check_nonce(given: str, expected: str, what: str) -> None:
    if not hmac.compare_digest(given.encode(), expected.encode()):
        raise InvalidRequest(f'incorrect nonce supplied; nonce for {what} is "{expected}"')


# ---- rekey ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class RekeyDone:
    nonce: str
    keys: list[bytes]
    verification_nonce: str  # "" unless the new keys must be verified before they count


@dataclass(frozen=True)
class Names:
    """How errors name the operation: Vault's `sys/rekey/*` says rekey, OpenBao's
    `sys/rotate/root/*` says rotation."""

    already: str
    nonce: str
    operation: str


VAULT_NAMES = Names("rekey already in progress", "this rekey operation", "rekey")
OPENBAO_NAMES = Names("rotation already in progress", "rotation", "rotation")


class Rekey(Attempt):
    """`sys/rekey/*` and `sys/rotate/root/*`: new shares for the same root key."""

    def __init__(
        self, barrier: AESGCMBarrier, seal: ShamirSeal, names: Names = VAULT_NAMES
    ) -> None:
        super().__init__(barrier, seal, REKEY_PATH)
        self.names = names

    def start(self, shares: int, threshold: int, require_verification: bool) -> None:
        try:
            validate_config(shares, threshold)
        except InvalidRequest as exc:  # Vault's words (it answers 500; a caller's mistake: 400)
            raise InvalidRequest(str(exc).replace("invalid ", "invalid rekey ", 1)) from None
        self.config()
        record: JSONObject = {
            "nonce": new_nonce(),
            "secret_shares": shares,
            "secret_threshold": threshold,
            "require_verification": require_verification,
            "progress": [],
        }
        self.create(record, self.names.already)

    def update(self, key: bytes, nonce: str) -> Progress | RekeyDone:
        required = self.config().secret_threshold

        def locate(record: JSONObject) -> tuple[JSONObject, int]:
            if not record:
                raise InvalidRequest("no barrier rekey in progress")
            verification = record.get("verification")
            if isinstance(verification, dict):
                raise InvalidRequest(
                    f"{self.names.operation.replace('rekey', 'rekey operation')} already "
                    "finished; verification must be performed; nonce "
                    f'for the verification operation is "{verification.get("nonce")}"'
                )
            check_nonce(nonce, str(record["nonce"]), self.names.nonce)
            return record, required

        claimed = self.add_share(
            key, locate, "given key has already been provided during this generation operation"
        )
        if isinstance(claimed, Progress):
            return claimed
        digest = self.barrier.root_key_digest(combine(claimed.shares))
        record = claimed.record
        new_kek = secrets.token_bytes(KEY_SIZE)
        shares, threshold = int(record["secret_shares"]), int(record["secret_threshold"])  # type: ignore[arg-type]
        keys = shamir.split(new_kek, shares, threshold)
        gone = "the rekey was cancelled while it completed; start a new one"
        if record.get("require_verification") is True:
            verification: JSONObject = {
                "nonce": new_nonce(),
                "key": base64.b64encode(new_kek).decode(),
                "root_key": digest,
                "progress": [],
            }
            self.replace(claimed, {**record, "verification": verification}, gone)
            return RekeyDone(str(record["nonce"]), keys, str(verification["nonce"]))
        self.replace(claimed, None, gone)
        self.seal.rekey(new_kek, shares, threshold, digest)
        return RekeyDone(str(record["nonce"]), keys, "")

    def verify(self, key: bytes, nonce: str) -> Progress | str:
        """A new share towards verification; the progress, or the nonce once the new keys are
        in effect."""

        def locate(record: JSONObject) -> tuple[JSONObject, int]:
            if not record:
                raise InvalidRequest("no rekey in progress")
            verification = record.get("verification")
            if not isinstance(verification, dict):
                raise InvalidRequest("no rekey verification in progress")
            check_nonce(nonce, str(verification["nonce"]), "this verify operation")
            return verification, int(record["secret_threshold"])  # type: ignore[arg-type]

        claimed = self.add_share(
            key, locate, "given key has already been provided during this verify operation"
        )
        if isinstance(claimed, Progress):
            return claimed
        record = claimed.record
        verification = record["verification"]
        assert isinstance(verification, dict)
        expected = base64.b64decode(str(verification["key"]))
        if not hmac.compare_digest(combine(claimed.shares), expected):
            self.restart_verification()  # as Vault: a failed verification starts over
            raise InvalidRequest(
                f"{self.names.operation} verification failed; incorrect key shares supplied"
            )
        self.replace(claimed, None, "the rekey was cancelled while it was verified")
        shares, threshold = int(record["secret_shares"]), int(record["secret_threshold"])  # type: ignore[arg-type]
        self.seal.rekey(expected, shares, threshold, str(verification["root_key"]))
        return str(verification["nonce"])

    def restart_verification(self) -> None:
        """Clear the verification's progress under a new nonce (Vault's DELETE sys/rekey/verify)."""

        def restart(record: JSONObject) -> None:
            verification = record.get("verification")
            if isinstance(verification, dict):
                verification["nonce"] = new_nonce()
                verification["progress"] = []

        for _ in range(UPDATE_ATTEMPTS):
            blob = self.barrier.get(self.path)
            if blob is None:
                return
            record = load(blob)
            restart(record)
            if self.barrier.compare_and_set(self.path, blob, dump(record)):
                return
        raise StorageUnavailable("too many concurrent changes to the rekey; try again")


# ---- root token generation -------------------------------------------------------------------


@dataclass(frozen=True)
class GenerateRootProgress:
    progress: int
    required: int
    encoded_token: str  # "" until complete


class GenerateRoot(Attempt):
    """`sys/generate-root/*` and `sys/generate-root-token/*`: a new root token, given out
    XORed with the operator's one-time password."""

    def __init__(
        self,
        barrier: AESGCMBarrier,
        seal: ShamirSeal,
        create_root_token: Callable[[], str],
        already: str = "root generation already in progress",
    ) -> None:
        super().__init__(barrier, seal, GENERATE_ROOT_PATH)
        self._create_root_token = create_root_token
        self._already = already

    def start(self, otp: str) -> None:
        if len(otp) != OTP_LENGTH:
            raise InvalidRequest("OTP string has incorrect length")
        self.config()
        record: JSONObject = {"nonce": new_nonce(), "otp": otp, "progress": []}
        self.create(record, self._already)

    def update(self, key: bytes, nonce: str) -> GenerateRootProgress:
        try:
            check_length(key)
        except InvalidRequest as exc:  # OpenBao's words on its generate-root paths
            raise InvalidRequest(f"invalid key: {exc}") from None
        required = self.config().secret_threshold

        def locate(record: JSONObject) -> tuple[JSONObject, int]:
            if not record:
                raise InvalidRequest("no root generation in progress")
            check_nonce(nonce, str(record["nonce"]), "this root generation operation")
            return record, required

        claimed = self.add_share(
            key, locate, "given key has already been provided during this generation operation"
        )
        if isinstance(claimed, Progress):
            return GenerateRootProgress(claimed.count, required, "")
        try:
            self.barrier.root_key_digest(combine(claimed.shares))
        except InvalidRequest as exc:
            raise InvalidRequest(f"root generation aborted: {exc}") from None
        self.replace(claimed, None, "the root generation was cancelled while it completed")
        token = self._create_root_token()
        return GenerateRootProgress(
            required, required, encode_token(token, str(claimed.record["otp"]))
        )


def encode_token(token: str, otp: str) -> str:
    """Vault's `roottoken.EncodeToken`: the token XOR the OTP, unpadded base64."""
    if len(token) != len(otp):
        raise InvalidRequest("length of byte slices is not equivalent")
    mixed = bytes(a ^ b for a, b in zip(token.encode(), otp.encode(), strict=True))
    return base64.b64encode(mixed).decode().rstrip("=")


def decode_token(encoded: str, otp: str) -> str:
    """Vault's `roottoken.DecodeToken` for an OTP of a token's length."""
    try:
        mixed = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
    except ValueError:
        raise InvalidRequest("error decoding base64'd token") from None
    if len(mixed) != len(otp.encode()):
        raise InvalidRequest(
            "error xoring token: length of byte slices is not equivalent: "
            f"{len(mixed)} != {len(otp.encode())}"
        )
    try:
        return bytes(a ^ b for a, b in zip(mixed, otp.encode(), strict=True)).decode()
    except UnicodeDecodeError:
        raise InvalidRequest("the encoded token does not decode with this OTP") from None
