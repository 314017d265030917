"""What a fuzzing run (`tests/support/fuzz.py`) left behind: every mount, policy, role,
static role, lease and token accessor it may have written is read back, and none may answer
500; the engine must still issue and revoke a credential; the server log has no tracebacks."""

from __future__ import annotations

import urllib.parse
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import requests

if TYPE_CHECKING:
    from tests.support.fuzz import World


def check_state(world: World) -> list[str]:
    """Read back everything the run may have written; return what is broken."""
    problems: list[str] = []

    def expect(
        method: str, path: str, ok: tuple[int, ...], body: dict[str, Any] | None = None
    ) -> requests.Response | None:
        answer = world.call(method, path, body)
        if answer.status_code not in ok:
            problems.append(f"{method} {path}: {answer.status_code} {answer.text[:200]}")
            return None
        return answer

    def keys(path: str) -> list[str]:
        answer = expect("LIST", path, (200, 404))
        if answer is None or answer.status_code == 404:
            return []
        return [str(k) for k in answer.json()["data"]["keys"]]

    if world.server.request("GET", "sys/health").status_code != 200:
        problems.append("sys/health is not 200")
    mounts = expect("GET", "sys/mounts", (200,))
    if mounts is not None:
        for path in mounts.json()["data"]:
            if path == "sys/":
                continue  # not tunable here
            expect("GET", f"sys/mounts/{path}tune", (200,))
    for name in keys("sys/policy"):
        expect("GET", f"sys/policy/{_quote(name)}", (200,))
    for name in keys(f"{world.mount}/roles"):
        expect("GET", f"{world.mount}/roles/{_quote(name)}", (200,))
    for name in keys(f"{world.mount}/static-roles"):
        expect("GET", f"{world.mount}/static-roles/{_quote(name)}", (200,))
        expect("GET", f"{world.mount}/static-creds/{_quote(name)}", (200, 400, 502))
    expect("GET", f"{world.mount}/config/root", (200,))
    expect("GET", f"{world.mount}/config/lease", (200, 404))
    expect("GET", "sys/leases", (200, 404))
    for lease_id in _leases(world, keys):
        expect("POST", "sys/leases/lookup", (200,), {"lease_id": lease_id})
    for accessor in keys("auth/token/accessors"):
        expect("POST", "auth/token/lookup-accessor", (200,), {"accessor": accessor})
    # The engine still works end to end.
    world.seed_roles()
    issued = expect("GET", f"{world.mount}/creds/fuzz-iam", (200,))
    if issued is not None:
        expect("POST", "sys/leases/revoke", (204,), {"lease_id": issued.json()["lease_id"]})
    return problems


def _leases(world: World, keys: Callable[[str], list[str]]) -> Iterator[str]:
    """Every lease ID, walking `sys/leases/lookup/` prefix by prefix."""
    pending = [""]
    while pending:
        prefix = pending.pop()
        for key in keys(f"sys/leases/lookup/{prefix}"):
            if key.endswith("/"):
                pending.append(prefix + key)
            else:
                yield prefix + key


def _quote(name: str) -> str:
    return urllib.parse.quote(name, safe="")


def log_exceptions(world: World) -> list[str]:
    """Tracebacks in the server's log, one line each (the line before `Traceback`)."""
    lines = world.server.log().splitlines()
    return [lines[i - 1] for i, line in enumerate(lines) if line.startswith("Traceback") and i]
