"""The mount table: path rules, entries, persistence and overlap detection."""

from __future__ import annotations

import re

import pytest

from awsbroker.core.mounts import (
    MOUNT_TABLE_KEY,
    RESERVED_PREFIXES,
    Entries,
    MountConfig,
    MountEntry,
    MountTable,
    conflict,
    new_entry,
    normalize_path,
)
from awsbroker.physical.inmem import InmemStorage
from awsbroker.sdk.errors import InvalidRequest


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("aws", "aws/"),
        ("aws/", "aws/"),
        ("/aws/", "aws/"),
        (" aws ", "aws/"),
        ("team-a/aws_prod", "team-a/aws_prod/"),
        ("a.b@c", "a.b@c/"),
    ],
)
def test_normalize_path(given: str, stored: str) -> None:
    assert normalize_path(given) == stored


def test_empty_mount_path_is_refused() -> None:
    for given in ("", "/", "  ", "//"):
        with pytest.raises(InvalidRequest, match="a mount path is required"):
            normalize_path(given)


@pytest.mark.parametrize("given", ["a b", "a//b", "../x", "a/../b", "a/./b", "x/..", "é", "a*"])
def test_bad_mount_paths_are_refused_with_the_rule(given: str) -> None:
    with pytest.raises(
        InvalidRequest, match=re.escape("use letters, digits and - _ . @ separated by '/'")
    ):
        normalize_path(given)


def test_new_entry() -> None:
    e = new_entry("aws/", "aws")
    assert e.path == "aws/"
    assert e.type == "aws"
    assert re.fullmatch(r"aws_[0-9a-f]{8}", e.accessor)
    assert e.storage_prefix == f"logical/{e.uuid}/"
    other = new_entry("aws/", "aws")
    assert (other.uuid, other.accessor) != (e.uuid, e.accessor)
    assert e.config == MountConfig()


def test_entry_record_round_trip() -> None:
    e = new_entry("aws/", "aws")
    e.description = "d"
    e.options = {"k": "v"}
    e.local = True
    e.config.default_lease_ttl = 60
    e.config.audit_non_hmac_request_keys = ["a"]
    back = MountEntry.from_record(e.to_record())
    assert back == e
    assert isinstance(back.config, MountConfig)


def test_entry_from_record_without_config() -> None:
    back = MountEntry.from_record({"path": "x/", "type": "t", "accessor": "a", "uuid": "u"})
    assert back.config == MountConfig()


def test_table_saves_and_loads() -> None:
    storage = InmemStorage()
    table = MountTable(storage)
    table.load()
    assert table.entries == {}
    e = new_entry("aws/", "aws")
    e.config.max_lease_ttl = 100
    table.change(lambda entries: entries.update({e.path: e}))
    assert storage.get(MOUNT_TABLE_KEY) is not None
    assert table.entries == {}, "a change is stored; the view loads it when told"
    again = MountTable(storage)
    again.load()
    assert again.entries == {"aws/": e}
    assert table.stored() == {"aws/": e}


def test_table_load_replaces_in_memory_state() -> None:
    storage = InmemStorage()
    table = MountTable(storage)
    table.entries["stale/"] = new_entry("stale/", "aws")
    table.load()
    assert table.entries == {}


def test_a_change_edits_the_stored_table_not_the_view() -> None:
    """Two nodes (two tables on one storage) each adding a mount keep both, though neither's
    view had the other's."""
    storage = InmemStorage()
    first, second = MountTable(storage), MountTable(storage)
    first.load()
    second.load()
    a, b = new_entry("a/", "aws"), new_entry("b/", "aws")
    first.change(lambda entries: entries.update({a.path: a}))
    second.change(lambda entries: entries.update({b.path: b}))
    assert set(MountTable(storage).stored()) == {"a/", "b/"}


def test_a_change_that_loses_a_race_runs_again_on_the_winners_table() -> None:
    storage = InmemStorage()
    table = MountTable(storage)
    seen: list[set[str]] = []
    raced = new_entry("raced/", "aws")

    def add(entries: Entries) -> None:
        seen.append(set(entries))
        if len(seen) == 1:  # another node's change lands between this read and this write
            MountTable(storage).change(lambda other: other.update({raced.path: raced}))
        entries["mine/"] = new_entry("mine/", "aws")

    table.change(add)
    assert seen == [set(), {"raced/"}]
    assert set(table.stored()) == {"raced/", "mine/"}


def test_a_refused_change_stores_nothing() -> None:
    storage = InmemStorage()
    table = MountTable(storage)

    def refuse(entries: Entries) -> None:
        entries["half/"] = new_entry("half/", "aws")
        raise InvalidRequest("no")

    with pytest.raises(InvalidRequest):
        table.change(refuse)
    assert storage.get(MOUNT_TABLE_KEY) is None


@pytest.fixture
def entries() -> Entries:
    return {"aws/": new_entry("aws/", "aws"), "team/aws/": new_entry("team/aws/", "aws")}


@pytest.mark.parametrize(
    ("path", "taken"),
    [
        ("aws/", "aws/"),
        ("aws/sub/", "aws/"),
        ("team/", "team/aws/"),
        ("team/aws/x/", "team/aws/"),
        ("sys/", "sys/"),
        ("sys/x/", "sys/"),
        ("auth/", "auth/"),
        ("auth/aws/", "auth/"),
        ("identity/", "identity/"),
        ("cubbyhole/", "cubbyhole/"),
        ("audit/", "audit/"),
        ("aws2/", None),
        ("team/gcp/", None),
        ("sysx/", None),
        ("authority/", None),
    ],
)
def test_conflict(entries: Entries, path: str, taken: str | None) -> None:
    assert conflict(entries, path) == taken


def test_reserved_prefixes_cover_the_core() -> None:
    assert {"sys/", "auth/"} <= set(RESERVED_PREFIXES)
