"""Stored ACL policies: the built-ins, raw text, names, and ACL caching."""

from __future__ import annotations

import pytest

from awsbroker.core.policy_store import PolicyStore
from awsbroker.physical.inmem import InmemStorage
from awsbroker.policy.builtin import DEFAULT_POLICY
from awsbroker.sdk.errors import InvalidRequest
from awsbroker.sdk.logical import Operation

READ, UPDATE = Operation.READ, Operation.UPDATE
TEXT = 'path "secret/*" {\n  capabilities = ["read"]\n}\n'


@pytest.fixture
def storage() -> InmemStorage:
    return InmemStorage()


@pytest.fixture
def store(storage: InmemStorage) -> PolicyStore:
    s = PolicyStore(storage)
    s.setup()
    return s


def test_setup_installs_default_once(storage: InmemStorage, store: PolicyStore) -> None:
    assert storage.get("default") == DEFAULT_POLICY.encode()
    assert store.names() == ["default"]
    store.put("default", TEXT)
    store.setup()
    policy = store.get("default")
    assert policy is not None
    assert policy.raw == TEXT


def test_raw_text_is_kept_byte_for_byte(store: PolicyStore) -> None:
    text = '# comment\npath "a" {   capabilities = ["read"] }\n\n'
    store.put("p", text)
    policy = store.get("p")
    assert policy is not None
    assert policy.raw == text
    json_text = '{"path": {"a": {"capabilities": ["read"]}}}'
    store.put("j", json_text)
    stored = store.get("j")
    assert stored is not None
    assert stored.raw == json_text


def test_names_are_lowercased(store: PolicyStore) -> None:
    created = store.put("MixedCase", TEXT)
    assert created.name == "mixedcase"
    assert store.names() == ["default", "mixedcase"]
    assert store.exists("MIXEDCASE")
    store.delete("MiXeDcAsE")
    assert not store.exists("mixedcase")


def test_get_and_exists_for_missing(store: PolicyStore) -> None:
    assert store.get("nope") is None
    assert not store.exists("nope")


def test_root_is_protected(store: PolicyStore) -> None:
    with pytest.raises(InvalidRequest, match='cannot update "root" policy'):
        store.put("root", TEXT)
    with pytest.raises(InvalidRequest, match='cannot update "root" policy'):
        store.put("ROOT", TEXT)
    with pytest.raises(InvalidRequest, match='cannot delete "root" policy'):
        store.delete("root")


def test_default_cannot_be_deleted(store: PolicyStore) -> None:
    with pytest.raises(InvalidRequest, match="cannot delete default policy"):
        store.delete("default")
    assert store.exists("default")


def test_empty_name_is_refused(store: PolicyStore) -> None:
    with pytest.raises(InvalidRequest, match="a policy name is required"):
        store.put("  ", TEXT)


def test_invalid_text_is_refused_and_not_stored(store: PolicyStore) -> None:
    with pytest.raises(InvalidRequest):
        store.put("bad", 'path "a" { capabilities = ["fly"] }')
    with pytest.raises(InvalidRequest):
        store.put("bad", "path {{{")
    assert not store.exists("bad")


def test_delete_of_missing_is_quiet(store: PolicyStore) -> None:
    store.delete("never")


def test_acl_of_root_allows_everything_with_sudo(store: PolicyStore) -> None:
    decision = store.acl(["root"]).allowed("sys/anything", UPDATE)
    assert decision.allowed
    assert decision.is_root
    assert store.acl(["x", "root"]).allowed("a", READ).is_root


def test_acl_combines_named_policies_and_ignores_unknown(store: PolicyStore) -> None:
    store.put("a", TEXT)
    store.put("b", 'path "other" { capabilities = ["update"] }')
    acl = store.acl(["a", "b", "ghost"])
    assert acl.allowed("secret/x", READ).allowed
    assert acl.allowed("other", UPDATE).allowed
    assert not acl.allowed("secret/x", UPDATE).allowed
    assert not store.acl(["ghost"]).allowed("secret/x", READ).allowed
    assert not store.acl([]).allowed("secret/x", READ).allowed


def test_acl_is_cached_per_set_of_names(store: PolicyStore) -> None:
    store.put("a", TEXT)
    assert store.acl(["a", "default"]) is store.acl(["default", "a", "a"])


def test_writes_and_deletes_invalidate_acls(store: PolicyStore) -> None:
    store.put("a", TEXT)
    before = store.acl(["a"])
    assert before.allowed("secret/x", READ).allowed
    store.put("a", 'path "elsewhere" { capabilities = ["read"] }')
    assert not store.acl(["a"]).allowed("secret/x", READ).allowed
    assert store.acl(["a"]).allowed("elsewhere", READ).allowed
    store.delete("a")
    assert not store.acl(["a"]).allowed("elsewhere", READ).allowed


def test_setup_forgets_caches(storage: InmemStorage, store: PolicyStore) -> None:
    store.put("a", TEXT)
    assert store.acl(["a"]).allowed("secret/x", READ).allowed
    storage.put("a", b'path "moved" { capabilities = ["read"] }')
    store.setup()
    assert store.acl(["a"]).allowed("moved", READ).allowed
