"""The lease manager behind a real core: registration, expiry by the worker (`Core.tick`),
retries with backoff, irrevocable leases, leases dying with their tokens, mount disable, and
claims. A manual clock and a fixed jitter source make every time exact; nothing sleeps."""

from __future__ import annotations

import dataclasses
import logging
import re
from collections.abc import Callable, Iterator

import pytest
from tests.support.core_harness import ENGINE_MOUNT, ENGINE_TYPE, Harness, make_harness, rule

from awsbroker.core.expiration import IRREVOCABLE_RETRY, Lease, RevocationPolicy
from awsbroker.core.mounts import new_entry
from awsbroker.sdk.errors import (
    InternalError,
    InvalidRequest,
    PermissionDenied,
    StorageUnavailable,
    UpstreamError,
)
from awsbroker.sdk.expiry import KIND_LEASE, KIND_TOKEN
from awsbroker.sdk.logical import JSONObject, Operation, Request, Response

R, U, D, L = Operation.READ, Operation.UPDATE, Operation.DELETE, Operation.LIST
DEFAULT_TTL, MAX_TTL = 3600, 7200
LEASE_ID = re.compile(r"test/creds/(?P<name>[\w-]+)/(?P<suffix>[A-Za-z0-9]{24})")


@pytest.fixture
def h() -> Iterator[Harness]:
    harness = make_harness(default_ttl=DEFAULT_TTL, max_ttl=MAX_TTL)
    yield harness
    harness.close()


@pytest.fixture
def make() -> Iterator[Callable[..., Harness]]:
    """For tests that need their own jitter or revocation policy."""
    made: list[Harness] = []

    def factory(**kwargs: object) -> Harness:
        harness = make_harness(DEFAULT_TTL, MAX_TTL, **kwargs)  # type: ignore[arg-type]
        made.append(harness)
        return harness

    yield factory
    for harness in made:
        harness.close()


def lease_of(h: Harness, lease_id: str) -> Lease:
    lease = h.core.expiration.get(lease_id)
    assert lease is not None, f"{lease_id} is gone"
    return lease


def exists(h: Harness, lease_id: str) -> bool:
    return h.core.expiration.get(lease_id) is not None


def leases_in_index(h: Harness) -> int:
    return h.physical.count(kind=KIND_LEASE)


def drain(h: Harness) -> int:
    """Tick at the current time until the worker finds nothing due. Returns how many ticks."""
    for ticks in range(1, 20):
        if h.core.tick() == 0:
            return ticks
    raise AssertionError("the worker never ran out of due entries")


def reader_token(h: Harness, data: JSONObject | None = None, parent: str | None = None) -> str:
    """A token that may read `test/creds/*` and create child tokens (and nothing of sys/)."""
    h.policy("creds", rule("test/creds/*", "read") + rule("auth/token/create", "update"))
    return h.token({"policies": ["creds"], **(data or {})}, parent)


def data_of(response: Response | None) -> JSONObject:
    assert response is not None
    assert response.data is not None
    return response.data


# ---- registration ------------------------------------------------------------------------------


def test_lease_id_is_the_request_path_and_24_base62_characters(h: Harness) -> None:
    first = h.creds("my-role").lease_id
    second = h.creds("my-role").lease_id
    match = LEASE_ID.fullmatch(first)
    assert match is not None
    assert match["name"] == "my-role"
    assert first != second
    assert lease_of(h, first).path == "test/creds/my-role"
    assert lease_of(h, first).mount_path == ENGINE_MOUNT


def test_registration_answers_with_the_lease(h: Harness) -> None:
    response = h.creds("a", {"ttl": 120})
    assert (response.lease_duration, response.renewable) == (120, True)
    assert response.data == {"username": "a-1"}
    assert response.secret is not None  # the HTTP layer drops it; the core leaves it be
    lease = lease_of(h, response.lease_id)
    assert (lease.issue_time, lease.expire_time) == (h.clock.now(), h.clock.now() + 120)
    assert lease.internal_data == {"name": "a", "serial": 1}
    assert lease.secret_type == "test"
    assert leases_in_index(h) == 1


