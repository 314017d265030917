"""`sys/leases/*` (and the legacy `sys/renew`, `sys/revoke*`): look up, renew and revoke leases."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from awsbroker.core import token_leases
from awsbroker.sdk.errors import BrokerError, InvalidRequest, NotFound
from awsbroker.sdk.fields import Field, FieldData
from awsbroker.sdk.fields import FieldType as T
from awsbroker.sdk.framework import Path
from awsbroker.sdk.logical import JSONObject, JSONValue, Operation, Request, Response

if TYPE_CHECKING:
    from awsbroker.core.system.backend import SystemBackend

R, U, L = Operation.READ, Operation.UPDATE, Operation.LIST
_ID = {
    "lease_id": Field(T.STRING, "The lease ID"),
    "url_lease_id": Field(T.STRING, "The lease ID, in the URL"),
}
_SYNC = {"sync": Field(T.BOOL, "Wait for the revocation to finish", default=True)}
_PREFIX = {"prefix": Field(T.STRING, "Lease ID prefix")}
MAX_LISTED = 10_000


def paths() -> list[Path[SystemBackend]]:
    renew_fields = {**_ID, "increment": Field(T.DURATION, "Requested TTL, from now")}
    revoke_fields = {**_ID, **_SYNC}
    listing = {
        "type": Field(T.STRING, "Only 'irrevocable' is supported"),
        "limit": Field(T.STRING, "Most leases to list, or 'none'"),
        "include_child_namespaces": Field(T.BOOL, "Ignored: there are no namespaces"),
    }
    specs: list[Path[SystemBackend]] = [
        Path("leases/?", {R: list_irrevocable}, listing, summary="List irrevocable leases (sudo)"),
        Path("leases/count", {R: count_leases}, listing, summary="Count irrevocable leases"),
        Path("leases/tidy", {U: tidy}, summary="Queue leases whose token is gone"),
        Path("leases/lookup", {U: lookup}, _ID, summary="Look up a lease"),
        Path(
            r"leases/lookup/(?P<prefix>.*)", {L: list_leases}, _PREFIX, summary="List leases (sudo)"
        ),
    ]
    for base in ("leases/", ""):
        specs += [
            Path(f"{base}renew", {U: renew}, renew_fields, summary="Renew a lease"),
            Path(f"{base}renew/(?P<url_lease_id>.+)", {U: renew}, renew_fields),
            Path(f"{base}revoke", {U: revoke}, revoke_fields, summary="Revoke a lease"),
            Path(f"{base}revoke/(?P<url_lease_id>.+)", {U: revoke}, revoke_fields),
            Path(f"{base}revoke-prefix/(?P<prefix>.+)", {U: revoke_prefix}, {**_PREFIX, **_SYNC}),
            Path(f"{base}revoke-force/(?P<prefix>.+)", {U: revoke_force}, _PREFIX),
        ]
    return specs


def _rfc3339(ts: float) -> JSONValue:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def _lease_id(fd: FieldData) -> str:
    lease_id = fd.get_str("url_lease_id") or fd.get_str("lease_id")
    if not lease_id:
        raise InvalidRequest("lease_id must be specified")
    return lease_id


def lookup(b: SystemBackend, req: Request, fd: FieldData) -> Response:
    lease_id = _lease_id(fd)
    now = b.core.config.clock.now()
    token = token_leases.find(b.core, lease_id)
    if token is not None:
        # A token's lease (token_leases.py), with the `path` OpenBao adds to it.
        return Response(
            data={
                "id": token_leases.lease_id(token),
                "issue_time": _rfc3339(token.creation_time),
                "expire_time": _rfc3339(token.expire_time),
                "last_renewal": _rfc3339(token.last_renewal) if token.last_renewal else None,
                "renewable": token.renewable,
                "ttl": token.remaining(now),
                "path": token.path,
            }
        )
    lease = b.core.expiration.get(lease_id)
    if lease is None:
        raise InvalidRequest("invalid lease")
    data: JSONObject = {
        "id": lease.lease_id,
        "issue_time": _rfc3339(lease.issue_time),
        "expire_time": _rfc3339(lease.expire_time),
        "last_renewal": _rfc3339(lease.last_renewal) if lease.last_renewal else None,
        "renewable": lease.renewable,
        "ttl": max(0, int(lease.expire_time - now)),
    }
    if lease.reason:  # awsbroker extension: why it was asked for (engines/aws/reason.py)
        data["reason"] = lease.reason
    return Response(data=data)


def list_leases(b: SystemBackend, req: Request, fd: FieldData) -> Response:
    prefix = fd.get_str("prefix")
    if prefix and not prefix.endswith("/"):
        prefix += "/"  # as Vault: `aws/creds/role` lists what is under `aws/creds/role/`
    keys = {*b.core.expiration.list_children(prefix), *token_leases.list_children(b.core, prefix)}
    listed: list[JSONValue] = []
    listed.extend(sorted(keys))
    return Response(data={"keys": listed})


def renew(b: SystemBackend, req: Request, fd: FieldData) -> Response:
    lease_id = _lease_id(fd)
    if lease_id.startswith("auth/"):
        raise InvalidRequest("tokens cannot be renewed through this endpoint")
    _, response = b.core.expiration.renew(lease_id, fd.get_duration("increment"))
    return response


def revoke(b: SystemBackend, req: Request, fd: FieldData) -> Response | None:
    lease_id = _lease_id(fd)
    expiration, tokens = b.core.expiration, b.core.tokens
    token = token_leases.find(b.core, lease_id)
    if token is not None:
        # As Vault revokes a token's lease: the token and its children, and their leases.
        found = token
        return _revoke(
            fd, queue=lambda: tokens.expire_now(found), now=lambda: tokens.revoke_tree(found)
        )
    return _revoke(
        fd, queue=lambda: expiration.expire_now(lease_id), now=lambda: expiration.revoke(lease_id)
    )


def revoke_prefix(b: SystemBackend, req: Request, fd: FieldData) -> Response | None:
    prefix = fd.get_str("prefix")
    expiration, tokens = b.core.expiration, b.core.tokens
    token = token_leases.find(b.core, prefix)  # a prefix may be one whole lease ID

    # Tokens are revoked by the path that created them too (`auth/token/create/<role>`), as
    # Vault's tokens, which have leases there, are.
    def queue() -> None:
        expiration.expire_prefix_now(prefix)
        tokens.expire_prefix_now(prefix)
        if token is not None:
            tokens.expire_now(token)

    def now() -> None:
        expiration.revoke_prefix(prefix)
        tokens.revoke_prefix(prefix)
        if token is not None:
            tokens.revoke_tree(token)

    return _revoke(fd, queue=queue, now=now)


def _revoke(
    fd: FieldData, *, queue: Callable[[], object], now: Callable[[], object]
) -> Response | None:
    """`sync=false` queues for the worker (202); otherwise revoke now. As Vault, a backend that
    cannot revoke makes this a 400 carrying its error, whatever its kind (an outage included)."""
    if not fd.get_bool("sync"):
        queue()
        return Response(status=202)
    try:
        now()
    except InvalidRequest:
        raise
    except BrokerError as exc:
        raise InvalidRequest(*exc.messages) from exc
    return None


def revoke_force(b: SystemBackend, req: Request, fd: FieldData) -> None:
    prefix = fd.get_str("prefix")
    token = token_leases.find(b.core, prefix)
    b.core.expiration.revoke_prefix(prefix, force=True)
    b.core.tokens.revoke_prefix(prefix)
    if token is not None:
        b.core.tokens.revoke_tree(token)


def _require_irrevocable(fd: FieldData) -> None:
    if fd.get_str("type") != "irrevocable":
        raise NotFound("unsupported lease type: only type=irrevocable is supported")


def count_leases(b: SystemBackend, req: Request, fd: FieldData) -> Response:
    _require_irrevocable(fd)
    by_path = b.core.expiration.index.count_by_mount(irrevocable=True)
    counts: JSONObject = {b.core.mount_accessor(path): n for path, n in by_path.items()}
    return Response(data={"lease_count": sum(by_path.values()), "counts": counts})


def list_irrevocable(b: SystemBackend, req: Request, fd: FieldData) -> Response:
    _require_irrevocable(fd)
    raw_limit = fd.get_str("limit") or str(MAX_LISTED)
    if raw_limit == "none":
        limit = 2**31
    elif raw_limit.isdigit() and int(raw_limit) > 0:
        limit = int(raw_limit)
    else:
        raise InvalidRequest("invalid 'limit': use a positive number or 'none'")
    total = b.core.expiration.index.count(irrevocable=True)
    leases: list[JSONValue] = [
        {
            "lease_id": lease.lease_id,
            "mount_id": b.core.mount_accessor(lease.mount_path),
            "error": lease.last_error or "unknown",
        }
        for lease in b.core.expiration.irrevocable(limit)
    ]
    response = Response(data={"lease_count": total, "leases": leases})
    if total > len(leases):
        response.add_warning(
            f"showing {len(leases)} of {total} irrevocable leases; use limit=none to list all"
        )
    return response


def tidy(b: SystemBackend, req: Request, fd: FieldData) -> Response:
    queued = b.core.expiration.tidy()
    response = Response(status=202)
    response.add_warning(f"Tidy operation queued {queued} leases whose token no longer exists")
    return response
