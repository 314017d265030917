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
identity's policy; it also reads every policy back (the inline one, the default version of
each managed overflow policy and which of those are attached) and rewrites or re-attaches one
that was changed, removed or detached by hand (drift), counting it and logging it. It also
finishes managed policies whose creation stopped before their ARN was recorded: adopted when
still needed, removed otherwise (`_finish_intents`). An identity whose write failed (AWS may
have applied it anyway) is marked (`session_deny.mark_dirty`), and the check rewrites it from
its records even when none is left.

A cut (`cut_older_sessions`) denies every session of an identity issued before a moment
(`aws:TokenIssueTime`, a second statement of the inline policy) and revokes, through the lease
manager, every lease of the mount whose session it ends. It is both the explicit
`revoke-sessions/:name` (path_revoke_sessions.py) and what a revocation falls back to when the
listed sessions would overflow every policy. Write-ahead too: the cut is stored, the policy
written, the leases revoked, the cut marked done; the periodic check finishes one left undone.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import math
import threading
from typing import TYPE_CHECKING

from awsbroker.engines.aws import deny_policies
from awsbroker.engines.aws.records import root_config, session_deny
from awsbroker.engines.aws.records.session_deny import ROLE, USER, Cut, DenyEntry, Target
from awsbroker.engines.aws.transport.errors import AWS_ERRORS, aws_error, error_code
from awsbroker.sdk.errors import BrokerError, InternalError, InvalidRequest
from awsbroker.sdk.logical import JSONObject, JSONValue
from awsbroker.sdk.telemetry import SESSION_DENY_REWRITES

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from awsbroker.engines.aws.backend import AWSBackend
    from awsbroker.engines.aws.transport.api import IAM, AssumeRoleRequest

log = logging.getLogger("awsbroker.engines.aws.session_revocation")
FIELD = "session_revocation"  # the role field, and the key of the lease's internal data
POLICY_PREFIX = "awsbroker-revoked-"
# A writer younger than this may still be running its revocation: its entry is left alone.
MIN_AGE = 5 * 60
SYNC_ROUNDS = 5
# A lease's TTL is its credentials' life rounded down to the second, and the lease manager
# revokes it on its tick: a revocation this close to the credentials' expiry is the lease
# expiring, and writes no deny (for a console lease too, whose console session may outlast it).
END_SLACK = 5.0
# One lock per policy (mount and identity): rewrites of one identity's policy in this process
# take turns, while a slow AWS call for one identity holds up no other.
_locks: dict[tuple[str, str], threading.Lock] = {}
_locks_guard = threading.Lock()


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
    """When the session ends anyway: the credentials' expiry, or, for a console sign-in, the
    latest its console session can end if later (`console_until`, set by path_console.py)."""
    ends = float(_number(block.get("expires_at")))
    return max(ends, float(_number(block.get("console_until"))))


def _number(value: JSONValue) -> float:
    return float(value) if isinstance(value, int | float) else 0.0


def revoke(backend: AWSBackend, internal: JSONObject, issued_at: float = 0.0) -> None:
    """Deny the lease's session before the lease is reported revoked (nothing to do for a lease
    issued without session revocation, whose session has ended anyway, or that a cut of every
    older session of its identity covers already). `issued_at` is the lease's issue time."""
    block = internal.get(FIELD)
    if block is None:
        return
    if not isinstance(block, dict):
        raise InternalError("secret has session_revocation but it could not be understood")
    now = backend.system.clock.now()
    if _number(block.get("expires_at")) <= now + END_SLACK:
        # The credentials have expired (or are about to): the lease's own end, and it writes
        # nothing, a console lease's too (its console session may run on, as AWS allows).
        return
    ends_at = session_end(block)
    target = _target(block)
    if issued_at and _covered(backend, target, issued_at):
        return  # its session was issued before a cut in force: denied already
    entry = DenyEntry(
        target=target,
        userid=str(block.get("userid")),
        lease_id=str(block.get("lease_id")),
        ends_at=ends_at,
        created_at=now,
        boot=backend.system.boot_id,
        issued_at=issued_at,
    )
    session_deny.put(backend, entry)
    try:
        try:
            sync(backend, target)
        except deny_policies.PolicyFull:
            # Past the last managed policy: every older session of the identity is cut
            # (this one with them), and every lease it cuts is revoked with it.
            cut_older_sessions(backend, target)
    except BrokerError:
        session_deny.delete(backend, entry)
        session_deny.mark_dirty(backend, target)  # the write may have reached AWS
        raise


