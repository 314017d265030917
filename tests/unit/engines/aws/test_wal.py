"""Write-ahead entries, their rollback, and revocation of users already gone: the parts that
depend on time (rules 37-39), with a manual clock and moto (in process) behind the proxy."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from mypy_boto3_iam import IAMClient
from tests.support.aws_proxy import AWSProxy
from tests.support.moto_server import MotoServer, moto_client
from tests.support.system_view import FakeSystemView

from awsbroker.engines.aws import iam_user, wal
from awsbroker.engines.aws.backend import AWSBackend
from awsbroker.physical.inmem import InmemStorage
from awsbroker.sdk.clock import ManualClock
from awsbroker.sdk.errors import InternalError, InvalidRequest, StorageUnavailable, UpstreamError
from awsbroker.sdk.framework import BackendConfig
from awsbroker.sdk.logical import JSONValue, Operation, Request, Response, Secret

REGION = "us-east-1"
KEY = ("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
POLICY = json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
)


BOOT = "boot-this-process"


@pytest.fixture(scope="module")
def moto() -> Iterator[MotoServer]:
    with MotoServer() as server:
        server.disable_auth()
        yield server


@pytest.fixture(scope="module")
def module_proxy(moto: MotoServer) -> Iterator[AWSProxy]:
    with AWSProxy(moto.endpoint) as proxy:
        yield proxy


@pytest.fixture
def proxy(moto: MotoServer, module_proxy: AWSProxy) -> Iterator[AWSProxy]:
    moto.reset()
    module_proxy.clear()
    module_proxy.clear_faults()
    yield module_proxy
    module_proxy.clear_faults()


@pytest.fixture
def iam(moto: MotoServer) -> Iterator[IAMClient]:
    """An IAM client straight to moto, for checks (not recorded by the proxy)."""
    client = moto_client(moto.endpoint, "iam", KEY[0], KEY[1])
    yield client
    client.close()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def system(clock: ManualClock) -> FakeSystemView:
    return FakeSystemView(clock, boot_id=BOOT)


@pytest.fixture
def b(proxy: AWSProxy, system: FakeSystemView) -> Iterator[AWSBackend]:
    backend = AWSBackend(BackendConfig(storage=InmemStorage(), system=system, mount_path="aws/"))
    call(
        backend,
        Operation.UPDATE,
        "config/root",
        access_key=KEY[0],
        secret_key=KEY[1],
        region=REGION,
        iam_endpoint=proxy.endpoint,
        sts_endpoint=proxy.endpoint,
        max_retries=0,
    )
    call(backend, Operation.UPDATE, "roles/r", credential_type="iam_user", policy_document=POLICY)
    yield backend
    backend.clients.iam().close()


def call(b: AWSBackend, op: Operation, path: str, /, **data: JSONValue) -> Response | None:
    return b.handle_request(Request(operation=op, path=path, data=dict(data), display_name="root"))


def issue(b: AWSBackend) -> Response:
    response = call(b, Operation.READ, "creds/r")
    assert response is not None
    assert response.secret is not None
    return response


def users(iam: IAMClient) -> list[str]:
    return [u["UserName"] for u in iam.list_users()["Users"]]


def wal_entries(b: AWSBackend) -> list[dict[str, JSONValue]]:
    entries = []
    for wal_id in wal.pending(b):
        blob = b.storage.get(wal.PREFIX + wal_id)
        assert blob is not None
        entries.append(json.loads(blob))
    return entries


def fail_create_access_key(b: AWSBackend, proxy: AWSProxy) -> str:
    """Issue with CreateAccessKey refused; the name of the user left behind."""
    proxy.inject("CreateAccessKey", 409, "LimitExceeded", "Cannot exceed quota")
    with pytest.raises(InvalidRequest) as info:
        issue(b)
    assert info.value.messages == ["Error creating access keys: LimitExceeded: Cannot exceed quota"]
    proxy.clear_faults()
    (create,) = proxy.calls("CreateUser")
    name = create.param("UserName")
    assert name is not None
    return name


# --- rule 38: the rollback waits 5 minutes ---------------------------------------------------


def test_rollback_only_after_five_minutes(
    b: AWSBackend, proxy: AWSProxy, iam: IAMClient, clock: ManualClock
) -> None:
    name = fail_create_access_key(b, proxy)
    assert users(iam) == [name]
    assert wal_entries(b) == [
        {
            "type": "user",
            "data": {"UserName": name},
            "created_at": int(clock.now()),
            "boot": BOOT,
            "lease_id": "",  # the request carried no lease ID: no core chose one
        }
    ]

    clock.advance(wal.MIN_AGE - 1)
    iam_user.rollback_due(b)
    assert users(iam) == [name]
    assert len(wal.pending(b)) == 1
    assert proxy.calls("DeleteUser") == []

    clock.advance(1)
    b.periodic()  # the core's once-a-minute hook runs the same rollback
    assert users(iam) == []
    assert wal.pending(b) == []
    assert [c.param("UserName") for c in proxy.calls("DeleteUser")] == [name]


def test_rollback_removes_what_the_half_made_user_had(
    b: AWSBackend, proxy: AWSProxy, iam: IAMClient, clock: ManualClock
) -> None:
    iam.create_group(GroupName="g")
    call(b, Operation.UPDATE, "roles/r", iam_groups="g")
    name = fail_create_access_key(b, proxy)
    assert iam.list_user_policies(UserName=name)["PolicyNames"] == ["r"]

    clock.advance(wal.MIN_AGE)
    iam_user.rollback_due(b)
    assert users(iam) == []
    assert iam.get_group(GroupName="g")["Users"] == []
    assert wal.pending(b) == []


def test_failed_rollback_is_retried(
    b: AWSBackend, proxy: AWSProxy, iam: IAMClient, clock: ManualClock
) -> None:
    name = fail_create_access_key(b, proxy)
    clock.advance(wal.MIN_AGE)
    proxy.inject("ListGroupsForUser", 400, "Throttling", "Rate exceeded", times=1)
    iam_user.rollback_due(b)
    assert users(iam) == [name]
    assert len(wal.pending(b)) == 1

    clock.advance(60)
    iam_user.rollback_due(b)
    assert users(iam) == []
    assert wal.pending(b) == []


def test_entry_of_a_dead_process_is_rolled_back_at_once(
    b: AWSBackend, proxy: AWSProxy, iam: IAMClient, system: FakeSystemView
) -> None:
    name = fail_create_access_key(b, proxy)
    iam_user.rollback_due(b)
    assert users(iam) == [name]  # its writer is alive: the request may still be running
    system.alive.clear()  # the process that wrote it died (its successor runs the rollback)
    iam_user.rollback_due(b)
    assert users(iam) == []
    assert wal.pending(b) == []


def test_rollback_of_a_user_that_was_never_made(b: AWSBackend, clock: ManualClock) -> None:
    wal.put_user(b, "vault-never-created")
    clock.advance(wal.MIN_AGE)
    iam_user.rollback_due(b)  # NoSuchEntity counts as done for a WAL rollback
    assert wal.pending(b) == []


def test_unknown_kind_is_left_alone(b: AWSBackend, proxy: AWSProxy, clock: ManualClock) -> None:
    entry = {"type": "mystery", "data": {}, "created_at": int(clock.now())}
    b.storage.put(wal.PREFIX + "odd", json.dumps(entry).encode())
    clock.advance(wal.MIN_AGE)
    iam_user.rollback_due(b)
    assert wal.pending(b) == ["odd"]
    assert proxy.calls() == []


def test_failed_create_user_leaves_no_entry(b: AWSBackend, proxy: AWSProxy) -> None:  # rule 39
    proxy.inject("CreateUser", 409, "EntityAlreadyExists", "User already exists")
    with pytest.raises(InvalidRequest) as info:
        issue(b)
    assert info.value.messages == [
        "Error creating IAM user: EntityAlreadyExists: User already exists"
    ]
    assert wal.pending(b) == []


@pytest.mark.parametrize("unavailable", [True, False])
def test_entry_that_cannot_be_written_fails_before_any_aws_call(
    b: AWSBackend, proxy: AWSProxy, monkeypatch: pytest.MonkeyPatch, unavailable: bool
) -> None:
    error = StorageUnavailable() if unavailable else InternalError("storage unavailable")
    put = b.storage.put

    def failing_put(key: str, value: bytes) -> None:
        if key.startswith(wal.PREFIX):
            raise error
        put(key, value)

    monkeypatch.setattr(b.storage, "put", failing_put)
    with pytest.raises(InternalError) as info:
        issue(b)
    assert info.value.messages == ["error writing WAL entry: storage unavailable"]
    # An outage stays one (the caller may retry); anything else stays an internal error.
    assert isinstance(info.value, StorageUnavailable) == unavailable
    assert proxy.calls("CreateUser") == []


def test_throttled_create_user_is_upstream_error(b: AWSBackend, proxy: AWSProxy) -> None:
    proxy.inject("CreateUser", 400, "Throttling", "Rate exceeded")
    with pytest.raises(UpstreamError):
        issue(b)
    assert wal.pending(b) == []


def test_entry_cleared_once_the_lease_is_stored(
    b: AWSBackend, iam: IAMClient, clock: ManualClock
) -> None:
    response = issue(b)
    name = response.secret.internal_data["username"] if response.secret else None
    assert users(iam) == [name]
    assert len(wal.pending(b)) == 1  # until the core has stored the lease
    for hook in response.on_registered:
        hook()
    assert wal.pending(b) == []
    clock.advance(wal.MIN_AGE)
    iam_user.rollback_due(b)
    assert users(iam) == [name]


def test_credentials_that_never_got_a_lease_are_rolled_back(
    b: AWSBackend, iam: IAMClient, clock: ManualClock
) -> None:
    issue(b)  # the process "dies" before the lease is stored: the hooks never run
    clock.advance(wal.MIN_AGE)
    iam_user.rollback_due(b)
    assert users(iam) == []
    assert wal.pending(b) == []


def test_a_stored_lease_keeps_its_user_when_the_process_died_before_clearing_the_entry(
    b: AWSBackend, iam: IAMClient, system: FakeSystemView
) -> None:
    # The core stored the lease (its ID was chosen before the engine ran), then the process
    # died before the post-lease hook cleared the entry: the user belongs to a live lease.
    request = Request(
        operation=Operation.READ, path="creds/r", display_name="root", lease_id="aws/creds/r/L1"
    )
    response = b.handle_request(request)
    assert response is not None
    system.leases.add("aws/creds/r/L1")
    system.alive.clear()
    iam_user.rollback_due(b)
    assert len(users(iam)) == 1  # kept: its lease revokes it in time
    assert wal.pending(b) == []  # and the entry is cleared


# --- rule 37: a user already gone --------------------------------------------------------------


def secret(name: str, issue_time: float, is_sts: JSONValue = False) -> Secret:
    return Secret(
        "access_keys",
        internal_data={"username": name, "is_sts": is_sts},
        issue_time=issue_time,
    )


def revoke(b: AWSBackend, s: Secret) -> None:
    iam_user.revoke(b, Request(operation=Operation.DELETE, path="creds/r"), s)


def test_gone_user_of_an_old_lease_counts_as_revoked(
    b: AWSBackend, proxy: AWSProxy, clock: ManualClock
) -> None:
    revoke(b, secret("vault-gone", clock.now() - iam_user.GONE_GRACE - 1))
    assert [c.action for c in proxy.calls()] == ["ListGroupsForUser"]


def test_gone_user_of_a_young_lease_fails(b: AWSBackend, clock: ManualClock) -> None:
    with pytest.raises(InvalidRequest) as info:
        revoke(b, secret("vault-gone", clock.now() - iam_user.GONE_GRACE + 1))
    assert "NoSuchEntity" in info.value.messages[0]


def test_revoke_deletes_an_existing_user(b: AWSBackend, iam: IAMClient, clock: ManualClock) -> None:
    response = issue(b)
    assert response.secret is not None
    name = str(response.secret.internal_data["username"])
    revoke(b, secret(name, clock.now()))
    assert users(iam) == []


def test_revoke_of_sts_secret_calls_nothing(b: AWSBackend, proxy: AWSProxy) -> None:
    revoke(b, secret("anything", 0, is_sts=True))
    assert proxy.calls() == []


@pytest.mark.parametrize(
    ("internal", "message"),
    [
        ({"username": "u", "is_sts": "yes"}, "secret has is_sts but value could not be understood"),
        ({"is_sts": False}, "secret is missing username internal data"),
        ({"username": 5}, "secret is missing username internal data"),
    ],
)
def test_revoke_with_bad_internal_data(
    b: AWSBackend, proxy: AWSProxy, internal: dict[str, JSONValue], message: str
) -> None:
    with pytest.raises(InternalError) as info:
        revoke(b, Secret("access_keys", internal_data=internal))
    assert info.value.messages == [message]
    assert proxy.calls() == []


# --- renewal -----------------------------------------------------------------------------------


def test_renew_uses_config_lease(b: AWSBackend) -> None:
    request = Request(operation=Operation.UPDATE, path="creds/r")
    renewed = iam_user.renew(b, request, secret("u", 0))
    assert renewed is not None
    assert renewed.secret is not None
    assert (renewed.secret.ttl, renewed.secret.max_ttl) == (0, 0)  # 0: the mount's defaults
    call(b, Operation.UPDATE, "config/lease", lease="30m", lease_max="2h")
    renewed = iam_user.renew(b, request, secret("u", 0))
    assert renewed is not None
    assert renewed.secret is not None
    assert (renewed.secret.ttl, renewed.secret.max_ttl) == (1800, 7200)
    assert iam_user.renew(b, request, secret("u", 0, is_sts=True)) is None
