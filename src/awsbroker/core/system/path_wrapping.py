"""`sys/wrapping/wrap`, `unwrap`, `lookup` and `rewrap` (core/wrapping.py has the rules).

The core has already checked the wrapping token these name (`Wrapping.validate`). A token in
the body is a third party's: its use is spent here and it is revoked once read. The request's
own token, when it is the wrapping token, had its use spent by the core, which revokes it
after the handler.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from awsbroker.core.cubbyhole import RESPONSE_PATH, WRAPINFO_PATH
from awsbroker.core.tokens import TokenEntry
from awsbroker.core.wrapping import INVALID, unwrapped
from awsbroker.sdk.errors import InvalidRequest
from awsbroker.sdk.fields import Field, FieldData
from awsbroker.sdk.fields import FieldType as T
from awsbroker.sdk.framework import Path
from awsbroker.sdk.logical import JSONObject, Operation, Request, Response, WrapInfo

if TYPE_CHECKING:
    from awsbroker.core.system.backend import SystemBackend

R, U = Operation.READ, Operation.UPDATE
_TOKEN = {"token": Field(T.STRING, "The wrapping token; the request's token when omitted")}


def paths() -> list[Path[SystemBackend]]:
    return [
        Path(
            "wrapping/wrap",
            {U: wrap},
            summary="Response-wrap the data in the request body",
            takes_any_data=True,
        ),
        Path("wrapping/unwrap", {U: unwrap}, _TOKEN, summary="Unwrap a wrapped response"),
        Path(
            "wrapping/lookup",
            {R: lookup, U: lookup},
            _TOKEN,
            summary="Look up a wrapping token's creation TTL, time and path",
        ),
        Path("wrapping/rewrap", {U: rewrap}, _TOKEN, summary="Rewrap into a new wrapping token"),
    ]


def wrap(b: SystemBackend, req: Request, fd: FieldData) -> Response:
    if not req.wrap_ttl:
        raise InvalidRequest("endpoint requires response wrapping to be used")
    return Response(data=dict(req.data))


def _presented(b: SystemBackend, req: Request, fd: FieldData) -> tuple[str, TokenEntry | None]:
    """The wrapping token's hash, and its entry when a third party presented it (its use now
    spent: the caller revokes it once read)."""
    token = fd.get_str("token")
    if token:
        entry = b.core.wrapping.spend(token)
        return entry.hash, entry
    if not req.token_hash:
        raise InvalidRequest(INVALID)
    return req.token_hash, None


def unwrap(b: SystemBackend, req: Request, fd: FieldData) -> Response:
    token_hash, third_party = _presented(b, req, fd)
    try:
        stored = b.core.wrapping.read(token_hash, RESPONSE_PATH)
    finally:
        if third_party is not None:
            b.core.tokens.revoke_tree(third_party)
    return unwrapped(str(stored.get("response") or ""))


def rewrap(b: SystemBackend, req: Request, fd: FieldData) -> Response:
    token_hash, third_party = _presented(b, req, fd)
    try:
        info = b.core.wrapping.read(token_hash, WRAPINFO_PATH)
        stored = b.core.wrapping.read(token_hash, RESPONSE_PATH)
    finally:
        if third_party is not None:
            b.core.tokens.revoke_tree(third_party)
    ttl = info.get("creation_ttl")
    if not isinstance(ttl, int) or ttl <= 0:
        raise InvalidRequest(INVALID)  # never answered unwrapped
    return Response(
        data={"response": stored.get("response")},
        wrap_info=WrapInfo(
            ttl=ttl,
            creation_path=str(info.get("creation_path") or ""),
        ),
    )


def lookup(b: SystemBackend, req: Request, fd: FieldData) -> Response:
    entry = b.core.wrapping.validate(req)  # unauthenticated: checked by the core too
    info = b.core.wrapping.read(entry.hash, WRAPINFO_PATH)
    data: JSONObject = {
        key: info[key] for key in ("creation_path", "creation_time", "creation_ttl") if key in info
    }
    return Response(data=data)
