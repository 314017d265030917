"""The real `bao` CLI (Vault's CLI as OpenBao ships it) as a client of awsbroker for the
everyday commands, each run the same way against a real OpenBao dev server (`bao server -dev`)
and compared: exit code, the shape of `-format=json` output (keys and value types,
recursively), `-field` values and the `Success!` lines. Where the output is aws-specific (a
lease of real AWS credentials), only our side runs, with its shape checked.

Covered here: status; token create/lookup/renew/revoke/capabilities; policy
write/read/list/delete/fmt; secrets enable/list/tune/disable; read/write/list with
`-format=json` and `-field` (and `write -f`, the `null` body); lease lookup/renew/revoke;
audit enable/list/disable; operator rotate and key-status; path-help.
(`-format=json|yaml` of our own `awsbroker` command is tests/cli/test_vault_cli_json.py.)"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.differential.harness import diff_shapes, shape
from tests.support import bao, openbao
from tests.support.server import HOST, ROOT_TOKEN, ServerProcess, free_port, running

# `$engine`: a secrets engine each serves (OpenBao has no `aws`, awsbroker only `aws`).
ENGINE = {"openbao": "kv", "awsbroker": "aws"}
# Differences in what the two servers answer (the CLI prints them as they come), with reasons;
# the differential suite (tests/differential/) lists them too.
KEPT = {
    # `status` prints `sys/leader`'s fields too: every node here is an HA node (its own
    # leader), where OpenBao's dev server has HA off and leaves them out.
    "status": {
        "envelope: key 'is_self' only in awsbroker",
        "envelope: key 'active_time' only in awsbroker",
        "envelope: key 'leader_address' only in awsbroker",
    },
    # OpenBao's own policy features (check-and-set, identity-template options).
    "policy": {
        f"envelope.data: key {key!r} only in openbao"
        for key in (
            "cas_required",
            "version",
            "modified",
            "allow_slashes_in_identity_templates",
            "allow_wildcards_in_identity_templates",
        )
    },
    # No handler here reads request headers: sys/ has no passthrough headers to show.
    "secrets list": {"envelope.sys/.config: key 'passthrough_request_headers' only in openbao"},
}
# `secrets list`: the mounts only one of them has (OpenBao's dev `secret/`,
# `identity/`; our dev `aws/`).
_OTHER_MOUNTS = {
    "envelope: key 'secret/' only in openbao",
    "envelope: key 'identity/' only in openbao",
    "envelope: key 'aws/' only in awsbroker",
}


@pytest.fixture(scope="module")
def binary() -> Path:
    return bao.require()


@pytest.fixture(scope="module")
def openbao_server(
    binary: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[openbao.OpenBaoServer]:
    with openbao.running(tmp_path_factory.mktemp("openbao")) as server:
        yield server


@pytest.fixture(scope="module")
def awsbroker_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    port = free_port()
    args = ["--dev", "--dev-aws-emulator", "--dev-listen-address", f"{HOST}:{port}"]
    args += ["--dev-root-token-id", ROOT_TOKEN]
    with running(ServerProcess(tmp_path_factory.mktemp("ours"), args, port)) as server:
        yield server


class Pair:
    """`bao` pointed at OpenBao and at awsbroker, root token on both."""

    def __init__(self, binary: Path, home: Path, theirs: str, ours: str) -> None:
        self.openbao = bao.Bao(binary, home / "openbao", theirs, ROOT_TOKEN)
        self.awsbroker = bao.Bao(binary, home / "awsbroker", ours, ROOT_TOKEN)

    def run(self, *args: str) -> tuple[subprocess.CompletedProcess[str], ...]:
        """Both runs; `$engine` in an argument is each server's engine type (and in the output,
        that type is read back as `$engine`)."""
        if any("$engine" in arg for arg in args):
            return tuple(
                subprocess.CompletedProcess(
                    done.args,
                    done.returncode,
                    done.stdout.replace(f" {ENGINE[name]} ", " $engine "),
                    done.stderr,
                )
                for name, done in zip(ENGINE, self._run(*args), strict=True)
            )
        return self._run(*args)

    def _run(self, *args: str) -> tuple[subprocess.CompletedProcess[str], ...]:
        return tuple(
            cli.run(*(arg.replace("$engine", ENGINE[name]) for arg in args))
            for name, cli in (("openbao", self.openbao), ("awsbroker", self.awsbroker))
        )

    def same(self, *args: str, kept: frozenset[str] | set[str] = frozenset()) -> Any:
        """Both runs exit alike and print the same: JSON of one shape (less `kept`
        differences), else the same text. Returns our output, parsed when JSON."""
        theirs, ours = self.run(*args)
        assert ours.returncode == theirs.returncode, (args, theirs.stderr, ours.stderr)
        if theirs.returncode:  # the same HTTP status behind the error, when there was one
            codes = [re.findall(r"Code: (\d+)", done.stderr) for done in (theirs, ours)]
            assert codes[1] == codes[0], (args, theirs.stderr, ours.stderr)
            return ours.stderr
        try:
            expected, got = json.loads(theirs.stdout), json.loads(ours.stdout)
        except ValueError:
            assert ours.stdout == theirs.stdout, args
            return ours.stdout
        differences = set(diff_shapes(shape(expected), shape(got), "envelope"))
        assert differences == set(kept), (args, differences)
        return got


@pytest.fixture
def pair(
    binary: Path,
    openbao_server: openbao.OpenBaoServer,
    awsbroker_server: ServerProcess,
    tmp_path: Path,
) -> Pair:
    return Pair(binary, tmp_path, openbao_server.url, awsbroker_server.url)


def test_status(pair: Pair) -> None:
    pair.same("status", "-format=json", kept=KEPT["status"])
    pair.same("status", "-format=json", "-address=http://127.0.0.1:1")  # unreachable: exit 1


def test_token_commands(pair: Pair) -> None:
    made = pair.same("token", "create", "-format=json", "-policy=default", "-ttl=1h")
    pair.same("token", "create", "-format=json", "-orphan", "-period=30m", "-metadata=a=b")
    token = made["auth"]["client_token"]
    # each server's own child token, made the same way
    theirs, ours = (
        json.loads(done.stdout)["auth"]["client_token"]
        for done in pair.run("token", "create", "-format=json", "-policy=default", "-ttl=1h")
    )
    assert token
    pair.same("token", "lookup", "-format=json")
    pair.same("token", "lookup", "-field=policies")
    for command in (
        ("token", "lookup", "-format=json"),
        ("token", "renew", "-format=json", "-increment=2h"),
        ("token", "capabilities"),
        ("token", "revoke"),
    ):
        extra = ("sys/policy",) if command[1] == "capabilities" else ()
        results = (
            pair.openbao.run(*command, theirs, *extra),
            pair.awsbroker.run(*command, ours, *extra),
        )
        assert results[1].returncode == results[0].returncode == 0, (command, results)
        if "-format=json" in command:
            expected, got = (json.loads(done.stdout) for done in results)
            assert diff_shapes(shape(expected), shape(got), "envelope") == [], command
        else:
            assert results[1].stdout == results[0].stdout, command
    # revoked: both refuse it alike
    pair.same("token", "lookup", "-format=json", "-accessor", "no-such-accessor")
    pair.same("token", "renew", "no-such-token")
    pair.same("token", "capabilities", "sys/mounts")  # the root token's own: root


def test_policy_commands(pair: Pair, tmp_path: Path) -> None:
    policy = tmp_path / "p.hcl"
    policy.write_text('path "secret/*" {\n  capabilities = ["read", "list"]\n}\n')
    messy = tmp_path / "messy.hcl"
    messy.write_text('path "secret/*" {capabilities=["read"]}\n')
    pair.same("policy", "write", "everyday", str(policy))
    assert pair.same("policy", "read", "everyday") == policy.read_text()
    assert pair.same("policy", "read", "-format=json", "everyday")["policy"]
    listed = pair.same("policy", "list", "-format=json")
    assert "everyday" in listed
    pair.same("policy", "delete", "everyday")
    pair.same("policy", "read", "everyday")  # gone: exit 2 on both
    pair.same("policy", "fmt", str(messy))  # local: formats the file
    assert messy.read_text() == 'path "secret/*" {\n  capabilities = ["read"]\n}\n'


def test_secrets_commands(pair: Pair) -> None:
    pair.same("secrets", "enable", "-path=x-cli", "-description=d", "$engine")
    listed = pair.same(
        "secrets", "list", "-format=json", kept={*KEPT["secrets list"], *_OTHER_MOUNTS}
    )
    assert listed["x-cli/"]["description"] == "d"
    pair.same("secrets", "tune", "-max-lease-ttl=2h", "-default-lease-ttl=1h", "x-cli/")
    tuned = pair.same("read", "-format=json", "sys/mounts/x-cli/tune")
    assert (tuned["data"]["default_lease_ttl"], tuned["data"]["max_lease_ttl"]) == (3600, 7200)
    pair.same("secrets", "disable", "x-cli/")
    pair.same("secrets", "tune", "-max-lease-ttl=2h", "x-cli/")  # gone: exit 2 on both
    pair.same("secrets", "enable", "-path=x-cli2", "no-such-engine")


def test_read_write_list(pair: Pair) -> None:
    pair.same("read", "-format=json", "sys/policy/default", kept=KEPT["policy"])
    assert pair.same("read", "-field=name", "sys/policy/default") == "default"  # piped: no \\n
    pair.same("read", "-format=json", "-field=name", "sys/policy/default")
    pair.same("write", "-format=json", "auth/token/create", "ttl=1h", "policies=default")
    pair.same("write", "-f", "-format=json", "auth/token/create")  # -f: a `null` body
    assert pair.same("write", "-field=token_policies", "auth/token/create", "ttl=1h")
    pair.same("write", "sys/policy/x-rw", 'policy=path "a" { capabilities = ["read"] }')
    assert "x-rw" in pair.same("list", "-format=json", "sys/policy")
    pair.same("list", "-format=json", "sys/policies/acl")
    pair.same("delete", "sys/policy/x-rw")
    pair.same("read", "-format=json", "sys/policy/x-rw")  # gone: exit 2 on both
    pair.same("read", "-field=nope", "sys/policy/default")  # no such field: exit 1 on both
    pair.same("list", "no-such-mount/")


def test_lease_commands(pair: Pair) -> None:
    """Errors alike on both; a lease of real (emulated) AWS credentials on ours only."""
    pair.same("lease", "lookup", "aws/creds/x/bogus")
    pair.same("lease", "renew", "aws/creds/x/bogus")
    pair.same("lease", "revoke", "aws/creds/x/bogus")  # revoking nothing succeeds
    ours = pair.awsbroker
    made = json.loads(_ok(ours, "read", "-format=json", "aws/creds/iam-user"))
    lease = made["lease_id"]
    looked = json.loads(_ok(ours, "lease", "lookup", "-format=json", lease))
    assert set(looked["data"]) >= {"id", "issue_time", "expire_time", "ttl", "renewable"}
    assert looked["data"]["id"] == lease
    renewed = json.loads(_ok(ours, "lease", "renew", "-format=json", "-increment=30m", lease))
    assert renewed["lease_id"] == lease
    assert "Success! Revoked lease" in _ok(ours, "lease", "revoke", "-sync", lease)
    assert ours.run("lease", "lookup", lease).returncode == 2
    made = json.loads(_ok(ours, "read", "-format=json", "aws/creds/iam-user"))
    queued = _ok(ours, "lease", "revoke", made["lease_id"])  # without -sync: 202, queued
    assert queued == "All revocation operations queued successfully!\n"


def test_audit_commands(pair: Pair) -> None:
    pair.same("audit", "enable", "-path=x-audit", "file", "file_path=discard")
    listed = pair.same("audit", "list", "-format=json")
    assert listed["x-audit/"]["type"] == "file"
    pair.same("audit", "list", "-detailed")
    pair.same("audit", "disable", "x-audit/")
    pair.same("audit", "list", "-format=json")  # none left: both print nothing alike


def test_operator_rotate_and_key_status(pair: Pair) -> None:
    before = pair.same("operator", "key-status", "-format=json")
    # The same text but the install time, which is to the minute: the two servers may rotate
    # on either side of a minute's turn.
    theirs, ours = pair.run("operator", "rotate")
    assert ours.returncode == theirs.returncode == 0, (theirs.stderr, ours.stderr)
    minute = re.compile(r"^(Install Time\s+).*$", re.M)
    assert minute.sub(r"\1<time>", ours.stdout) == minute.sub(r"\1<time>", theirs.stdout)
    after = pair.same("operator", "key-status", "-format=json")
    assert after["term"] == before["term"] + 1


def test_path_help(pair: Pair) -> None:
    for path in ("sys/policy", "auth/token/create", "sys/mounts"):
        theirs, ours = pair.run("path-help", path)
        assert (ours.returncode, theirs.returncode) == (0, 0), (path, ours.stderr)
        for heading in ("Request:", "Matching Route:"):
            assert heading in theirs.stdout
            assert heading in ours.stdout, (path, heading)
    # JSON (the OpenAPI document): the same keys; it is built from our own path specs
    # (docs/compatibility.md, `?help=1`), so its contents differ.
    theirs, ours = pair.run("path-help", "-format=json", "sys/policy")
    assert set(json.loads(ours.stdout)) == set(json.loads(theirs.stdout)) >= {"openapi", "paths"}


def _ok(cli: bao.Bao, *args: str) -> str:
    done = cli.run(*args)
    assert done.returncode == 0, (args, done.stdout, done.stderr)
    return done.stdout
