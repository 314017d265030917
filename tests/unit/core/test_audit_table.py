"""Audit devices through `sys/audit*`: enable, list, hash, disable, and salts in storage."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.support.core_harness import Harness, make_harness, rule

from awsbroker.audit.hashing import PREFIX
from awsbroker.core.audit_table import AUDIT_TABLE_KEY
from awsbroker.sdk.errors import InvalidRequest, PermissionDenied
from awsbroker.sdk.logical import JSONObject, Operation

R, U, D = Operation.READ, Operation.UPDATE, Operation.DELETE


@pytest.fixture
def h() -> Harness:
    return make_harness()


def enable(h: Harness, path: str, options: JSONObject, device_type: str = "file") -> None:
    h.call(U, f"sys/audit/{path}", {"type": device_type, "options": options})


def audit_hash(h: Harness, path: str, value: str) -> str:
    data = h.ok(U, f"sys/audit-hash/{path}", {"input": value}).data
    assert data is not None
    return str(data["hash"])


def test_enable_writes_a_test_entry_and_lists_the_device(h: Harness, tmp_path: Path) -> None:
    log = tmp_path / "audit.log"
    h.call(
        U,
        "sys/audit/file",
        {"type": "file", "description": "main", "options": {"file_path": str(log)}},
    )
    assert '"path":"sys/audit/test"' in log.read_text()
    listing = h.ok(R, "sys/audit")
    assert listing.inject_top_level
    assert listing.data == {
        "file/": {
            "type": "file",
            "description": "main",
            "options": {"file_path": str(log)},
            "local": False,
            "path": "file/",
        }
    }


def test_salts_are_per_device_and_survive_a_reseal(h: Harness, tmp_path: Path) -> None:
    enable(h, "one", {"file_path": str(tmp_path / "one.log")})
    enable(h, "two", {"file_path": "discard"})
    first = audit_hash(h, "one", "secret")
    assert first.startswith(PREFIX)
    assert audit_hash(h, "one", "secret") == first, "deterministic"
    assert audit_hash(h, "two", "secret") != first, "each device has its own salt"
    h.reseal()
    assert audit_hash(h, "one", "secret") == first
    assert set(h.core.audit.entries) == {"one/", "two/"}


def test_salts_and_the_table_live_behind_the_barrier(h: Harness) -> None:
    enable(h, "file", {"file_path": "discard"})
    entry = h.core.audit.entries["file/"]
    salt = h.core.barrier.get(entry.salt_key)
    assert salt is not None
    assert h.core.barrier.get(AUDIT_TABLE_KEY) is not None
    for key in (entry.salt_key, AUDIT_TABLE_KEY):
        assert salt not in (h.physical.get(key) or b""), "stored encrypted"
    h.call(D, "sys/audit/file")
    assert h.core.barrier.get(entry.salt_key) is None
    assert h.call(R, "sys/audit") is not None
    assert h.ok(R, "sys/audit").data == {}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"type": "file", "options": {}}, "file_path is required"),
        ({"type": "file", "options": {"file_path": "/dev/full"}}, "failed test message"),
        ({"type": "syslog"}, 'unknown backend type: "syslog"'),
        ({}, "'type' is required"),
        ({"type": "socket", "options": {"address": "127.0.0.1:1"}}, "failed test message"),
    ],
)
def test_devices_that_cannot_work_are_refused(h: Harness, body: JSONObject, message: str) -> None:
    with pytest.raises(InvalidRequest, match=message):
        h.call(U, "sys/audit/bad", body)
    assert h.core.audit.entries == {}
    assert not h.core.audit.broker.enabled


def test_a_path_in_use_and_an_unknown_device_are_400(h: Harness) -> None:
    enable(h, "file", {"file_path": "discard"})
    with pytest.raises(InvalidRequest, match="path already in use"):
        enable(h, "file", {"file_path": "discard"})
    with pytest.raises(InvalidRequest, match="unknown audit backend nope"):
        audit_hash(h, "nope", "x")
    with pytest.raises(InvalidRequest, match="input"):
        h.call(U, "sys/audit-hash/file", {"input": ""})
    h.call(D, "sys/audit/missing")  # disabling nothing is fine


def test_audit_paths_need_sudo(h: Harness) -> None:
    h.policy("ops", rule("sys/audit*", "create", "read", "update", "delete", "list"))
    token = h.token({"policies": ["ops"]})
    with pytest.raises(PermissionDenied):
        h.call(R, "sys/audit", token=token)
    with pytest.raises(PermissionDenied):
        h.call(U, "sys/audit/file", {"type": "file", "options": {"file_path": "discard"}}, token)
    h.policy("sudo", rule("sys/audit*", "read", "update", "sudo"))
    sudo = h.token({"policies": ["sudo"]})
    h.call(U, "sys/audit/file", {"type": "file", "options": {"file_path": "discard"}}, sudo)
    assert h.ok(R, "sys/audit", token=sudo).data is not None
