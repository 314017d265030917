"""`sys/rekey/{init,update,verify,backup}` (Vault's unauthenticated rekey, raw JSON bodies) and
OpenBao's `sys/rotate/root/{init,update,verify,backup}` (authenticated, in the data envelope;
`bao operator rotate-keys` calls them): new key shares for the same root key.

The attempt is shared by every node through storage (`share_attempts.py`). PGP is not
supported: `pgp_keys` is refused, and so `backup` (which needs them) too.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import TYPE_CHECKING

from awsbroker.barrier.seal import decode_key_share
from awsbroker.core.share_attempts import (
    OPENBAO_NAMES,
    VAULT_NAMES,
    Progress,
    Rekey,
    RekeyDone,
)
from awsbroker.sdk.errors import InvalidRequest
from awsbroker.sdk.fields import Field, FieldData
from awsbroker.sdk.fields import FieldType as T
from awsbroker.sdk.framework import Path
from awsbroker.sdk.logical import JSONObject, Operation, Request, Response

if TYPE_CHECKING:
    from awsbroker.core.system.backend import SystemBackend

R, U, D = Operation.READ, Operation.UPDATE, Operation.DELETE
NO_PGP = "PGP-encrypted key shares are not supported (awsbroker has no PGP support): omit pgp_keys"
NO_BACKUP = "cannot request a backup of the new keys without providing PGP keys for encryption"
INIT_FIELDS = {
    "secret_shares": Field(T.INT, "Number of new key shares"),
    "secret_threshold": Field(T.INT, "Shares needed to unseal"),
    "pgp_keys": Field(T.STRING_LIST, "Not supported"),
    "backup": Field(T.BOOL, "Not supported (it needs pgp_keys)"),
    "require_verification": Field(T.BOOL, "Verify the new shares before they take effect"),
}
KEY_FIELDS = {"key": Field(T.STRING, "A key share, hex or base64"), "nonce": Field(T.STRING)}
Handler = Callable[["SystemBackend", Request, FieldData], Response | None]


def paths() -> list[Path[SystemBackend]]:
    out: list[Path[SystemBackend]] = []
    for prefix, legacy in (("rekey", True), ("rotate/root", False)):
        out += [
            Path(
                f"{prefix}/init",
                {R: _bind(read_init, legacy), U: _bind(start, legacy), D: cancel},
                INIT_FIELDS,
                summary="Status, start or cancel a rekey",
            ),
            Path(f"{prefix}/update", {U: _bind(update, legacy)}, KEY_FIELDS, summary="Rekey"),
            Path(
                f"{prefix}/verify",
                {
                    R: _bind(read_verify, legacy),
                    U: _bind(verify, legacy),
                    D: _bind(restart_verify, legacy),
                },
                KEY_FIELDS,
                summary="Verify the new key shares",
            ),
            Path(
                f"{prefix}/backup",
                {R: read_backup, D: delete_backup},
                summary="PGP-encrypted backup of the new shares (never any: no PGP)",
            ),
        ]
    return out


def _bind(
    handler: Callable[[SystemBackend, FieldData, bool], Response | None], legacy: bool
) -> Handler:
    return lambda b, req, fd: handler(b, fd, legacy)


def _rekey(b: SystemBackend, legacy: bool = True) -> Rekey:
    return Rekey(b.core.barrier, b.core.seal, VAULT_NAMES if legacy else OPENBAO_NAMES)


def _answer(body: JSONObject, legacy: bool) -> Response:
    return Response(raw=body) if legacy else Response(data=body)


def _status(b: SystemBackend, legacy: bool, given: Progress | None = None) -> JSONObject:
    """The attempt's status: as stored, or as the share just given left it (`given`)."""
    rekey = _rekey(b)
    required = rekey.config().secret_threshold
    record = given.record if given is not None else rekey.record()
    body: JSONObject = {"started": False, "t": 0, "n": 0, "required": required}
    if legacy:
        body.update(nonce="", progress=0, pgp_fingerprints=None, backup=False)
        body["verification_required"] = False
    if record is None:
        return body
    verification = record.get("verification")
    progress = record.get("progress")
    body.update(
        nonce=record["nonce"],
        started=True,
        t=record["secret_threshold"],
        n=record["secret_shares"],
        progress=len(progress) if isinstance(progress, list) else 0,
        verification_required=record.get("require_verification") is True,
    )
    nonce = verification.get("nonce", "") if isinstance(verification, dict) else ""
    if nonce or not legacy:
        body["verification_nonce"] = nonce
    return body


