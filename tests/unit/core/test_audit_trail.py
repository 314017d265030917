"""The request pipeline with audit devices: two entries per request, and fail closed.

Devices here are real `file` sinks on a temporary directory, or a memory sink registered as an
extra device type that can be told to fail request or response entries.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from tests.support.core_harness import ENGINE_MOUNT, Harness, make_harness, rule

from awsbroker.sdk.errors import InternalError, InvalidRequest, PermissionDenied
from awsbroker.sdk.logical import Operation, Request
from awsbroker.sdk.storage import list_recursive

R, U, D, L = Operation.READ, Operation.UPDATE, Operation.DELETE, Operation.LIST


class MemorySink:
    """Keeps lines; fails the entry types listed in `failing` ("request", "response")."""

    def __init__(self) -> None:
        self.lines: list[dict[str, Any]] = []
        self.failing: set[str] = set()

    def write(self, line: bytes) -> None:
        entry = json.loads(line)
        if entry["type"] in self.failing:
            raise OSError(f"cannot write {entry['type']} entries")
        self.lines.append(entry)

    def reopen(self) -> None:
        return None

    def close(self) -> None:
        return None

    def entries(self, path: str) -> list[dict[str, Any]]:
        return [e for e in self.lines if e["request"]["path"] == path]


@pytest.fixture
def h() -> Harness:
    return make_harness()


@pytest.fixture
def sink(h: Harness) -> MemorySink:
    memory = MemorySink()

    def factory(options: Mapping[str, str]) -> MemorySink:
        return memory

    h.core.audit.sinks["memory"] = factory
    h.call(U, "sys/audit/memory", {"type": "memory"})
    return memory


def audit_hash(h: Harness, value: str) -> str:
    return h.core.audit.hash("memory", value)


def test_two_entries_per_request_with_the_secret_only_as_hmac(h: Harness, sink: MemorySink) -> None:
    response = h.creds("a")
    entries = sink.entries("test/creds/a")
    assert [e["type"] for e in entries] == ["request", "response"]
    request, answer = entries
    assert request["request"]["mount_point"] == ENGINE_MOUNT
    assert request["auth"]["client_token"] == audit_hash(h, h.root)
    username = (response.data or {})["username"]
    assert answer["response"]["data"]["username"] == audit_hash(h, str(username))
    assert answer["response"]["secret"]["lease_id"] == response.lease_id
    assert h.root not in json.dumps(sink.lines)


def test_the_request_entry_is_written_before_the_backend_runs(h: Harness, sink: MemorySink) -> None:
    sink.failing = {"request"}
    with pytest.raises(InternalError):
        h.call(R, "test/creds/a")
    assert h.engine.issued == [], "the backend never ran: nothing was issued"
    assert h.core.expiration.index.count(kind="lease") == 0


def test_a_device_that_cannot_write_fails_requests_closed(h: Harness, tmp_path: Path) -> None:
    directory = tmp_path / "logs"
    directory.mkdir()
    h.call(U, "sys/audit/file", {"type": "file", "options": {"file_path": f"{directory}/a.log"}})
    shutil.rmtree(directory)
    with pytest.raises(InternalError):
        h.call(R, "test/creds/a")
    with pytest.raises(InternalError):
        h.call(R, "sys/mounts")
    assert h.engine.issued == []
    assert h.call(R, "sys/health") is not None, "unaudited paths still answer"
    directory.mkdir()  # the operator fixes the target: requests flow again
    h.creds("a")
    assert "test/creds/a" in (directory / "a.log").read_text()


def test_one_working_device_is_enough(h: Harness, sink: MemorySink, tmp_path: Path) -> None:
    directory = tmp_path / "gone"
    directory.mkdir()
    h.call(U, "sys/audit/broken", {"type": "file", "options": {"file_path": f"{directory}/b"}})
    shutil.rmtree(directory)
    h.creds("a")
    text = h.core.metrics.prometheus().decode()
    for kind in ("request", "response"):
        assert f'failures_total{{device="broken/",type="{kind}"}} 1.0' in text
    assert len(sink.entries("test/creds/a")) == 2


def test_an_unrecorded_response_revokes_the_lease_it_created(h: Harness, sink: MemorySink) -> None:
    sink.failing = {"response"}
    with pytest.raises(InternalError):
        h.call(R, "test/creds/a")
    assert len(h.engine.issued) == 1
    assert h.engine.revoked_serials() == [1], "the credential was revoked, not leaked"
    assert h.core.expiration.index.count(kind="lease") == 0


def test_an_unrecorded_response_revokes_the_token_it_created(h: Harness, sink: MemorySink) -> None:
    sink.failing = {"response"}
    with pytest.raises(InternalError):
        h.call(U, "auth/token/create", {"policies": ["default"]})
    h.core.disable_audit("memory")
    listing = h.ok(L, "auth/token/accessors/")
    assert len((listing.data or {})["keys"]) == 1, "only the root token is left"  # type: ignore[arg-type]


def test_a_renewed_token_is_not_revoked_when_its_response_is_unrecorded(
    h: Harness, sink: MemorySink
) -> None:
    token = h.token({"policies": ["default"], "ttl": "1h"})
    sink.failing = {"response"}
    with pytest.raises(InternalError):
        h.call(U, "auth/token/renew-self", {}, token=token)
    h.core.disable_audit("memory")
    assert h.lookup(token)["id"] == token


def test_a_denied_request_is_one_request_entry_with_the_error(h: Harness, sink: MemorySink) -> None:
    token = h.token({"policies": ["default"]})
    with pytest.raises(PermissionDenied):
        h.call(R, "test/creds/a", token=token)
    entries = sink.entries("test/creds/a")
    assert [e["type"] for e in entries] == ["request"]
    assert entries[0]["error"] == "permission denied"
    assert entries[0]["auth"]["display_name"] == "token"
    with pytest.raises(PermissionDenied):
        h.call(R, "test/creds/a", token="hvs.unknown")
    assert sink.entries("test/creds/a")[-1]["error"] == "permission denied"


def test_a_backend_error_is_the_response_entry(h: Harness, sink: MemorySink) -> None:
    with pytest.raises(InvalidRequest):
        h.call(U, "sys/mounts/test/tune", {"default_lease_ttl": "nonsense"})
    entries = sink.entries("sys/mounts/test/tune")
    assert [e["type"] for e in entries] == ["request", "response"]
    assert "invalid default_lease_ttl" in entries[1]["error"]


def test_an_error_that_cannot_be_recorded_becomes_an_internal_error(
    h: Harness, sink: MemorySink
) -> None:
    sink.failing = {"request"}
    with pytest.raises(InternalError):
        h.call(R, "test/creds/a", token="hvs.unknown")


def test_mount_non_hmac_keys_are_honoured(h: Harness, sink: MemorySink) -> None:
    h.call(
        U,
        "sys/mounts/test/tune",
        {"audit_non_hmac_request_keys": ["ttl"], "audit_non_hmac_response_keys": ["username"]},
    )
    h.creds("a", {"ttl": "1h"})
    request, response = sink.entries("test/creds/a")
    assert request["request"]["data"]["ttl"] == "1h"
    assert response["response"]["data"]["username"] == "a-1"


def test_unaudited_paths_write_nothing(h: Harness, sink: MemorySink) -> None:
    before = len(sink.lines)
    for path in ("sys/health", "sys/seal-status", "sys/leader", "sys/init"):
        h.call(R, path)
    assert len(sink.lines) == before
    h.ok(R, "sys/metrics")  # authenticated metrics are audited
    assert len(sink.entries("sys/metrics")) == 2


def test_the_metrics_count_audit_failures(h: Harness, sink: MemorySink) -> None:
    sink.failing = {"request"}
    with pytest.raises(InternalError):
        h.call(R, "test/creds/a")
    text = h.core.metrics.prometheus().decode()
    assert 'awsbroker_audit_log_failures_total{device="memory/",type="request"} 1.0' in text


def test_sealing_unloads_devices_and_unsealing_brings_them_back(
    h: Harness, sink: MemorySink
) -> None:
    h.core.seal_vault()
    assert not h.core.audit.broker.enabled
    h.core.submit_unseal_key(h.key)
    assert h.core.audit.broker.enabled
    h.policy("p", rule("test/*", "read"))
    h.creds("b")
    assert len(sink.entries("test/creds/b")) == 2


def test_a_token_in_the_path_is_hashed(h: Harness, sink: MemorySink) -> None:
    token = h.token({"policies": ["default"]})
    h.ok(R, f"auth/token/lookup/{token}")
    entries = [e for e in sink.lines if e["request"]["path"].startswith("auth/token/lookup/")]
    assert len(entries) == 2
    assert entries[0]["request"]["path"] == "auth/token/lookup/" + audit_hash(h, token)
    assert token not in json.dumps(sink.lines)


def test_a_renewed_lease_is_not_revoked_when_its_response_is_unrecorded(
    h: Harness, sink: MemorySink
) -> None:
    lease_id = h.creds("a").lease_id
    sink.failing = {"response"}
    with pytest.raises(InternalError):
        h.call(U, "sys/leases/renew", {"lease_id": lease_id})
    assert h.engine.revoked == []
    assert h.core.expiration.get(lease_id) is not None


def test_an_unrecorded_wrapped_response_revokes_the_wrapping_token_and_what_it_holds(
    h: Harness, sink: MemorySink
) -> None:
    sink.failing = {"response"}
    wrapped = Request(U, "auth/token/create", {"policies": ["default"]}, client_token=h.root)
    wrapped.wrap_ttl = 60
    with pytest.raises(InternalError):
        h.core.handle(wrapped)
    h.core.disable_audit("memory")
    listing = h.ok(L, "auth/token/accessors/")
    assert len((listing.data or {})["keys"]) == 1, "only the root token is left"  # type: ignore[arg-type]
    assert list_recursive(h.core.barrier, "cubbyhole/") == []