@pytest.mark.parametrize(
    "case",
    [
        # PostgreSQL gone between storing the lease and the hook: expected, a warning.
        (StorageUnavailable("storage unavailable"), logging.WARNING, False),
        (InternalError("a bug"), logging.ERROR, True),
    ],
)
def test_a_failing_post_lease_hook_leaves_the_answer_and_the_lease(
    h: Harness,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    case: tuple[Exception, int, bool],
) -> None:
    """Hooks run once the lease is stored (iam_user clears its write-ahead entry): a failing
    one is logged, with a traceback unless it is the storage gone away."""
    error, level, traceback = case
    handle = h.engine.handle_request

    def fail() -> None:
        raise error

    def with_failing_hook(request: Request) -> Response | None:
        response = handle(request)
        if response is not None and response.secret is not None:
            response.on_registered.append(fail)
        return response

    monkeypatch.setattr(h.engine, "handle_request", with_failing_hook)
    with caplog.at_level(logging.WARNING, logger="awsbroker.core"):
        response = h.creds("a")
    assert exists(h, response.lease_id)
    [record] = [r for r in caplog.records if "post-lease hook" in r.getMessage()]
    assert record.levelno == level
    assert (record.exc_info is not None) == traceback


def test_ttl_defaults_to_the_mount_default(h: Harness) -> None:
    assert h.creds("a").lease_duration == DEFAULT_TTL
    h.core.tune_mount(ENGINE_MOUNT, lambda e: setattr(e.config, "default_lease_ttl", 90))
    assert h.creds("a").lease_duration == 90


def test_ttl_is_capped_by_the_mount_max_with_a_warning(h: Harness) -> None:
    response = h.creds("a", {"ttl": 10_000})
    assert response.lease_duration == MAX_TTL
    assert response.warnings == [
        'TTL of "10000s" exceeded the effective max_ttl of "7200s"; TTL value is capped accordingly'
    ]
    h.core.tune_mount(ENGINE_MOUNT, lambda e: setattr(e.config, "max_lease_ttl", 300))
    assert h.creds("a", {"ttl": 1000}).lease_duration == 300


def test_ttl_is_capped_by_the_secrets_own_max_and_so_is_the_lease_max(h: Harness) -> None:
    response = h.creds("a", {"ttl": 500, "max_ttl": 300})
    assert response.lease_duration == 300
    assert response.warnings
    lease = lease_of(h, response.lease_id)
    assert lease.max_expire_time == lease.issue_time + 300
    # A secret max above the mount's does not raise the mount's cap.
    lease = lease_of(h, h.creds("a", {"ttl": 100, "max_ttl": 99_999}).lease_id)
    assert lease.max_expire_time == lease.issue_time + MAX_TTL


def test_ttl_under_the_cap_gets_no_warning(h: Harness) -> None:
    assert h.creds("a", {"ttl": MAX_TTL}).warnings == []


def test_renewable_flag_is_kept(h: Harness) -> None:
    response = h.creds("a", {"renewable": False})
    assert response.renewable is False
    assert lease_of(h, response.lease_id).renewable is False


def test_the_lease_records_the_token_that_made_it(h: Harness) -> None:
    token = reader_token(h)
    lease_id = h.creds("a", token=token).lease_id
    assert lease_of(h, lease_id).token_hash == h.core.tokens.hash(token)
    index = h.core.barrier.list(f"sys/expire/token/{h.core.tokens.hash(token)}/")
    assert len(index) == 1
    root_lease = h.creds("b").lease_id
    assert lease_of(h, root_lease).token_hash == h.core.tokens.hash(h.root)


def test_responses_without_a_secret_get_no_lease(h: Harness) -> None:
    response = h.ok(U, "test/echo", {"msg": "hi"})
    assert response.lease_id == ""
    assert leases_in_index(h) == 0
    assert h.core.barrier.list("sys/expire/") == []


# ---- expiry ------------------------------------------------------------------------------------


def test_nothing_happens_before_the_ttl(h: Harness) -> None:
    lease_id = h.creds("a", {"ttl": 60}).lease_id
    assert h.core.tick() == 0
    h.clock.advance(59.9)
    assert h.core.tick() == 0
    assert h.engine.revoke_attempts == []
    assert exists(h, lease_id)


def test_an_expired_lease_is_revoked_by_the_next_tick(h: Harness) -> None:
    token = reader_token(h)
    lease_id = h.creds("a", {"ttl": 60}, token=token).lease_id
    h.clock.advance(60)
    assert h.core.tick() == 1
    assert h.engine.revoked_serials() == [1]
    [revoked] = h.engine.revoked
    assert revoked.issue_time == h.clock.now() - 60  # the backend learns when it was issued
    assert not exists(h, lease_id)
    assert leases_in_index(h) == 0
    assert h.core.barrier.list(f"sys/expire/token/{h.core.tokens.hash(token)}/") == []
    assert h.core.tick() == 0
    assert len(h.engine.revoke_attempts) == 1


