"""`sys/init`, `sys/unseal`, `sys/seal`, `sys/seal-status`, `sys/health`.

All but `sys/seal` are unauthenticated and answer while sealed; their bodies are raw JSON
objects, not Vault's envelope.
"""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING

from awsbroker import __version__
from awsbroker.barrier.seal import SealStatus, decode_key_share
from awsbroker.sdk.errors import InvalidRequest
from awsbroker.sdk.fields import Field, FieldData
from awsbroker.sdk.fields import FieldType as T
from awsbroker.sdk.framework import Path
from awsbroker.sdk.logical import JSONObject, Operation, Request, Response

if TYPE_CHECKING:
    from awsbroker.core.sys_backend import SystemBackend

R, U, H = Operation.READ, Operation.UPDATE, Operation.HEAD
_HEALTH_CODES = ("activecode", "standbycode", "drsecondarycode", "performancestandbycode",
                 "sealedcode", "uninitcode")  # fmt: skip


def paths() -> list[Path[SystemBackend]]:
    return [
        Path(
            "init",
            {R: read_init, U: write_init},
            {
                "secret_shares": Field(T.INT, "Number of key shares"),
                "secret_threshold": Field(T.INT, "Shares needed to unseal"),
                "pgp_keys": Field(T.STRING_LIST, "Not supported"),
                "root_token_pgp_key": Field(T.STRING, "Not supported"),
                "stored_shares": Field(T.INT, "Not supported"),
            },
            summary="Initialise a new server",
        ),
        Path(
            "unseal",
            {U: unseal},
            {
                "key": Field(T.STRING, "A key share, hex or base64"),
                "reset": Field(T.BOOL, "Discard the shares submitted so far"),
                "migrate": Field(T.BOOL, "Ignored"),
            },
            summary="Submit a key share",
        ),
        Path("seal-status", {R: seal_status}, summary="Seal state"),
        Path("seal", {U: seal}, summary="Seal the server (root or sudo)"),
        Path(
            "health",
            {R: health, H: health},
            {
                "standbyok": Field(T.BOOL),
                "perfstandbyok": Field(T.BOOL),
                **{code: Field(T.INT) for code in _HEALTH_CODES},
            },
            summary="Health for load balancers",
        ),
    ]


def read_init(b: SystemBackend, req: Request, fd: FieldData) -> Response:
    return Response(raw={"initialized": b.core.seal.initialized()})


def write_init(b: SystemBackend, req: Request, fd: FieldData) -> Response:
    if fd.get_list("pgp_keys") or fd.get_str("root_token_pgp_key"):
        raise InvalidRequest("PGP-encrypted shares are not supported; omit pgp_keys")
    if not fd.is_set("secret_shares") or not fd.is_set("secret_threshold"):
        raise InvalidRequest("secret_shares and secret_threshold are required")
    keys, root_token = b.core.initialize(
        fd.get_int("secret_shares"), fd.get_int("secret_threshold")
    )
    return Response(
        raw={
            "keys": [k.hex() for k in keys],
            "keys_base64": [_b64(k) for k in keys],
            "root_token": root_token,
        }
    )


def _b64(value: bytes) -> str:
    return base64.b64encode(value).decode()


def _status_body(b: SystemBackend, status: SealStatus) -> JSONObject:
    body: JSONObject = {
        "type": "shamir",
        "initialized": status.initialized,
        "sealed": status.sealed,
        "t": status.t,
        "n": status.n,
        "progress": status.progress,
        "nonce": status.nonce,
        "version": __version__,
        "build_date": "",
        "migration": False,
        "recovery_seal": False,
        "storage_type": b.core.config.storage_type,
    }
    if not status.sealed:
        body["cluster_name"] = b.core.config.cluster_name
        body["cluster_id"] = b.core.cluster_id
    return body


def seal_status(b: SystemBackend, req: Request, fd: FieldData) -> Response:
    return Response(raw=_status_body(b, b.core.seal_status()))


def unseal(b: SystemBackend, req: Request, fd: FieldData) -> Response:
    if not b.core.seal.initialized():
        raise InvalidRequest("Vault is not initialized")
    if fd.get_bool("reset"):
        b.core.seal.reset()
        return Response(raw=_status_body(b, b.core.seal_status()))
    if not fd.get_str("key"):
        raise InvalidRequest(
            "'key' must be specified in request body as JSON, or 'reset' set to true"
        )
    status = b.core.submit_unseal_key(decode_key_share(fd.get_str("key")))
    return Response(raw=_status_body(b, status))


def seal(b: SystemBackend, req: Request, fd: FieldData) -> None:
    b.core.seal_vault()


def health(b: SystemBackend, req: Request, fd: FieldData) -> Response:
    for name in _HEALTH_CODES:
        # Anything else cannot be sent as a final HTTP status (the connection would just drop).
        if fd.is_set(name) and not 200 <= fd.get_int(name) <= 599:
            raise InvalidRequest(f"invalid {name}: use an HTTP status code from 200 to 599")
    status = b.core.seal_status()
    if not status.initialized:
        code = fd.get_int("uninitcode") if fd.is_set("uninitcode") else 501
    elif status.sealed:
        code = fd.get_int("sealedcode") if fd.is_set("sealedcode") else 503
    else:
        code = fd.get_int("activecode") if fd.is_set("activecode") else 200
    body: JSONObject = {
        "initialized": status.initialized,
        "sealed": status.sealed,
        "standby": False,
        "performance_standby": False,
        "replication_performance_mode": "disabled",
        "replication_dr_mode": "disabled",
        "server_time_utc": int(b.core.config.clock.now()),
        "version": __version__,
    }
    if not status.sealed:
        body["cluster_name"] = b.core.config.cluster_name
        body["cluster_id"] = b.core.cluster_id
    return Response(raw=body, status=code)