def _target(block: JSONObject) -> Target:
    return Target(
        kind=str(block.get("kind")),
        name=str(block.get("name")),
        account=str(block.get("account") or ""),
        via=str(block.get("via") or ""),
    )


def _covered(backend: AWSBackend, target: Target, issued_at: float) -> bool:
    """Whether a cut known to be on AWS denies a session issued at `issued_at`: a done cut, or
    the one this thread has just written and is revoking the leases of. A cut only stored (its
    writer's PutRolePolicy may be in flight on another node, and may fail and be undone) is not
    trusted: the lease gets a deny of its own, redundant if the cut holds."""
    cut = session_deny.get_cut(backend, target.key)
    now = backend.system.clock.now()
    if cut is None or cut.ends_at <= now:
        return False
    before = cut.before if cut.done else _written_here().get(target.key, 0.0)
    # Issued well before the cut: nodes' clocks may differ a little, and a session a skewed
    # node stamped just before the cut may have been issued after it on AWS's clock.
    return issued_at < before - CLOCK_SLACK


_local = threading.local()


def _written_here() -> dict[str, float]:
    """The cuts this thread has written on AWS and is revoking the leases of (target key: the
    cut's time)."""
    found: dict[str, float] | None = getattr(_local, "cuts", None)
    if found is None:
        found = _local.cuts = {}
    return found


# --- every older session of one identity (`aws:TokenIssueTime`) ------------------------------

# How long a session issued before a cut may last: a role session 12 hours, a federation token
# or session token 36 hours (AWS's maxima); a console session signed in with its credentials
# up to SIGNIN_URL_LIFE later lasts that much past them (the cut's span adds it).
ROLE_SESSION_MAX = 43_200
USER_SESSION_MAX = 129_600
SIGNIN_URL_LIFE = 900  # AWS accepts a console sign-in token for 15 minutes
# How far apart the broker's nodes' clocks may be (a lease this close before a cut is denied on
# its own as well: a redundant deny, never a missing one).
CLOCK_SLACK = 5.0


def cut_older_sessions(backend: AWSBackend, target: Target) -> tuple[Cut, list[str], str]:
    """Deny every session of `target` issued before now, then revoke every lease of this mount
    whose session it cuts. Write-ahead: the cut is stored first; if the deny cannot be written
    it is removed, the cut it replaced put back, and the error raised (nothing changed: an
    earlier cut in force stays, its sessions denied). Once the deny is on AWS, a lease that
    fails to revoke is left to the periodic check, which finishes the cut (its message is the
    third answer). Returns the cut, the leases revoked, and that message ("" when none)."""
    now = backend.system.clock.now()
    span = (ROLE_SESSION_MAX if target.kind == ROLE else USER_SESSION_MAX) + SIGNIN_URL_LIFE
    wanted = Cut(
        target=target,
        before=float(math.ceil(now)),
        ends_at=math.ceil(now) + span,
        created_at=now,
        boot=backend.system.boot_id,
    )
    previous, stored = session_deny.put_cut(backend, wanted)
    try:
        sync(backend, target, gone_is_done=False)
    except BrokerError:
        # Back to the cut in force before (a later cut stored meanwhile stays: its writer
        # writes it); dropping it would let its sessions, whose leases are revoked, work again.
        session_deny.replace_cut(backend, stored, previous)
        session_deny.mark_dirty(backend, target)  # the write may have reached AWS
        raise
    return _finish_cut(backend, stored)


def _finish_cut(backend: AWSBackend, cut: Cut) -> tuple[Cut, list[str], str]:
    """Revoke the leases the cut ends (on every node: leases are in shared storage), then mark
    it done. Those issued since the cut (up to now) with session revocation are revoked too,
    with a deny of their own: a session whose answer arrived while the deny was being written
    may predate it on AWS. (One without would only be forgotten: it is left alone.)"""
    # The cut's time is rounded up to the second: wait for it, so that no lease is issued
    # before it (and so cut on AWS) after the walk below.
    wait = cut.before - backend.system.clock.now()
    if wait > 0:
        backend.sleep(wait)
    until = max(cut.before, backend.system.clock.now())
    which = _issued_to(cut.target)

    def marked(internal: JSONObject) -> bool:
        return which(internal) and isinstance(internal.get(FIELD), dict)

    revoked: list[str] = []
    written = _written_here()
    outer = written.get(cut.target.key)
    written[cut.target.key] = cut.before  # on AWS: the walk's revocations rely on it
    try:  # every lease of the mount: creds/, sts/, container-creds/, console/
        revoked += backend.system.revoke_leases("", cut.before, which)
        revoked += backend.system.revoke_leases("", until, marked)
    except BrokerError as exc:
        log.warning(
            "the cut of the sessions of %s %s is written; revoking its leases failed, will "
            "retry: %s", cut.target.kind, cut.target.name, exc,
        )  # fmt: skip
        return cut, revoked, "; ".join(exc.messages)
    finally:
        if outer is None:
            written.pop(cut.target.key, None)
        else:
            written[cut.target.key] = outer
    done = dataclasses.replace(cut, done=True)
    session_deny.replace_cut(backend, cut, done)  # a newer cut meanwhile stays not done
    log.info(
        "every session of %s %s issued before %s is denied until %s; %d lease(s) revoked",
        cut.target.kind, cut.target.name, deny_policies.timestamp(cut.before),
        deny_policies.timestamp(cut.ends_at), len(revoked),
    )  # fmt: skip
    return done, revoked, ""


