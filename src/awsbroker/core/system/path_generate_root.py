"""`sys/generate-root/{attempt,update}` (Vault's unauthenticated root generation, raw JSON
bodies), OpenBao's `sys/generate-root-token/{attempt,update}` (authenticated, in the data
envelope; `bao operator generate-root` calls them), and `sys/decode-token`.

A quorum of unseal key shares makes a new root token. It is given out XORed with a one-time
password of the token's length (the operator's `otp`, or one made here and answered once), in
unpadded base64, as Vault's `roottoken.EncodeToken`. PGP (`pgp_key`) is not supported.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from awsbroker.barrier.seal import decode_key_share
from awsbroker.core.share_attempts import OTP_LENGTH, GenerateRoot, decode_token
from awsbroker.core.tokens import random_id
from awsbroker.sdk.errors import InvalidRequest
from awsbroker.sdk.fields import Field, FieldData
from awsbroker.sdk.fields import FieldType as T
from awsbroker.sdk.framework import Path
from awsbroker.sdk.logical import JSONObject, Operation, Request, Response

if TYPE_CHECKING:
    from awsbroker.core.system.backend import SystemBackend

R, U, D = Operation.READ, Operation.UPDATE, Operation.DELETE
NO_PGP = "PGP-encrypted root tokens are not supported (awsbroker has no PGP support): omit pgp_key"
Handler = Callable[["SystemBackend", Request, FieldData], Response | None]


def paths() -> list[Path[SystemBackend]]:
    out: list[Path[SystemBackend]] = []
    for prefix, legacy in (("generate-root", True), ("generate-root-token", False)):
        out += [
            Path(
                f"{prefix}/attempt",
                {R: _bind(read_attempt, legacy), U: _bind(start, legacy), D: cancel},
                {
                    "otp": Field(T.STRING, "One-time password the new token is XORed with"),
                    "pgp_key": Field(T.STRING, "Not supported"),
                },
                summary="Status, start or cancel a root token generation",
            ),
            Path(
                f"{prefix}/update",
                {U: _bind(update, legacy)},
                {"key": Field(T.STRING, "An unseal key share"), "nonce": Field(T.STRING)},
                summary="Give a key share towards a new root token",
            ),
        ]
    out.append(
        Path(
            "decode-token",
            {U: decode},
            {"encoded_token": Field(T.STRING), "otp": Field(T.STRING)},
            summary="Decode an encoded root token with its OTP",
        )
    )
    return out


def _bind(handler: Callable[[SystemBackend, FieldData, bool], Response], legacy: bool) -> Handler:
    return lambda b, req, fd: handler(b, fd, legacy)


def _generation(b: SystemBackend, legacy: bool = True) -> GenerateRoot:
    already = "root generation already in progress"
    if not legacy:
        already += " for this namespace"  # OpenBao's words on its path
    return GenerateRoot(b.core.barrier, b.core.seal, b.core.create_root_token, already)


def _answer(body: JSONObject, legacy: bool) -> Response:
    return Response(raw=body) if legacy else Response(data=body)


def _status(b: SystemBackend, legacy: bool, otp: str = "") -> JSONObject:
    generation = _generation(b)
    required = generation.config().secret_threshold
    record = generation.record()
    progress = record.get("progress") if record is not None else None
    body: JSONObject = {
        "started": record is not None,
        "complete": False,
        "progress": len(progress) if isinstance(progress, list) else 0,
        "required": required,
        "otp": otp,
        "otp_length": OTP_LENGTH,
    }
    if legacy:
        body.update(nonce="", encoded_token="", encoded_root_token="", pgp_fingerprint="")
    if record is not None:
        body.update(nonce=record["nonce"], pgp_fingerprint="")
    return body


def read_attempt(b: SystemBackend, fd: FieldData, legacy: bool) -> Response:
    return _answer(_status(b, legacy), legacy)


def start(b: SystemBackend, fd: FieldData, legacy: bool) -> Response:
    if fd.get_str("pgp_key"):
        raise InvalidRequest(NO_PGP)
    otp = fd.get_str("otp")
    made = "" if otp else random_id(OTP_LENGTH)  # base62, as Vault's
    _generation(b, legacy).start(otp or made)
    return _answer(_status(b, legacy, made), legacy)


def cancel(b: SystemBackend, req: Request, fd: FieldData) -> None:
    _generation(b).delete()


def update(b: SystemBackend, fd: FieldData, legacy: bool) -> Response:
    key_text, nonce = fd.get_str("key").strip(), fd.get_str("nonce")
    if legacy and not key_text:
        raise InvalidRequest("'key' must be specified in request body as JSON")
    if not legacy and not nonce:
        raise InvalidRequest("nonce is required")
    if not legacy and not key_text:
        raise InvalidRequest("key is required")
    result = _generation(b).update(decode_key_share(key_text), nonce)
    body: JSONObject = {
        "started": True,
        "complete": result.progress == result.required,
        "progress": result.progress,
        "required": result.required,
        "nonce": nonce,
        "encoded_token": result.encoded_token,
        "pgp_fingerprint": "",
    }
    if legacy:
        body.update(encoded_root_token=result.encoded_token, otp="", otp_length=0)
    return _answer(body, legacy)


def decode(b: SystemBackend, req: Request, fd: FieldData) -> Response:
    encoded, otp = fd.get_str("encoded_token"), fd.get_str("otp")
    if not encoded or not otp:
        raise InvalidRequest("provided 'encoded_token' or 'otp' is empty")
    return Response(data={"token": decode_token(encoded, otp)})
