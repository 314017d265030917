"""`core/cubbyhole.py` and `core/wrapping.py` in a real in-memory core: what races and failures
leave behind (nothing)."""

from __future__ import annotations

import pytest
from tests.support.core_harness import Harness, make_harness

from awsbroker.core.cubbyhole import STORAGE_PREFIX, write_secret
from awsbroker.sdk.errors import PermissionDenied
from awsbroker.sdk.fields import Field, FieldData
from awsbroker.sdk.fields import FieldType as T
from awsbroker.sdk.logical import Operation, Request, Response
from awsbroker.sdk.storage import list_recursive


@pytest.fixture
def h() -> Harness:
    return make_harness()


def cubbyhole_keys(h: Harness) -> list[str]:
    return list_recursive(h.core.barrier, STORAGE_PREFIX)


def test_a_write_that_finds_its_token_revoked_leaves_nothing(h: Harness) -> None:
    token = h.token({"policies": ["default"]})
    entry = h.core.tokens.lookup(token)
    assert entry is not None
    h.core.tokens.revoke_tree(entry)  # revoked on some node while the write ran
    request = Request(Operation.UPDATE, "late", {"a": "b"}, token_hash=entry.hash)
    fields = FieldData({"path": Field(T.STRING)}, {"path": "late"})
    with pytest.raises(PermissionDenied):
        write_secret(h.core.cubbyhole, request, fields)
    assert cubbyhole_keys(h) == []


def test_a_wrapping_token_that_cannot_be_stored_leaves_no_cubbyhole(
    h: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(entry: object) -> None:
        raise ValueError("token already exists")

    monkeypatch.setattr(h.core.tokens, "create", refuse)
    request = Request(Operation.UPDATE, "sys/wrapping/wrap", {"a": "b"}, wrap_ttl=60)
    with pytest.raises(ValueError, match="token already exists"):
        h.core.wrapping.wrap(request, Response(data={"a": "b"}), 60, "")
    assert cubbyhole_keys(h) == []


def test_the_wrapping_token_is_an_orphan_with_one_use_and_the_wrap_ttl(h: Harness) -> None:
    request = Request(Operation.UPDATE, "sys/wrapping/wrap", {"a": "b"}, wrap_ttl=90)
    response = Response(data={"a": "b"})
    h.core.wrapping.wrap(request, response, 90, "token-x")
    assert response.wrap_info is not None
    entry = h.core.tokens.lookup(response.wrap_info.token)
    assert entry is not None
    assert (entry.policies, entry.num_uses, entry.orphan) == (["response-wrapping"], 1, True)
    assert (entry.ttl, entry.explicit_max_ttl, entry.renewable) == (90, 90, False)
    assert (entry.path, entry.display_name) == ("sys/wrapping/wrap", "token-x")
    assert sorted(k.rsplit("/", 1)[1] for k in cubbyhole_keys(h)) == ["response", "wrapinfo"]
