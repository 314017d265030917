"""The mount table: path rules, entries, persistence and overlap detection."""

from __future__ import annotations

import re

import pytest

from awsbroker.core.mounts import (
    MOUNT_TABLE_KEY,
    RESERVED_PREFIXES,
    MountConfig,
    MountEntry,
    MountTable,
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
    table.entries[e.path] = e
    table.save()
    assert storage.get(MOUNT_TABLE_KEY) is not None
    again = MountTable(storage)
    again.load()
    assert again.entries == {"aws/": e}


def test_table_load_replaces_in_memory_state() -> None:
    storage = InmemStorage()
    table = MountTable(storage)
    table.entries["stale/"] = new_entry("stale/", "aws")
    table.load()
    assert table.entries == {}


@pytest.fixture
def table() -> MountTable:
    t = MountTable(InmemStorage())
    t.entries["aws/"] = new_entry("aws/", "aws")
    t.entries["team/aws/"] = new_entry("team/aws/", "aws")
    return t


@pytest.mark.parametrize(
    ("path", "conflict"),
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
def test_conflict(table: MountTable, path: str, conflict: str | None) -> None:
    assert table.conflict(path) == conflict


def test_reserved_prefixes_cover_the_core() -> None:
    assert {"sys/", "auth/"} <= set(RESERVED_PREFIXES)