def read_init(b: SystemBackend, fd: FieldData, legacy: bool) -> Response:
    return _answer(_status(b, legacy), legacy)


def start(b: SystemBackend, fd: FieldData, legacy: bool) -> Response:
    if fd.get_bool("backup") and not fd.get_list("pgp_keys"):
        raise InvalidRequest(NO_BACKUP)
    if fd.get_list("pgp_keys"):
        raise InvalidRequest(NO_PGP)
    _rekey(b, legacy).start(
        fd.get_int("secret_shares"),
        fd.get_int("secret_threshold"),
        fd.get_bool("require_verification"),
    )
    return _answer(_status(b, legacy), legacy)


def cancel(b: SystemBackend, req: Request, fd: FieldData) -> None:
    _rekey(b).delete()


def _key_and_nonce(fd: FieldData, legacy: bool) -> tuple[bytes, str]:
    if not fd.get_str("key"):
        raise InvalidRequest(
            "'key' must be specified in request body as JSON"
            if legacy
            else "missing required field 'key'"
        )
    if not legacy and not fd.get_str("nonce"):
        raise InvalidRequest("missing required field 'nonce'")
    return decode_key_share(fd.get_str("key").strip()), fd.get_str("nonce")


def update(b: SystemBackend, fd: FieldData, legacy: bool) -> Response:
    key, nonce = _key_and_nonce(fd, legacy)
    result = _rekey(b, legacy).update(key, nonce)
    if not isinstance(result, RekeyDone):
        return _answer(_status(b, legacy, result), legacy)
    body: JSONObject = {
        "nonce": result.nonce,
        "complete": True,
        "keys": [key.hex() for key in result.keys],
        "keys_base64": [base64.b64encode(key).decode() for key in result.keys],
        "pgp_fingerprints": None,
        "backup": False,
        "verification_required": bool(result.verification_nonce),
    }
    if result.verification_nonce or not legacy:
        body["verification_nonce"] = result.verification_nonce
    return _answer(body, legacy)


def _verify_status(b: SystemBackend, legacy: bool, given: Progress | None = None) -> JSONObject:
    record = given.record if given is not None else _rekey(b).record()
    if record is None:
        raise InvalidRequest(
            "no rekey configuration found" if legacy else "no rotation configuration found"
        )
    verification = record.get("verification")
    started = isinstance(verification, dict)
    progress = verification.get("progress") if isinstance(verification, dict) else None
    return {
        "nonce": verification.get("nonce", "") if isinstance(verification, dict) else "",
        "started": started,
        "t": record["secret_threshold"],
        "n": record["secret_shares"],
        "progress": len(progress) if isinstance(progress, list) else 0,
    }


def read_verify(b: SystemBackend, fd: FieldData, legacy: bool) -> Response:
    return _answer(_verify_status(b, legacy), legacy)


def verify(b: SystemBackend, fd: FieldData, legacy: bool) -> Response:
    key, nonce = _key_and_nonce(fd, legacy)
    result = _rekey(b, legacy).verify(key, nonce)
    if isinstance(result, Progress):
        return _answer(_verify_status(b, legacy, result), legacy)
    return _answer({"nonce": result, "complete": True}, legacy)


def restart_verify(b: SystemBackend, fd: FieldData, legacy: bool) -> Response:
    _rekey(b).restart_verification()
    return _answer(_verify_status(b, legacy), legacy)


def read_backup(b: SystemBackend, req: Request, fd: FieldData) -> Response:
    raise InvalidRequest("no backed-up keys found")


def delete_backup(b: SystemBackend, req: Request, fd: FieldData) -> None:
    return None