def _issued_to(target: Target) -> Callable[[JSONObject], bool]:
    """Whether a lease's session comes from `target`: by its session revocation block, else by
    what it holds (an assumed role's ARN; a federation or session token is the broker user's)."""

    def which(internal: JSONObject) -> bool:
        if internal.get("is_sts") is not True:
            return False
        block = internal.get(FIELD)
        if isinstance(block, dict):
            return _target(block).key == target.key
        policy = internal.get("policy")
        arn = policy if isinstance(policy, str) and policy.startswith("arn:") else ""
        if target.kind == USER:
            return ":role/" not in arn
        parts = arn.split(":", 5)
        return (
            len(parts) == 6
            and parts[4] == target.account
            and parts[5].rsplit("/", 1)[-1] == target.name
        )

    return which


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
    config = root_config.current(backend)
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


def document(userids: list[str], before: float | None = None) -> str:
    """The policy AWS evaluates (deny_policies.py)."""
    return deny_policies.document(userids, before)


def _live(backend: AWSBackend, target: Target) -> tuple[list[str], float | None]:
    """The sessions to list, each once (oldest entry first; those a cut in force covers are
    left out: their sessions were issued well before it) and the cut's time (None when none is
    in force)."""
    now = backend.system.clock.now()
    cut = session_deny.get_cut(backend, target.key)
    before = cut.before if cut is not None and cut.ends_at > now else None
    live = [
        e
        for e in session_deny.entries(backend, target.key)
        if e.ends_at > now
        and (before is None or (e.issued_at or e.created_at) >= before - CLOCK_SLACK)
    ]
    ordered = sorted(live, key=lambda e: (e.created_at, e.userid))
    return list(dict.fromkeys(e.userid for e in ordered)), before


def sync(backend: AWSBackend, target: Target, *, gone_is_done: bool = True) -> None:
    """Make the identity's policies list exactly its live stored entries and its cut in force.
    Rounds repeat while these changed under the write (another revocation of the same identity,
    on another process, read less than there is now; an entry the periodic check marked as
    ended: the last writer writes it all). An identity deleted meanwhile has nothing to deny
    unless `gone_is_done` is false (a cut asked for: its answer names the missing identity)."""
    with _lock_for(backend, target):
        written: tuple[set[str], float | None] | None = None
        for _ in range(SYNC_ROUNDS):
            ordered, before = _live(backend, target)
            if (set(ordered), before) == written:
                return
            _write(backend, target, ordered, before, gone_is_done)
            written = (set(ordered), before)


def _lock_for(backend: AWSBackend, target: Target) -> threading.Lock:
    with _locks_guard:
        return _locks.setdefault((policy_name(backend), target.key), threading.Lock())


def _write(
    backend: AWSBackend,
    target: Target,
    userids: list[str],
    before: float | None,
    gone_is_done: bool,
) -> None:
    if target.kind not in (ROLE, USER):
        raise InternalError(f"unknown session revocation target {target.kind!r}")
    deny_policies.chunks(target, userids, before)  # raises PolicyFull before any AWS call
    try:
        with iam_for(backend, target) as iam:
            try:
                deny_policies.write(
                    backend, iam, target, policy_name(backend), userids, before=before
                )
            except AWS_ERRORS as exc:
                if (
                    not gone_is_done
                    or error_code(exc) != "NoSuchEntity"
                    or not deny_policies.identity_gone(iam, target)
                ):
                    raise
                # The role (or user) was deleted: a session of it can no longer act (AWS
                # evaluates a session's permissions at each call, and a deleted identity has
                # none; one made again under the name has another ID), so there is nothing to
                # deny, and a revocation of its lease is done.
                log.info(
                    "session deny policy of %s %s not written: the %s is gone",
                    target.kind, target.name, target.kind,
                )  # fmt: skip
    except AWS_ERRORS as exc:
        raise aws_error(f"Error writing the session deny policy on {target.name}", exc) from exc