def test_each_lease_expires_at_its_own_time(h: Harness) -> None:
    short = h.creds("a", {"ttl": 10}).lease_id
    long = h.creds("b", {"ttl": 100}).lease_id
    h.clock.advance(50)
    assert h.core.tick() == 1
    assert not exists(h, short)
    assert exists(h, long)
    h.clock.advance(50)
    assert h.core.tick() == 1
    assert not exists(h, long)


def test_a_renewed_lease_is_not_revoked_at_its_old_time(h: Harness) -> None:
    lease_id = h.creds("a", {"ttl": 100}).lease_id
    h.clock.advance(50)
    h.ok(U, "sys/leases/renew", {"lease_id": lease_id, "increment": 100})
    h.clock.advance(50)  # the old expiry
    assert h.core.tick() == 0
    assert exists(h, lease_id)
    h.clock.advance(50)  # the new one
    assert h.core.tick() == 1
    assert not exists(h, lease_id)


def test_a_stale_index_entry_puts_the_lease_back_on_time(h: Harness) -> None:
    """A renewal that lands after the worker claimed the old entry: the record wins."""
    lease_id = h.creds("a", {"ttl": 100}).lease_id
    h.physical.schedule(lease_id, KIND_LEASE, h.clock.now(), mount=ENGINE_MOUNT)
    assert h.core.tick() == 1
    assert h.engine.revoke_attempts == []
    assert exists(h, lease_id)
    h.clock.advance(100)
    assert h.core.tick() == 1
    assert not exists(h, lease_id)


def test_an_index_entry_without_a_lease_is_dropped(h: Harness) -> None:
    h.physical.schedule("test/creds/a/ghost", KIND_LEASE, h.clock.now(), mount=ENGINE_MOUNT)
    assert h.core.tick() == 1
    assert leases_in_index(h) == 0
    assert h.engine.revoke_attempts == []


def test_the_worker_takes_a_batch_at_a_time(make: Callable[..., Harness]) -> None:
    h = make(revocation=RevocationPolicy(batch=2))
    for _ in range(5):
        h.creds("a", {"ttl": 10})
    h.clock.advance(10)
    assert [h.core.tick() for _ in range(4)] == [2, 2, 1, 0]
    assert len(h.engine.revoked) == 5


def test_a_sealed_core_does_no_background_work(h: Harness) -> None:
    lease_id = h.creds("a", {"ttl": 10}).lease_id
    h.clock.advance(10)
    h.core.seal_vault()
    assert h.core.tick() == 0
    h.core.submit_unseal_key(h.key)
    assert h.core.tick() == 1
    assert not exists(h, lease_id)


# ---- retries, backoff, irrevocable leases ------------------------------------------------------


def test_failed_revocations_back_off_exponentially(h: Harness) -> None:
    lease_id = h.creds("a", {"ttl": 60}).lease_id
    h.engine.fail_revocations()
    h.clock.advance(60)
    for attempt, delay in enumerate([20, 40, 80, 160, 320], start=1):
        assert h.core.tick() == 1
        lease = lease_of(h, lease_id)
        assert (lease.revoke_attempts, lease.irrevocable) == (attempt, False)
        assert lease.expire_time == h.clock.now() + delay  # 2^n x 10 s, rand() = 0.5
        assert lease.last_error == "upstream is down"
        h.clock.advance(delay - 0.5)
        assert h.core.tick() == 0  # not before its time
        assert len(h.engine.revoke_attempts) == attempt
        h.clock.advance(0.5)
    assert h.core.tick() == 1  # the sixth failure
    lease = lease_of(h, lease_id)
    assert (lease.revoke_attempts, lease.irrevocable) == (6, True)
    assert lease.expire_time == h.clock.now() + IRREVOCABLE_RETRY
    assert h.physical.count(kind=KIND_LEASE, irrevocable=True) == 1


@pytest.mark.parametrize(("rand", "first_delay"), [(0.0, 10.0), (0.25, 15.0), (1.0, 30.0)])
def test_backoff_jitter_spans_plus_or_minus_half(
    make: Callable[..., Harness], rand: float, first_delay: float
) -> None:
    h = make(rand=lambda: rand)
    lease_id = h.creds("a", {"ttl": 60}).lease_id
    h.engine.fail_revocations()
    h.clock.advance(60)
    h.core.tick()
    assert lease_of(h, lease_id).expire_time == h.clock.now() + first_delay


