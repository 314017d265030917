"""Issue 19 section 1: revoking an STS credential ends it (docs/session-revocation.md).

A role with `session_revocation` marks the leases it issues with the identity its sessions come
from and the session's `aws:userid`. Revoking such a lease, before its credentials expire:

1. stores a deny entry (records/session_deny.py), the write-ahead record;
2. rewrites the broker-owned policy of that identity from its stored entries: one statement
   denying `*` to every listed `aws:userid`;
3. returns, and the lease manager deletes the lease. Any failure before that removes the entry
   and raises: the lease stays, and is retried as any failed revocation.

The periodic check (`maintain`) drops entries whose session has ended anyway, and entries whose
lease still exists though the process that wrote them is gone (a crash between the steps: the
revocation did not finish, and the lease manager retries it if it is due), then rewrites each
identity's policy; it also reads every policy back and rewrites one that was changed or removed
by hand (drift), counting it and logging it.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
import urllib.parse
from typing import TYPE_CHECKING

from awsbroker.engines.aws import deny_policies
from awsbroker.engines.aws.records import root_config, session_deny
from awsbroker.engines.aws.records.session_deny import ROLE, USER, DenyEntry, Target
from awsbroker.engines.aws.transport.errors import AWS_ERRORS, aws_error, error_code
from awsbroker.sdk.errors import BrokerError, InternalError, InvalidRequest
from awsbroker.sdk.logical import JSONObject, JSONValue
from awsbroker.sdk.telemetry import SESSION_DENY_REWRITES

if TYPE_CHECKING:
    from collections.abc import Iterator

    from awsbroker.engines.aws.backend import AWSBackend
    from awsbroker.engines.aws.transport.api import IAM, AssumeRoleRequest

log = logging.getLogger("awsbroker.engines.aws.session_revocation")
FIELD = "session_revocation"  # the role field, and the key of the lease's internal data
POLICY_PREFIX = "awsbroker-revoked-"
# A writer younger than this may still be running its revocation: its entry is left alone.
MIN_AGE = 5 * 60
SYNC_ROUNDS = 5
# A lease's TTL is its credentials' life rounded down to the second, and the lease manager
# revokes it on its tick: a revocation this close to the session's end is the lease expiring,
# and writes no deny.
END_SLACK = 5.0
_lock = threading.Lock()


def marker(target: Target, userid: str, expires_at: float, lease_id: str) -> JSONObject:
    """What an issued lease keeps, in its internal data, for its revocation."""
    return {
        "lease_id": lease_id,
        "kind": target.kind,
        "name": target.name,
        "account": target.account,
        "via": target.via,
        "userid": userid,
        "expires_at": expires_at,
    }


def session_end(block: JSONObject) -> float:
    """When the session ends anyway: the credentials' expiry, or, for a console session whose
    `SessionDuration` is longer, its end (`console_until`, the hook the console sign-in sets)."""
    ends = float(_number(block.get("expires_at")))
    return max(ends, float(_number(block.get("console_until"))))


def _number(value: JSONValue) -> float:
    return float(value) if isinstance(value, int | float) else 0.0


def revoke(backend: AWSBackend, internal: JSONObject) -> None:
    """Deny the lease's session before the lease is reported revoked (nothing to do for a lease
    issued without session revocation, or whose session has ended anyway)."""
    block = internal.get(FIELD)
    if block is None:
        return
    if not isinstance(block, dict):
        raise InternalError("secret has session_revocation but it could not be understood")
    now = backend.system.clock.now()
    ends_at = session_end(block)
    if ends_at <= now + END_SLACK:
        return  # the credentials have expired (or are about to): nothing left to cut
    target = Target(
        kind=str(block.get("kind")),
        name=str(block.get("name")),
        account=str(block.get("account") or ""),
        via=str(block.get("via") or ""),
    )
    entry = DenyEntry(
        target=target,
        userid=str(block.get("userid")),
        lease_id=str(block.get("lease_id")),
        ends_at=ends_at,
        created_at=now,
        boot=backend.system.boot_id,
    )
    session_deny.put(backend, entry)
    try:
        sync(backend, target)
    except BrokerError:
        session_deny.delete(backend, entry)
        raise


def check_role(backend: AWSBackend, role_arns: list[str], via: list[str]) -> None:
    """A role with session revocation on: every target role must be in the broker's own account,
    or in one where `via` names a role the broker assumes to write the deny (a 400 otherwise,
    before the role is stored)."""
    foreign = [arn for arn in role_arns if arn.count(":") >= 5]
    if not foreign:
        return
    try:
        account = backend.clients.sts().get_caller_identity()["Account"]
    except AWS_ERRORS as exc:
        raise InvalidRequest(
            "session_revocation needs the broker's AWS account, to check that it can write the "
            f"deny on each role in role_arns; reading it failed: {exc}"
        ) from exc
    reachable = {arn.split(":", 5)[4] for arn in via} | {account}
    elsewhere = [arn for arn in foreign if arn.split(":", 5)[4] not in reachable]
    if elsewhere:
        raise InvalidRequest(
            "session_revocation cannot write the deny on a role in another account than the "
            f"broker's ({account}): {', '.join(elsewhere)}; name a role in that account for the "
            "broker to assume in session_revocation_role_arns, or turn session_revocation off"
        )


def via_role(role_arns: list[str], account: str) -> str:
    """The role of `session_revocation_role_arns` in `account` ("" when none)."""
    return next((arn for arn in role_arns if arn.split(":", 5)[4] == account), "")


@contextlib.contextmanager
def iam_for(backend: AWSBackend, target: Target) -> Iterator[IAM]:
    """The mount's IAM client, or one on the credentials of the target's `via` role."""
    if not target.via:
        yield backend.clients.iam()
        return
    config = root_config.load(backend) or root_config.RootConfig()
    args: AssumeRoleRequest = {
        "RoleArn": target.via,
        "RoleSessionName": "awsbroker-session-revocation",
        "DurationSeconds": 900,
    }
    try:
        client = backend.clients.assumed_iam(config, args)
    except AWS_ERRORS as exc:
        raise aws_error(f"Error assuming {target.via} to write a session deny", exc) from exc
    try:
        yield client
    finally:
        client.close()


def policy_name(backend: AWSBackend) -> str:
    return POLICY_PREFIX + session_deny.mount_id(backend)


def document(userids: list[str]) -> str:
    """The policy AWS evaluates (deny_policies.py)."""
    return deny_policies.document(userids)


def _live(
    backend: AWSBackend, target: Target, exclude: frozenset[str] = frozenset()
) -> list[DenyEntry]:
    now = backend.system.clock.now()
    live = [
        e
        for e in session_deny.entries(backend, target.key)
        if e.ends_at > now and e.entry_id not in exclude
    ]
    return sorted(live, key=lambda e: (e.created_at, e.userid))  # oldest first


def sync(backend: AWSBackend, target: Target, exclude: frozenset[str] = frozenset()) -> None:
    """Make the identity's policy list exactly its live stored entries (but `exclude`d ones).
    Rounds repeat while the entries changed under the write (another revocation of the same
    identity, on another process, read fewer entries than there are now: the last writer
    writes them all)."""
    with _lock:
        written: set[str] | None = None
        for _ in range(SYNC_ROUNDS):
            live = _live(backend, target, exclude)
            ordered = list(dict.fromkeys(e.userid for e in live))
            if set(ordered) == written:
                return
            _write(backend, target, ordered)
            written = set(ordered)


def _write(backend: AWSBackend, target: Target, userids: list[str]) -> None:
    if target.kind not in (ROLE, USER):
        raise InternalError(f"unknown session revocation target {target.kind!r}")
    try:
        with iam_for(backend, target) as iam:
            deny_policies.write(backend, iam, target, policy_name(backend), userids)
    except AWS_ERRORS as exc:
        raise aws_error(f"Error writing the session deny policy on {target.name}", exc) from exc


def maintain(backend: AWSBackend) -> None:
    """The periodic check: drop ended and abandoned entries and rewrite that identity's policy;
    otherwise read the policy back and rewrite it if it is not what the entries say (drift)."""
    now = backend.system.clock.now()
    for key in session_deny.target_keys(backend):
        stored = session_deny.entries(backend, key)
        if not stored:
            continue
        target = stored[0].target
        dropped = [e for e in stored if e.ends_at <= now or _abandoned(backend, e, now)]
        try:
            if dropped:
                # The policy first, then the entries: were the write to fail, the entries stay
                # and the identity is visited again (no deny left behind with no entry).
                sync(backend, target, frozenset(e.entry_id for e in dropped))
                for entry in dropped:
                    session_deny.delete(backend, entry)
            else:
                _check_drift(backend, target)
        except BrokerError as exc:
            log.warning(
                "session deny policy of %s %s not rewritten, will retry: %s",
                stored[0].target.kind, stored[0].target.name, exc,
            )  # fmt: skip


def _check_drift(backend: AWSBackend, target: Target) -> None:
    ordered = list(dict.fromkeys(e.userid for e in _live(backend, target)))
    if not ordered:
        return
    want = json.loads(document(deny_policies.chunks(target, ordered)[0]))
    name = policy_name(backend)
    try:
        with iam_for(backend, target) as iam:
            found = _read_inline(iam, target, name)
    except AWS_ERRORS as exc:
        if error_code(exc) != "NoSuchEntity":
            raise aws_error(f"Error reading the session deny policy of {target.name}", exc) from exc
        found = None
    if found == want:
        return
    log.warning(
        "session deny policy %s on %s %s was %s on AWS; writing it again",
        name, target.kind, target.name, "removed" if found is None else "changed",
    )  # fmt: skip
    backend.telemetry.count(
        SESSION_DENY_REWRITES, {"mount": backend.mount_path, "kind": target.kind}
    )
    sync(backend, target)


def _read_inline(iam: IAM, target: Target, name: str) -> object:
    if target.kind == ROLE:
        found: object = iam.get_role_policy(RoleName=target.name, PolicyName=name)["PolicyDocument"]
    else:
        found = iam.get_user_policy(UserName=target.name, PolicyName=name)["PolicyDocument"]
    return json.loads(urllib.parse.unquote(found)) if isinstance(found, str) else found


def _abandoned(backend: AWSBackend, entry: DenyEntry, now: float) -> bool:
    """An entry whose lease still exists, written by a process that stopped (or long ago): its
    revocation did not finish, so the deny is undone and the lease stays live."""
    if not backend.system.lease_exists(entry.lease_id):
        return False  # revoked: the deny stands until the session ends
    writer_gone = not backend.system.node_alive(entry.boot)
    return writer_gone or now - entry.created_at >= MIN_AGE
