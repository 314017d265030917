"""`sys/leases/*` and the legacy `sys/renew`, `sys/revoke*`: a real core, a manual clock, the
test engine's leased `creds/<name>`. Everything goes through `Core.handle`, as from HTTP."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import pytest
from tests.support.core_harness import ENGINE_MOUNT, Harness, make_harness, rule

from awsbroker.core.expiration import IRREVOCABLE_RETRY
from awsbroker.sdk.errors import InvalidRequest, NotFound, PermissionDenied, UpstreamError
from awsbroker.sdk.expiry import KIND_LEASE
from awsbroker.sdk.logical import JSONObject, Operation, Response
from awsbroker.sdk.records import put_record

R, U, D, L = Operation.READ, Operation.UPDATE, Operation.DELETE, Operation.LIST
DEFAULT_TTL, MAX_TTL = 3600, 7200


@pytest.fixture
def h() -> Iterator[Harness]:
    harness = make_harness(default_ttl=DEFAULT_TTL, max_ttl=MAX_TTL)
    yield harness
    harness.close()


def rfc3339(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def data_of(response: Response | None) -> JSONObject:
    assert response is not None
    assert response.data is not None
    return response.data


def lookup(h: Harness, lease_id: str, token: str | None = None) -> JSONObject:
    return data_of(h.call(U, "sys/leases/lookup", {"lease_id": lease_id}, token))


def renew(h: Harness, lease_id: str, increment: int | str | None = None) -> Response:
    body: JSONObject = {"lease_id": lease_id}
    if increment is not None:
        body["increment"] = increment
    return h.ok(U, "sys/leases/renew", body)


def exists(h: Harness, lease_id: str) -> bool:
    return h.core.expiration.get(lease_id) is not None


def make_irrevocable(h: Harness, *lease_ids: str) -> None:
    """Let the worker fail these leases' revocations until it gives up on them (6 attempts
    each). The clock is left at the last failure."""
    h.engine.fail_revocations()
    for _ in range(100):
        leases = [h.core.expiration.get(lease_id) for lease_id in lease_ids]
        pending = [lease for lease in leases if lease is not None and not lease.irrevocable]
        if not pending:
            break
        h.clock.advance(max(0.0, min(lease.expire_time for lease in pending) - h.clock.now()))
        assert h.core.tick() > 0
    for lease_id in lease_ids:
        lease = h.core.expiration.get(lease_id)
        assert lease is not None
        assert lease.irrevocable
        assert lease.revoke_attempts == h.core.expiration.policy.max_attempts


def sudo_less_token(h: Harness) -> str:
    """Every capability on sys/leases/*, but no sudo."""
    h.policy("leases", rule("sys/leases/*", "create", "read", "update", "delete", "list"))
    return h.token({"policies": ["leases"]})


# ---- lookup ------------------------------------------------------------------------------------


def test_lookup_returns_the_lease_times_and_flags(h: Harness) -> None:
    issued = h.clock.now()
    lease_id = h.creds("a", {"ttl": 600}).lease_id
    assert lookup(h, lease_id) == {
        "id": lease_id,
        "issue_time": rfc3339(issued),
        "expire_time": rfc3339(issued + 600),
        "last_renewal": None,
        "renewable": True,
        "ttl": 600,
    }


def test_lookup_ttl_counts_down_with_the_clock(h: Harness) -> None:
    lease_id = h.creds("a", {"ttl": 600}).lease_id
    h.clock.advance(250)
    assert lookup(h, lease_id)["ttl"] == 350
    h.clock.advance(350)
    assert lookup(h, lease_id)["ttl"] == 0


def test_lookup_shows_non_renewable_and_the_last_renewal(h: Harness) -> None:
    fixed = h.creds("a", {"renewable": False}).lease_id
    assert lookup(h, fixed)["renewable"] is False
    lease_id = h.creds("b", {"ttl": 600}).lease_id
    h.clock.advance(100)
    renew(h, lease_id, 600)
    data = lookup(h, lease_id)
    assert data["last_renewal"] == rfc3339(h.clock.now())
    assert data["expire_time"] == rfc3339(h.clock.now() + 600)


def test_lookup_of_an_unknown_lease_is_invalid(h: Harness) -> None:
    with pytest.raises(InvalidRequest, match="invalid lease"):
        lookup(h, "test/creds/a/doesnotexist")
    with pytest.raises(InvalidRequest, match="invalid lease"):
        lookup(h, "../../token/id/x")


def test_lookup_without_a_lease_id_is_refused(h: Harness) -> None:
    with pytest.raises(InvalidRequest, match="lease_id must be specified"):
        h.call(U, "sys/leases/lookup", {})
    with pytest.raises(InvalidRequest, match="lease_id must be specified"):
        h.call(U, "sys/leases/lookup", {"lease_id": ""})


def test_lookup_after_revocation_is_invalid(h: Harness) -> None:
    lease_id = h.creds().lease_id
    h.call(U, "sys/leases/revoke", {"lease_id": lease_id})
    with pytest.raises(InvalidRequest, match="invalid lease"):
        lookup(h, lease_id)


# ---- renew -------------------------------------------------------------------------------------


def test_renew_extends_from_now_by_the_increment(h: Harness) -> None:
    lease_id = h.creds("a", {"ttl": 600}).lease_id
    h.clock.advance(500)
    response = renew(h, lease_id, 900)
    assert (response.lease_id, response.lease_duration, response.renewable) == (
        lease_id,
        900,
        True,
    )
    assert response.secret is None
    assert response.data == {"renewed": True}  # the backend's data comes back
    assert response.warnings == []
    assert lookup(h, lease_id)["ttl"] == 900
    lease = h.core.expiration.get(lease_id)
    assert lease is not None
    assert lease.expire_time == h.clock.now() + 900


def test_renew_hands_the_backend_the_original_secret(h: Harness) -> None:
    issued = h.clock.now()
    lease_id = h.creds("a", {"ttl": 600}).lease_id
    h.clock.advance(10)
    renew(h, lease_id, 60)
    [seen] = h.engine.renewed
    assert seen.internal_data == {"name": "a", "serial": 1}
    assert seen.issue_time == issued
    assert seen.secret_type == "test"


def test_renew_accepts_a_duration_string_and_the_url_forms(h: Harness) -> None:
    lease_id = h.creds("a", {"ttl": 60}).lease_id
    assert renew(h, lease_id, "10m").lease_duration == 600
    assert h.ok(U, f"sys/leases/renew/{lease_id}", {"increment": 120}).lease_duration == 120
    assert h.ok(U, "sys/renew", {"lease_id": lease_id, "increment": 130}).lease_duration == 130
    assert h.ok(U, f"sys/renew/{lease_id}", {"increment": 140}).lease_duration == 140
    assert len(h.engine.renewed) == 4


def test_renew_increment_wins_over_the_backends_proposal(h: Harness) -> None:
    """Vault's core computes the TTL with `CalculateTTL(increment, backend TTL, ...)`: the
    increment first, the backend's TTL only when there is none."""
    lease_id = h.creds("a", {"ttl": 600}).lease_id
    h.engine.renew_ttl = 1800
    assert renew(h, lease_id, 300).lease_duration == 300
    assert renew(h, lease_id).lease_duration == 1800
    assert renew(h, lease_id, 0).lease_duration == 1800


def test_renew_without_increment_or_proposal_keeps_the_lease_ttl(h: Harness) -> None:
    lease_id = h.creds("a", {"ttl": 600}).lease_id
    h.clock.advance(100)
    assert renew(h, lease_id).lease_duration == 600
    assert lookup(h, lease_id)["ttl"] == 600


def test_renew_is_capped_at_issue_time_plus_max_ttl_with_a_warning(h: Harness) -> None:
    lease_id = h.creds("a", {"ttl": 7100}).lease_id
    h.clock.advance(7000)
    response = renew(h, lease_id, 1000)
    assert response.lease_duration == 200
    assert response.warnings == [
        'TTL of "1000s" exceeded the effective max_ttl of "200s"; TTL value is capped accordingly'
    ]
    lease = h.core.expiration.get(lease_id)
    assert lease is not None
    assert lease.expire_time == lease.issue_time + MAX_TTL


def test_renew_is_capped_by_the_secrets_own_max_ttl(h: Harness) -> None:
    lease_id = h.creds("a", {"ttl": 100, "max_ttl": 500}).lease_id
    h.clock.advance(50)
    assert renew(h, lease_id, 1000).lease_duration == 450


def test_renew_is_capped_by_a_lower_max_ttl_from_the_backend(h: Harness) -> None:
    lease_id = h.creds("a", {"ttl": 600}).lease_id
    h.engine.renew_max_ttl = 1000  # e.g. an operator lowered the engine's lease_max
    h.clock.advance(500)
    response = renew(h, lease_id, 3000)
    assert response.lease_duration == 500
    assert response.warnings


def test_renew_past_the_max_ttl_is_refused(h: Harness) -> None:
    lease_id = h.creds("a", {"ttl": 100, "max_ttl": 100}).lease_id
    h.clock.advance(99.5)  # not expired, but less than a second left before the max
    with pytest.raises(InvalidRequest, match="past the max TTL, cannot renew"):
        renew(h, lease_id, 60)
    lease = h.core.expiration.get(lease_id)
    assert lease is not None
    assert lease.expire_time == lease.issue_time + 100  # unchanged


def test_renew_of_a_non_renewable_lease_is_refused(h: Harness) -> None:
    lease_id = h.creds("a", {"renewable": False}).lease_id
    with pytest.raises(InvalidRequest, match="lease is not renewable"):
        renew(h, lease_id, 60)
    assert h.engine.renewed == []


def test_renew_of_an_expired_lease_is_refused(h: Harness) -> None:
    lease_id = h.creds("a", {"ttl": 60}).lease_id
    h.clock.advance(60)  # due, but the worker has not run yet
    with pytest.raises(InvalidRequest, match="lease expired"):
        renew(h, lease_id, 60)
    assert h.engine.renewed == []


def test_renew_of_an_unknown_lease_is_refused(h: Harness) -> None:
    with pytest.raises(InvalidRequest, match="lease not found"):
        renew(h, "test/creds/a/doesnotexist", 60)
    with pytest.raises(InvalidRequest, match="lease_id must be specified"):
        h.call(U, "sys/leases/renew", {})


def test_token_leases_cannot_be_renewed_here(h: Harness) -> None:
    with pytest.raises(InvalidRequest, match="tokens cannot be renewed"):
        renew(h, "auth/token/create/abcdef", 60)


def test_renew_of_an_irrevocable_lease_is_refused(h: Harness) -> None:
    lease_id = h.creds("a", {"ttl": 60}).lease_id
    make_irrevocable(h, lease_id)
    with pytest.raises(
        InvalidRequest, match="lease is expired and has failed previous revocation attempts"
    ):
        renew(h, lease_id, 60)


def test_backend_renew_error_leaves_the_lease_unchanged(h: Harness) -> None:
    lease_id = h.creds("a", {"ttl": 60}).lease_id
    lease = h.core.expiration.get(lease_id)
    assert lease is not None
    lease.secret_type = "unknown"  # the engine refuses to renew what it does not know
    put_record(h.core.expiration._storage, f"id/{lease_id}", lease.to_record())
    with pytest.raises(InvalidRequest, match="unknown secret type"):
        renew(h, lease_id, 600)
    assert lookup(h, lease_id)["ttl"] == 60


# ---- revoke ------------------------------------------------------------------------------------


def test_revoke_is_synchronous_and_idempotent(h: Harness) -> None:
    lease_id = h.creds().lease_id
    assert h.call(U, "sys/leases/revoke", {"lease_id": lease_id}) is None  # 204
    assert h.engine.revoked_serials() == [1]
    assert not exists(h, lease_id)
    assert h.physical.count(kind=KIND_LEASE) == 0  # nothing left in the expiry index either
    assert h.call(U, "sys/leases/revoke", {"lease_id": lease_id}) is None
    assert h.call(U, "sys/leases/revoke", {"lease_id": "test/creds/never/was"}) is None
    assert len(h.engine.revoke_attempts) == 1


def test_revoke_url_and_legacy_forms(h: Harness) -> None:
    leases = [h.creds(name).lease_id for name in ("a", "b", "c")]
    h.call(U, f"sys/leases/revoke/{leases[0]}")
    h.call(U, "sys/revoke", {"lease_id": leases[1]})
    h.call(U, f"sys/revoke/{leases[2]}")
    assert sorted(h.engine.revoked_serials(), key=str) == [1, 2, 3]
    assert not any(exists(h, lease_id) for lease_id in leases)


def test_revoke_without_a_lease_id_is_refused(h: Harness) -> None:
    with pytest.raises(InvalidRequest, match="lease_id must be specified"):
        h.call(U, "sys/leases/revoke", {})


@pytest.mark.parametrize(
    "error",
    [lambda: InvalidRequest("no such user"), lambda: UpstreamError("AWS is down")],
    ids=["invalid-request", "upstream"],
)
def test_revoke_failure_is_a_400_and_keeps_the_lease(
    h: Harness, error: Callable[[], Exception]
) -> None:
    lease_id = h.creds().lease_id
    h.engine.fail_revocations(error=error)
    with pytest.raises(InvalidRequest) as caught:
        h.call(U, "sys/leases/revoke", {"lease_id": lease_id})
    assert caught.value.messages[0] in ("no such user", "AWS is down")
    assert exists(h, lease_id)
    assert lookup(h, lease_id)["id"] == lease_id
    # An explicit revocation that fails is not retried by the worker before its time.
    h.core.tick()
    assert len(h.engine.revoke_attempts) == 1


def test_revoke_with_sync_false_is_queued_for_the_worker(h: Harness) -> None:
    lease_id = h.creds().lease_id
    response = h.ok(U, "sys/leases/revoke", {"lease_id": lease_id, "sync": False})
    assert response.status == 202
    assert h.engine.revoke_attempts == []
    assert exists(h, lease_id)
    assert h.core.tick() == 1
    assert h.engine.revoked_serials() == [1]
    assert not exists(h, lease_id)


def test_revoke_prefix_revokes_only_that_prefix(h: Harness) -> None:
    mine = [h.creds("role").lease_id for _ in range(3)]
    similar = h.creds("role2").lease_id  # shares the string prefix, not the path segment
    other = h.creds("other").lease_id
    assert h.call(U, "sys/leases/revoke-prefix/test/creds/role") is None
    assert not any(exists(h, lease_id) for lease_id in mine)
    assert exists(h, similar)
    assert exists(h, other)
    assert sorted(h.engine.revoked_serials(), key=str) == [1, 2, 3]
    keys = data_of(h.call(L, "sys/leases/lookup/test/creds/"))["keys"]
    assert keys == ["other/", "role2/"]


def test_revoke_prefix_accepts_a_whole_lease_id_and_the_mount(h: Harness) -> None:
    one = h.creds("a").lease_id
    two = h.creds("a").lease_id
    h.call(U, f"sys/leases/revoke-prefix/{one}")
    assert not exists(h, one)
    assert exists(h, two)
    h.creds("b")
    h.call(U, "sys/revoke-prefix/test/")  # the legacy alias, a whole mount
    assert h.physical.count(kind=KIND_LEASE) == 0
    assert len(h.engine.revoked) == 3


def test_revoke_prefix_with_sync_false_queues(h: Harness) -> None:
    leases = [h.creds("a").lease_id for _ in range(2)]
    response = h.ok(U, "sys/leases/revoke-prefix/test/creds/a", {"sync": False})
    assert response.status == 202
    assert h.engine.revoke_attempts == []
    assert h.core.tick() == 2
    assert not any(exists(h, lease_id) for lease_id in leases)


def test_revoke_prefix_failure_is_a_400(h: Harness) -> None:
    lease_id = h.creds("a").lease_id
    h.engine.fail_revocations()
    with pytest.raises(InvalidRequest, match="upstream is down"):
        h.call(U, "sys/leases/revoke-prefix/test/creds/a")
    assert exists(h, lease_id)


def test_revoke_force_removes_leases_despite_backend_errors(h: Harness) -> None:
    leases = [h.creds("a").lease_id for _ in range(2)]
    kept = h.creds("b").lease_id
    h.engine.fail_revocations()
    assert h.call(U, "sys/leases/revoke-force/test/creds/a") is None
    assert not any(exists(h, lease_id) for lease_id in leases)
    assert exists(h, kept)
    assert len(h.engine.revoke_attempts) == 2  # it did try
    h.call(U, "sys/revoke-force/test/")  # the legacy alias
    assert h.physical.count(kind=KIND_LEASE) == 0


def test_revoke_force_also_ignores_unexpected_backend_exceptions(h: Harness) -> None:
    lease_id = h.creds("a").lease_id
    h.engine.fail_revocations(error=lambda: RuntimeError("bug in the engine"))
    h.call(U, "sys/leases/revoke-force/test/creds/a")
    assert not exists(h, lease_id)


# ---- list --------------------------------------------------------------------------------------


def test_list_leases_walks_one_segment_at_a_time(h: Harness) -> None:
    first = h.creds("a").lease_id
    h.creds("a")
    h.creds("b")
    assert data_of(h.call(L, "sys/leases/lookup/"))["keys"] == ["test/"]
    assert data_of(h.call(L, "sys/leases/lookup/test/"))["keys"] == ["creds/"]
    assert data_of(h.call(L, "sys/leases/lookup/test/creds/"))["keys"] == ["a/", "b/"]
    keys = data_of(h.call(L, "sys/leases/lookup/test/creds/a/"))["keys"]
    assert len(keys) == 2
    assert first.rsplit("/", 1)[1] in keys
    assert all(re.fullmatch(r"[A-Za-z0-9]{24}", key) for key in keys)


def test_list_leases_without_the_trailing_slash_lists_below_it(h: Harness) -> None:
    lease_id = h.creds("role").lease_id
    h.creds("role2")
    keys = data_of(h.call(L, "sys/leases/lookup/test/creds/role"))["keys"]
    assert keys == [lease_id.rsplit("/", 1)[1]]


def test_list_leases_is_empty_when_there_are_none(h: Harness) -> None:
    """The core answers an empty list; the HTTP layer turns it into a 404."""
    assert data_of(h.call(L, "sys/leases/lookup/test/creds/"))["keys"] == []
    h.creds("a")
    h.call(U, "sys/leases/revoke-prefix/test/creds/a")
    assert data_of(h.call(L, "sys/leases/lookup/test/creds/a/"))["keys"] == []


# ---- sudo and the default policy --------------------------------------------------------------


@pytest.mark.parametrize(
    ("operation", "path"),
    [
        (L, "sys/leases/lookup/test/"),
        (U, "sys/leases/revoke-prefix/test/"),
        (U, "sys/leases/revoke-force/test/"),
        (U, "sys/revoke-prefix/test/"),
        (U, "sys/revoke-force/test/"),
        (R, "sys/leases"),
        (R, "sys/leases/"),
    ],
)
def test_sudo_paths_refuse_tokens_without_sudo(h: Harness, operation: Operation, path: str) -> None:
    lease_id = h.creds().lease_id
    data: JSONObject = {"type": "irrevocable"} if operation is R else {}
    default_only = h.token({"policies": ["default"]})
    with pytest.raises(PermissionDenied):
        h.call(operation, path, data, token=default_only)
    h.policy("nosudo", rule("sys/*", "create", "read", "update", "list"))
    with pytest.raises(PermissionDenied):
        h.call(operation, path, data, token=h.token({"policies": ["nosudo"]}))
    assert exists(h, lease_id)
    assert h.engine.revoke_attempts == []


def test_sudo_tokens_may_list_and_revoke_by_prefix(h: Harness) -> None:
    h.policy("admin", rule("sys/*", "read", "update", "list", "sudo"))
    admin = h.token({"policies": ["admin"]})
    h.creds("a")
    assert data_of(h.call(L, "sys/leases/lookup/test/", token=admin))["keys"] == ["creds/"]
    assert h.call(U, "sys/leases/revoke-prefix/test/", token=admin) is None
    assert h.physical.count(kind=KIND_LEASE) == 0


def test_default_policy_may_look_up_and_renew(h: Harness) -> None:
    lease_id = h.creds("a", {"ttl": 60}).lease_id
    default_only = h.token({"policies": ["default"]})
    assert lookup(h, lease_id, token=default_only)["id"] == lease_id
    renewed = h.ok(
        U, "sys/leases/renew", {"lease_id": lease_id, "increment": 90}, token=default_only
    )
    assert renewed.lease_duration == 90
    legacy = h.ok(U, "sys/renew", {"lease_id": lease_id, "increment": 95}, token=default_only)
    assert legacy.lease_duration == 95


def test_default_policy_may_not_revoke(h: Harness) -> None:
    lease_id = h.creds().lease_id
    with pytest.raises(PermissionDenied):
        h.call(
            U, "sys/leases/revoke", {"lease_id": lease_id}, token=h.token({"policies": ["default"]})
        )
    assert exists(h, lease_id)


# ---- irrevocable leases: count and list -------------------------------------------------------


def test_count_and_list_irrevocable_leases(h: Harness) -> None:
    stuck = h.creds("a", {"ttl": 60}).lease_id
    healthy = h.creds("b", {"ttl": 3000}).lease_id
    empty = data_of(h.call(R, "sys/leases/count", {"type": "irrevocable"}))
    assert empty == {"lease_count": 0, "counts": {}}
    make_irrevocable(h, stuck)
    accessor = h.core.mounts.entries[ENGINE_MOUNT].accessor
    counted = data_of(h.call(R, "sys/leases/count", {"type": "irrevocable"}))
    assert counted == {"lease_count": 1, "counts": {accessor: 1}}
    listed = data_of(h.call(R, "sys/leases", {"type": "irrevocable"}))
    assert listed == {
        "lease_count": 1,
        "leases": [{"lease_id": stuck, "mount_id": accessor, "error": "upstream is down"}],
    }
    assert exists(h, healthy)


def test_irrevocable_listing_honours_the_limit(h: Harness) -> None:
    leases = [h.creds("a", {"ttl": 60}).lease_id for _ in range(3)]
    make_irrevocable(h, *leases)
    limited = h.ok(R, "sys/leases", {"type": "irrevocable", "limit": "2"})
    assert data_of(limited)["lease_count"] == 3
    assert len(data_of(limited)["leases"]) == 2  # type: ignore[arg-type]
    assert limited.warnings == ["showing 2 of 3 irrevocable leases; use limit=none to list all"]
    everything = h.ok(R, "sys/leases", {"type": "irrevocable", "limit": "none"})
    assert len(data_of(everything)["leases"]) == 3  # type: ignore[arg-type]
    assert everything.warnings == []
    with pytest.raises(InvalidRequest, match="invalid 'limit'"):
        h.call(R, "sys/leases", {"type": "irrevocable", "limit": "-1"})


@pytest.mark.parametrize("data", [{}, {"type": "all"}, {"type": "expired"}])
def test_count_and_list_support_only_type_irrevocable(h: Harness, data: JSONObject) -> None:
    with pytest.raises(NotFound):
        h.call(R, "sys/leases/count", data)
    with pytest.raises(NotFound):
        h.call(R, "sys/leases", data)


def test_irrevocable_lease_revoke_paths(h: Harness) -> None:
    """An operator's remedies: fix the backend and revoke, or revoke-force."""
    fixed = h.creds("a", {"ttl": 60}).lease_id
    forced = h.creds("b", {"ttl": 60}).lease_id
    make_irrevocable(h, fixed, forced)
    with pytest.raises(InvalidRequest):
        h.call(U, "sys/leases/revoke", {"lease_id": fixed})
    h.call(U, "sys/leases/revoke-force/test/creds/b")
    assert not exists(h, forced)
    h.engine.recover()
    h.call(U, "sys/leases/revoke", {"lease_id": fixed})
    assert not exists(h, fixed)
    counted = data_of(h.call(R, "sys/leases/count", {"type": "irrevocable"}))
    assert counted["lease_count"] == 0


def test_irrevocable_lease_is_retried_a_day_later(h: Harness) -> None:
    lease_id = h.creds("a", {"ttl": 60}).lease_id
    make_irrevocable(h, lease_id)
    attempts = len(h.engine.revoke_attempts)
    h.clock.advance(IRREVOCABLE_RETRY - 1)  # make_irrevocable leaves the clock at the failure
    h.core.tick()
    assert len(h.engine.revoke_attempts) == attempts
    h.engine.recover()
    h.clock.advance(1)
    assert h.core.tick() == 1
    assert not exists(h, lease_id)
    assert data_of(h.call(R, "sys/leases/count", {"type": "irrevocable"}))["lease_count"] == 0


# ---- tidy --------------------------------------------------------------------------------------


def test_tidy_is_accepted_and_reports_what_it_queued(h: Harness) -> None:
    h.policy("creds", rule("test/creds/*", "read"))
    user = h.token({"policies": ["creds"]})
    lease_id = h.creds("a", token=user).lease_id
    live = h.creds("b").lease_id  # the root token's: still there
    # Drop the token's record behind the token store's back: its lease is now dangling.
    h.core.barrier.delete(f"sys/token/id/{h.core.tokens.hash(user)}")
    response = h.ok(U, "sys/leases/tidy")
    assert response.status == 202
    assert response.warnings == ["Tidy operation queued 1 leases whose token no longer exists"]
    assert exists(h, lease_id)
    assert h.core.tick() == 1
    assert not exists(h, lease_id)
    assert exists(h, live)