def test_backoff_delay_is_capped() -> None:
    policy = RevocationPolicy()
    assert policy.delay(1, lambda: 0.5) == 20
    assert policy.delay(5, lambda: 0.5) == 320
    assert policy.delay(20, lambda: 0.5) == policy.max_delay
    assert policy.delay(20, lambda: 1.0) == policy.max_delay * 1.5


def test_a_backend_that_recovers_is_revoked_on_the_next_attempt(h: Harness) -> None:
    lease_id = h.creds("a", {"ttl": 60}).lease_id
    h.engine.fail_revocations(2)
    h.clock.advance(60)
    h.core.tick()
    h.clock.advance(20)
    h.core.tick()
    assert lease_of(h, lease_id).revoke_attempts == 2
    h.clock.advance(40)
    assert h.core.tick() == 1
    assert not exists(h, lease_id)
    assert len(h.engine.revoke_attempts) == 3
    assert h.engine.revoked_serials() == [1]


def test_an_unexpected_backend_exception_counts_as_a_failed_attempt(h: Harness) -> None:
    lease_id = h.creds("a", {"ttl": 60}).lease_id
    h.engine.fail_revocations(error=lambda: RuntimeError("bug in the engine"))
    h.clock.advance(60)
    assert h.core.tick() == 1
    lease = lease_of(h, lease_id)
    assert lease.revoke_attempts == 1
    assert lease.last_error == "bug in the engine"
    assert lease.expire_time == h.clock.now() + 20


def test_the_stored_error_is_truncated_or_unknown(h: Harness) -> None:
    long = h.creds("a", {"ttl": 60}).lease_id
    h.engine.fail_revocations(error=lambda: UpstreamError("x" * 500))
    h.clock.advance(60)
    h.core.tick()
    assert lease_of(h, long).last_error == "x" * 240
    blank = h.creds("b", {"ttl": 60}).lease_id
    h.engine.fail_revocations(error=RuntimeError)
    h.clock.advance(60)
    h.core.tick()
    assert lease_of(h, blank).last_error == "unknown"


def test_an_irrevocable_lease_is_retried_daily_and_removed_once_it_works(h: Harness) -> None:
    lease_id = h.creds("a", {"ttl": 60}).lease_id
    h.engine.fail_revocations()
    h.clock.advance(60)
    for delay in (20, 40, 80, 160, 320, 0):
        h.core.tick()
        h.clock.advance(delay)
    assert lease_of(h, lease_id).irrevocable
    h.clock.advance(IRREVOCABLE_RETRY - 1)
    assert h.core.tick() == 0
    h.clock.advance(1)
    assert h.core.tick() == 1  # still failing: the seventh attempt, another day
    lease = lease_of(h, lease_id)
    assert (lease.revoke_attempts, lease.irrevocable) == (7, True)
    assert lease.expire_time == h.clock.now() + IRREVOCABLE_RETRY
    h.engine.recover()
    h.clock.advance(IRREVOCABLE_RETRY)
    assert h.core.tick() == 1
    assert not exists(h, lease_id)
    assert h.physical.count(kind=KIND_LEASE, irrevocable=True) == 0
    assert h.engine.revoked_serials() == [1]


# ---- claims ------------------------------------------------------------------------------------


def test_an_entry_whose_settling_failed_comes_back_when_its_claim_runs_out(
    make: Callable[..., Harness], monkeypatch: pytest.MonkeyPatch
) -> None:
    h = make(revocation=RevocationPolicy(claim_for=120))
    lease_id = h.creds("a", {"ttl": 60}).lease_id
    real_get = h.physical.get

    def broken_get(key: str) -> bytes | None:
        if key.startswith("sys/expire/id/"):
            raise OSError("storage is down")
        return real_get(key)

    monkeypatch.setattr(h.physical, "get", broken_get)
    h.clock.advance(60)
    assert h.core.tick() == 1  # claimed, but settling raised: logged, left to the claim
    monkeypatch.setattr(h.physical, "get", real_get)
    assert h.engine.revoke_attempts == []
    h.clock.advance(119)
    assert h.core.tick() == 0  # still held by the claim
    h.clock.advance(1)
    assert h.core.tick() == 1
    assert h.engine.revoked_serials() == [1]
    assert not exists(h, lease_id)


