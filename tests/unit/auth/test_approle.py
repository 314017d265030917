"""The AppRole backend on its own (in-memory storage, a manual clock): what it stores, how
secret IDs expire and are tidied, and the limits a secret ID may not exceed."""

from __future__ import annotations

from typing import Any

import pytest
from tests.support.system_view import FakeSystemView

from awsbroker.auth.approle.backend import AppRoleBackend
from awsbroker.physical.inmem import InmemStorage
from awsbroker.sdk.clock import ManualClock
from awsbroker.sdk.errors import InvalidRequest, NotFound
from awsbroker.sdk.framework import BackendConfig
from awsbroker.sdk.logical import Auth, Operation, Request, Response
from awsbroker.sdk.storage import list_recursive

INVALID = "invalid role or secret ID"


class World:
    def __init__(self) -> None:
        self.clock = ManualClock()
        self.storage = InmemStorage()
        self.backend = AppRoleBackend(
            BackendConfig(self.storage, FakeSystemView(self.clock), "auth/approle/")
        )

    def call(
        self, op: Operation, path: str, address: str = "127.0.0.1", **data: Any
    ) -> Response | None:
        return self.backend.handle_request(Request(op, path, data, remote_address=address))

    def ok(self, op: Operation, path: str, **data: Any) -> dict[str, Any]:
        response = self.call(op, path, **data)
        assert response is not None
        assert response.data is not None
        return dict(response.data)

    def login(self, role_id: str, secret_id: str, address: str = "127.0.0.1") -> Auth:
        response = self.call(
            Operation.UPDATE, "login", address, role_id=role_id, secret_id=secret_id
        )
        assert response is not None
        assert response.auth is not None
        return response.auth

    def role(self, **fields: Any) -> str:
        self.call(Operation.UPDATE, "role/r", **fields)
        return str(self.ok(Operation.READ, "role/r/role-id")["role_id"])

    def secret(self, **fields: Any) -> str:
        return str(self.ok(Operation.UPDATE, "role/r/secret-id", **fields)["secret_id"])


@pytest.fixture
def world() -> World:
    return World()


def test_secret_ids_are_stored_only_as_hmacs(world: World) -> None:
    role_id = world.role()
    secret = world.secret()
    custom = "a-secret-of-my-own"
    world.call(Operation.UPDATE, "role/r/custom-secret-id", secret_id=custom)
    stored = b"".join(
        key.encode() + (world.storage.get(key) or b"") for key in list_recursive(world.storage)
    )
    assert secret.encode() not in stored
    assert custom.encode() not in stored
    assert world.login(role_id, secret).metadata == {"role_name": "r"}


def test_an_expired_secret_id_is_refused_unlisted_and_tidied(world: World) -> None:
    role_id = world.role(secret_id_ttl="60s")
    secret = world.secret()
    world.clock.advance(61)
    with pytest.raises(InvalidRequest, match=INVALID):
        world.login(role_id, secret)
    assert world.call(Operation.UPDATE, "role/r/secret-id/lookup", secret_id=secret) is None
    with pytest.raises(NotFound):
        world.call(Operation.LIST, "role/r/secret-id/")
    tidied = world.call(Operation.UPDATE, "tidy/secret-id")
    assert tidied is not None
    assert tidied.status == 202
    assert "removed 1 " in tidied.warnings[0]
    assert not [k for k in list_recursive(world.storage) if "/secret_id/" in "/" + k]


def test_a_secret_id_may_not_exceed_the_role_s_limits(world: World) -> None:
    world.role(secret_id_ttl="1h", secret_id_num_uses=3, secret_id_bound_cidrs="10.0.0.0/8")
    with pytest.raises(InvalidRequest, match="longer than the role's secret_id_ttl"):
        world.secret(ttl="2h")
    with pytest.raises(InvalidRequest, match="higher than the role's secret_id_num_uses"):
        world.secret(num_uses=0)
    with pytest.raises(InvalidRequest, match="not within the role's blocks"):
        world.secret(cidr_list="192.168.0.0/16")
    assert world.ok(Operation.UPDATE, "role/r/secret-id", ttl="30m", cidr_list="10.1.0.0/16")


def test_the_role_s_cidrs_refuse_before_a_use_is_spent(world: World) -> None:
    role_id = world.role(secret_id_bound_cidrs="10.0.0.0/8")
    secret = world.secret(num_uses=1)
    with pytest.raises(InvalidRequest, match=INVALID):
        world.login(role_id, secret, address="127.0.0.1")
    assert world.login(role_id, secret, address="10.1.2.3").metadata == {"role_name": "r"}
    with pytest.raises(InvalidRequest, match=INVALID):
        world.login(role_id, secret, address="10.1.2.3")


def test_login_answers_an_auth_without_a_token_from_the_role(world: World) -> None:
    role_id = world.role(
        token_policies="a,b",
        token_ttl="5m",
        token_max_ttl="1h",
        token_num_uses=4,
        token_bound_cidrs="127.0.0.0/8",
        local_secret_ids=True,
    )
    assert world.ok(Operation.READ, "role/r")["local_secret_ids"] is True
    secret = world.secret(metadata='{"team": "x"}', token_bound_cidrs="127.0.0.1/32")
    auth = world.login(role_id, secret)
    assert auth.client_token == ""
    assert (auth.policies, auth.ttl, auth.max_ttl, auth.num_uses) == (["a", "b"], 300, 3600, 4)
    assert auth.bound_cidrs == ["127.0.0.1/32"]  # the secret ID's, over the role's
    assert auth.metadata == {"team": "x", "role_name": "r"}


def test_role_ids_are_unique_and_bind_secret_id_false_needs_a_cidr(world: World) -> None:
    world.role()
    world.call(Operation.UPDATE, "role/other")
    with pytest.raises(InvalidRequest, match="already in use"):
        world.call(Operation.UPDATE, "role/other/role-id", role_id=world.role())
    with pytest.raises(InvalidRequest, match="at least one constraint"):
        world.call(Operation.UPDATE, "role/open", bind_secret_id=False)
    world.call(
        Operation.UPDATE, "role/open", bind_secret_id=False, secret_id_bound_cidrs="127.0.0.1/32"
    )
    role_id = world.ok(Operation.READ, "role/open/role-id")["role_id"]
    response = world.call(Operation.UPDATE, "login", role_id=role_id)
    assert response is not None
    assert response.auth is not None
    assert response.auth.metadata == {"role_name": "open"}