def maintain(backend: AWSBackend) -> None:
    """The periodic check: finish cuts left half done, drop ended and abandoned entries (and
    ended cuts) and rewrite that identity's policies; otherwise read them back and rewrite
    them if they are not what is stored (drift)."""
    now = backend.system.clock.now()
    marked = session_deny.dirty(backend)
    keys = set(session_deny.target_keys(backend)) | set(session_deny.cut_keys(backend))
    for key in sorted(keys | set(marked)):
        stored = session_deny.entries(backend, key)
        cut = session_deny.get_cut(backend, key)
        mark = marked.get(key)
        if cut is not None:
            target = cut.target
        elif stored:
            target = stored[0].target
        elif mark is not None:
            target = mark[0]
        else:
            continue
        dropped = [e for e in stored if e.ends_at <= now or _abandoned(backend, e, now)]
        ended = cut is not None and cut.ends_at <= now
        try:
            if not stored and cut is None:
                sync(backend, target)  # a failed write may have left a deny: nothing to deny
            elif cut is not None and not cut.done and not ended and _stalled(backend, cut, now):
                sync(backend, target)  # roll forward: the deny, then its leases
                _finish_cut(backend, cut)
            elif dropped or ended:
                # Marked first (as ended), so that no process lists them while the policy is
                # written (another node's sync would write them back after this one, and
                # nothing would take them off: their records are gone next); then the policy,
                # then the records: were the write to fail, they stay and the identity is
                # visited again (no deny left behind with no record). One changed meanwhile (a
                # retry of its revocation wrote it again) is not one to drop.
                marking = [session_deny.mark_dropping(backend, e) for e in dropped]
                dropping = [e for e in marking if e is not None]
                sync(backend, target)  # a revocation's entry written again meanwhile stays
                for entry in dropping:
                    session_deny.delete(backend, entry)
                if cut is not None and ended:
                    session_deny.replace_cut(backend, cut, None)
                    sync(backend, target)  # a cut stored meanwhile is written back
            else:
                _check_drift(backend, target)
            if mark is not None:
                session_deny.clear_dirty(backend, key, mark[1])
        except BrokerError as exc:
            log.warning(
                "session deny policy of %s %s not rewritten, will retry: %s",
                target.kind, target.name, exc,
            )  # fmt: skip
    _finish_intents(backend, now)


def _finish_intents(backend: AWSBackend, now: float) -> None:
    """Managed policies whose creation stopped before their ARN was recorded (a process that
    died between CreatePolicy and its record): one the identity's sessions still need was
    adopted by the rewrite above (drift: never recorded); one not needed is detached and
    deleted here, once its writer is gone or after five minutes."""
    for intent, stored in session_deny.intents(backend):
        if backend.system.node_alive(intent.boot) and now - intent.created_at < MIN_AGE:
            continue  # its writer may still be creating it
        target = intent.target
        try:
            with _lock_for(backend, target):
                blob = stored
                if session_deny.managed_arns(backend, target).get(intent.index) is None:
                    if _needs(backend, target, intent.index):
                        continue  # adopted by the identity's next rewrite (drift, above)
                    # Claimed first: a writer that stored it again meanwhile keeps it. While
                    # the claim holds (CLAIM_LIFE, this process running) no write stores its
                    # intent over it: one that would adopt the policy fails and is retried.
                    claimed = session_deny.claim_intent(
                        backend, intent, stored, backend.system.boot_id, backend.system.clock.now()
                    )
                    if claimed is None or not _remove_claimed(backend, intent, claimed):
                        continue
                    blob = claimed
                session_deny.clear_intent(backend, intent, blob)
        except (*AWS_ERRORS, BrokerError) as exc:
            log.warning(
                "managed session deny policy %s of %s %s not removed, will retry: %s",
                intent.name, target.kind, target.name, exc,
            )  # fmt: skip