# ---- tokens and their leases -------------------------------------------------------------------


def token_leases(h: Harness, token: str, count: int = 2) -> list[str]:
    return [h.creds("a", {"ttl": 3600}, token=token).lease_id for _ in range(count)]


@pytest.mark.parametrize("how", ["revoke", "revoke-self", "revoke-accessor"])
def test_revoking_a_token_queues_its_leases_for_the_next_tick(h: Harness, how: str) -> None:
    h.policy("creds", rule("test/creds/*", "read"))
    created = h.create_token({"policies": ["creds", "default"]})
    leases = token_leases(h, created.client_token)
    other = h.creds("b").lease_id  # the root token's
    if how == "revoke":
        h.call(U, "auth/token/revoke", {"token": created.client_token})
    elif how == "revoke-self":
        h.call(U, "auth/token/revoke-self", token=created.client_token)
    else:
        h.call(U, "auth/token/revoke-accessor", {"accessor": created.accessor})
    assert h.engine.revoke_attempts == []  # queued, not revoked inline
    assert all(lease_of(h, lease_id).expire_time == h.clock.now() for lease_id in leases)
    assert h.core.tick() == 2
    assert not any(exists(h, lease_id) for lease_id in leases)
    assert exists(h, other)
    assert sorted(h.engine.revoked_serials(), key=str) == [1, 2]


def test_revoking_a_parent_revokes_its_childrens_leases(h: Harness) -> None:
    parent = reader_token(h)
    child = reader_token(h, parent=parent)
    grandchild = reader_token(h, parent=child)
    leases = [*token_leases(h, child, 1), *token_leases(h, grandchild, 1)]
    parent_lease = h.creds("a", token=parent).lease_id
    h.call(U, "auth/token/revoke", {"token": parent})
    assert h.core.tick() == 3
    assert not any(exists(h, lease_id) for lease_id in [*leases, parent_lease])
    with pytest.raises(PermissionDenied):
        h.creds("a", token=grandchild)


def test_an_orphans_leases_survive_the_parents_revocation(h: Harness) -> None:
    parent = reader_token(h)
    h.policy("orphaner", rule("auth/token/create-orphan", "update") + rule("test/creds/*", "read"))
    creator = h.token({"policies": ["orphaner"]})
    orphan = h.ok(U, "auth/token/create-orphan", {"policies": ["orphaner"]}, token=creator).auth
    assert orphan is not None
    orphan_lease = h.creds("a", token=orphan.client_token).lease_id
    parent_lease = h.creds("a", token=parent).lease_id
    h.call(U, "auth/token/revoke", {"token": creator})
    h.call(U, "auth/token/revoke", {"token": parent})
    drain(h)
    assert not exists(h, parent_lease)
    assert exists(h, orphan_lease)
    assert h.creds("a", token=orphan.client_token).lease_id  # the orphan still works


def test_revoke_orphan_keeps_the_childrens_leases(h: Harness) -> None:
    parent = reader_token(h)
    child = reader_token(h, parent=parent)
    child_lease = h.creds("a", token=child).lease_id
    parent_lease = h.creds("a", token=parent).lease_id
    h.call(U, "auth/token/revoke-orphan", {"token": parent})
    drain(h)
    assert not exists(h, parent_lease)
    assert exists(h, child_lease)


def test_an_expired_token_and_its_leases_are_revoked_by_the_worker(h: Harness) -> None:
    token = reader_token(h, {"ttl": 60})
    leases = token_leases(h, token)
    assert h.physical.count(kind=KIND_TOKEN) == 1
    h.clock.advance(59)
    drain(h)
    assert all(exists(h, lease_id) for lease_id in leases)
    h.clock.advance(1)
    drain(h)  # the token goes, its leases are queued, then revoked: no time passes
    assert not any(exists(h, lease_id) for lease_id in leases)
    assert len(h.engine.revoked) == 2
    assert h.physical.count(kind=KIND_TOKEN) == 0
    with pytest.raises(PermissionDenied):
        h.creds("a", token=token)


def test_a_token_revoked_while_its_request_issues_gets_no_lease_and_the_secret_is_revoked(
    h: Harness,
) -> None:
    """Revocation first: the token goes while the engine makes the secret; the lease the core
    then stores is revoked at once and the caller refused."""
    token = reader_token(h)
    h.engine.during_issue = lambda: h.call(U, "auth/token/revoke", {"token": token})
    with pytest.raises(PermissionDenied):
        h.creds("a", token=token)
    assert h.engine.revoked_serials() == [1]
    assert leases_in_index(h) == 0
    assert data_of(h.call(L, "sys/leases/lookup/test/creds/a/"))["keys"] == []


def test_a_token_revoked_just_after_its_lease_was_stored_takes_the_lease_with_it(
    h: Harness,
) -> None:
    """Registration first: the revocation's sweep finds the lease, and the worker revokes it."""
    token = reader_token(h)
    lease_id = h.creds("a", token=token).lease_id
    h.call(U, "auth/token/revoke", {"token": token})
    drain(h)
    assert not exists(h, lease_id)
    assert h.engine.revoked_serials() == [1]


def test_a_revocation_cut_short_is_finished_by_the_worker(h: Harness) -> None:
    """A crash between ending the token and sweeping its leases: the token is expired and due,
    so the worker revokes it (and its leases) without anyone asking again."""
    token = reader_token(h)
    lease_id = h.creds("a", token=token).lease_id
    entry = h.core.tokens.lookup(token)
    assert entry is not None

    def crash(_: object) -> None:
        raise RuntimeError("the process died here")

    h.core.tokens.revoke_hooks.insert(0, crash)
    with pytest.raises(RuntimeError):
        h.core.tokens.revoke_tree(entry)
    h.core.tokens.revoke_hooks.remove(crash)
    with pytest.raises(PermissionDenied):
        h.creds("a", token=token)  # ended: refused at once
    drain(h)
    assert not exists(h, lease_id)
    assert h.physical.count(kind=KIND_TOKEN) == 0


def test_a_renewed_token_is_put_back_on_time_by_a_stale_entry(h: Harness) -> None:
    token = reader_token(h, {"ttl": 100})
    lease_id = h.creds("a", token=token).lease_id
    token_hash = h.core.tokens.hash(token)
    h.physical.schedule(token_hash, KIND_TOKEN, h.clock.now())  # as if renewed after a claim
    assert h.core.tick() == 1
    assert exists(h, lease_id)
    h.clock.advance(100)  # well inside the 300 s claim the stale entry would have held
    drain(h)
    assert not exists(h, lease_id)
    assert h.physical.count(kind=KIND_TOKEN) == 0


def test_a_token_whose_last_use_makes_a_lease_fails_and_leaves_no_lease(h: Harness) -> None:
    token = reader_token(h, {"num_uses": 1})
    with pytest.raises(InvalidRequest, match="last use cannot create a lease"):
        h.creds("a", token=token)
    assert h.engine.revoked_serials() == [1]
    assert leases_in_index(h) == 0
    assert data_of(h.call(L, "sys/leases/lookup/test/creds/a/"))["keys"] == []
    with pytest.raises(PermissionDenied):
        h.creds("a", token=token)


def test_a_last_use_lease_that_cannot_be_revoked_is_left_to_the_worker(h: Harness) -> None:
    token = reader_token(h, {"num_uses": 1})
    h.engine.fail_revocations(1)
    with pytest.raises(InvalidRequest, match="last use cannot create a lease"):
        h.creds("a", token=token)
    [lease_id] = h.core.expiration.list_children("test/creds/a/")
    assert lease_of(h, f"test/creds/a/{lease_id}").expire_time == h.clock.now()
    assert h.core.tick() == 1
    assert h.engine.revoked_serials() == [1]
    assert leases_in_index(h) == 0


def test_a_limited_token_keeps_its_leases_until_its_last_use(h: Harness) -> None:
    token = reader_token(h, {"num_uses": 2})
    first = h.creds("a", token=token).lease_id
    drain(h)
    assert exists(h, first)
    h.call(R, "auth/token/lookup-self", token=token)  # the last use, which makes no lease
    drain(h)
    assert not exists(h, first)
    assert h.engine.revoked_serials() == [1]


def test_tidy_queues_leases_whose_token_is_gone(h: Harness) -> None:
    token = reader_token(h)
    orphaned = token_leases(h, token)
    kept = h.creds("b").lease_id
    h.core.barrier.delete(f"sys/token/id/{h.core.tokens.hash(token)}")  # gone, hooks unrun
    assert h.core.expiration.tidy() == 2
    assert h.core.tick() == 2
    assert not any(exists(h, lease_id) for lease_id in orphaned)
    assert exists(h, kept)
    assert h.core.expiration.tidy() == 0