def _remove_claimed(
    backend: AWSBackend, intent: session_deny.ManagedIntent, claimed: bytes
) -> bool:
    """Detach and delete the unrecorded policy of a claimed intent; False when a write took it
    over meanwhile (the intent is then that write's, left alone)."""
    target = intent.target
    since = backend.system.clock.now()

    def still_unrecorded() -> bool:
        # Checked again before the detach and before the delete: the claim is still this one,
        # within its life, and no write recorded the policy.
        return (
            backend.system.clock.now() - since < session_deny.CLAIM_LIFE - CLAIM_MARGIN
            and session_deny.intent_is(backend, intent, claimed)
            and session_deny.managed_arns(backend, target).get(intent.index) is None
        )

    try:
        with iam_for(backend, target) as iam:
            done = deny_policies.remove_unrecorded(iam, target, intent.name, still_unrecorded)
    except (*AWS_ERRORS, BrokerError):
        session_deny.release_claim(backend, intent, claimed)  # retried after five minutes
        raise
    if done == deny_policies.KEPT:
        # Left to that write, and the identity rewritten from its records by the next check
        # (the policy attached again, were it detached here).
        session_deny.mark_dirty(backend, target)
        log.warning(
            "managed session deny policy %s of %s %s kept: a write took it over while it was "
            "being removed", intent.name, target.kind, target.name,
        )  # fmt: skip
        return False
    if done == deny_policies.REMOVED:
        log.warning(
            "removed managed session deny policy %s of %s %s, created by a write that stopped "
            "before recording it", intent.name, target.kind, target.name,
        )  # fmt: skip
    else:
        log.info(
            "managed session deny policy %s of %s %s was never created (a write stopped before "
            "CreatePolicy); its intent cleared", intent.name, target.kind, target.name,
        )  # fmt: skip
    return True


# A claimer stops this long before its claim runs out (the detach and delete calls take time).
CLAIM_MARGIN = 60.0


def _needs(backend: AWSBackend, target: Target, index: int) -> bool:
    """Whether the identity's live sessions fill managed policy `index` (then it is adopted
    by the next rewrite, not removed)."""
    ordered, before = _live(backend, target)
    try:
        parts = deny_policies.chunks(target, ordered, before) if ordered else []
    except deny_policies.PolicyFull:
        return True  # a cut is on its way: leave it to the write
    return index < len(parts)


def _stalled(backend: AWSBackend, cut: Cut, now: float) -> bool:
    """A cut not done whose writer stopped (or that is old): it is finished here."""
    return not backend.system.node_alive(cut.boot) or now - cut.created_at >= MIN_AGE


def _check_drift(backend: AWSBackend, target: Target) -> None:
    ordered, before = _live(backend, target)
    if not ordered and before is None:
        return
    name = policy_name(backend)
    want = deny_policies.wanted(backend, target, name, ordered, before)
    try:
        with iam_for(backend, target) as iam:
            found = deny_policies.read_back(backend, iam, target, name)
            drifted = [where for where in want if found.get(where) != want[where]]
            gone = bool(drifted) and deny_policies.identity_gone(iam, target)
    except AWS_ERRORS as exc:
        raise aws_error(f"Error reading the session deny policy of {target.name}", exc) from exc
    if not drifted:
        return
    if gone:
        # Deleted since its sessions were revoked: they can no longer act, nothing to write
        # (the entries leave at their end, as any other).
        log.debug(
            "session deny policy of %s %s not checked: the %s is gone",
            target.kind, target.name, target.kind,
        )  # fmt: skip
        return
    for where in drifted:
        shown = name if where == "" else where
        now_there = found.get(where)
        if where not in found:  # a managed policy whose creation stopped before its record
            how = "never recorded (a write stopped half way)"
        elif now_there is None:
            how = "removed"
        elif isinstance(now_there, tuple) and now_there[0] == deny_policies.DETACHED:
            how = "detached"
        else:
            how = "changed"
        log.warning(
            "session deny policy %s on %s %s was %s on AWS; writing it again",
            shown, target.kind, target.name, how,
        )  # fmt: skip
    backend.telemetry.count(
        SESSION_DENY_REWRITES, {"mount": backend.mount_path, "kind": target.kind}
    )
    sync(backend, target)


def _abandoned(backend: AWSBackend, entry: DenyEntry, now: float) -> bool:
    """An entry whose lease still exists, written by a process that stopped (or long ago): its
    revocation did not finish, so the deny is undone and the lease stays live."""
    if not backend.system.lease_exists(entry.lease_id):
        return False  # revoked: the deny stands until the session ends
    writer_gone = not backend.system.node_alive(entry.boot)
    return writer_gone or now - entry.created_at >= MIN_AGE