def test_tidy_drops_token_index_entries_whose_lease_is_gone(h: Harness) -> None:
    token = reader_token(h)
    lease_id = h.creds("a", token=token).lease_id
    token_hash = h.core.tokens.hash(token)
    h.core.barrier.delete(f"sys/expire/id/{lease_id}")  # as if a crash lost the record
    h.core.barrier.delete(f"sys/token/id/{token_hash}")
    assert h.core.expiration.tidy() == 0
    assert h.core.barrier.list(f"sys/expire/token/{token_hash}/") == []


# ---- mounts ------------------------------------------------------------------------------------


def test_disabling_a_mount_revokes_its_leases_synchronously(h: Harness) -> None:
    h.core.enable_mount(new_entry("other/", ENGINE_TYPE))
    other_engine = h.engine
    mine = [h.creds("a").lease_id for _ in range(2)]
    other = h.ok(R, "other/creds/x").lease_id
    test_engine = h.engines[0]
    assert h.call(D, "sys/mounts/test") is None
    assert sorted(test_engine.revoked_serials(), key=str) == [1, 2]
    assert not any(exists(h, lease_id) for lease_id in mine)
    assert exists(h, other)
    assert other_engine.revoke_attempts == []
    assert ENGINE_MOUNT not in h.core.mounts.entries


def test_a_failing_revocation_makes_disable_fail_and_keeps_the_mount(h: Harness) -> None:
    lease_id = h.creds("a").lease_id
    h.engine.fail_revocations(error=lambda: InvalidRequest("cannot delete the user"))
    with pytest.raises(InvalidRequest, match="cannot delete the user"):
        h.call(D, "sys/mounts/test")
    assert ENGINE_MOUNT in h.core.mounts.entries
    assert exists(h, lease_id)
    h.engine.recover()
    assert h.creds("b").lease_id  # still routed and working
    h.engine.fail_revocations()
    h.call(U, "sys/leases/revoke-force/test/")
    assert h.call(D, "sys/mounts/test") is None
    assert ENGINE_MOUNT not in h.core.mounts.entries
    assert leases_in_index(h) == 0


def test_a_lease_record_is_the_fields_as_asdict_gives_them() -> None:
    lease = Lease(
        lease_id="aws/creds/r/x", path="aws/creds/r", mount_path="aws/", token_hash="t",
        secret_type="access_keys", internal_data={"username": "u", "policy": {"a": [1]}},
        issue_time=1.0, expire_time=2.0, max_expire_time=3.0, renewable=True, ttl=1,
    )  # fmt: skip
    assert lease.to_record() == dataclasses.asdict(lease)
    # A reason rides in `data`, a field every build reads: the record's keys do not change.
    keys = set(lease.to_record())
    lease.data = {"reason": "INC-1"}
    assert set(lease.to_record()) == keys
    assert lease.reason == "INC-1"
    assert lease.secret().reason == "INC-1"
    assert Lease.from_record(lease.to_record()) == lease


# ---- revoking the leases an engine names (issue 19 section 1: a cut of older sessions) ----------


def test_revoke_issued_before_revokes_the_older_leases_it_is_asked_for(h: Harness) -> None:
    old_a = h.creds("a").lease_id
    old_b = h.creds("b").lease_id  # serial 2: not asked for
    h.clock.advance(10)
    new_a = h.creds("a").lease_id

    revoked = h.core.expiration.revoke_issued_before(
        "test/creds/", h.clock.now() - 5, lambda data: data.get("serial") != 2
    )

    assert revoked == [old_a]
    assert h.engine.revoked_serials() == [1]  # through the backend, as any revocation
    assert not exists(h, old_a)
    assert exists(h, old_b)
    assert exists(h, new_a)


def test_revoke_issued_before_tries_every_lease_then_raises_and_keeps_the_failed(
    h: Harness,
) -> None:
    first, second = h.creds("a").lease_id, h.creds("b").lease_id
    h.clock.advance(1)
    h.engine.fail_revocations()
    with pytest.raises(InternalError, match="2 lease\\(s\\) could not be revoked"):
        h.core.expiration.revoke_issued_before("test/creds/", h.clock.now(), lambda data: True)
    assert len(h.engine.revoke_attempts) == 2
    assert exists(h, first)
    assert exists(h, second)
