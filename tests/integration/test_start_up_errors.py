"""Every start-up failure an operator can cause is one line on stderr naming the file, port or
storage and what is wrong, with exit status 1 and no traceback (issue 15, item 3)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import psycopg
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from tests.integration.test_server_process import run_servers
from tests.integration.test_tls import self_signed
from tests.support.server import HOST, TLSFiles, config_text, free_port

PREFIX = "awsbroker server: "


def start_each(
    tmp_path: Path, configs: dict[str, str], prefix: Sequence[str] = ()
) -> dict[str, str]:
    """Start a server on each configuration at once (after the command `prefix`, if given);
    each must exit 1 with one line on stderr, which is returned (without the prefix) by
    configuration name."""
    for name, text in configs.items():
        (tmp_path / f"{name}.hcl").write_text(text)
    argvs = [["--config", str(tmp_path / f"{name}.hcl")] for name in configs]
    results = run_servers(*argvs, prefix=prefix)
    lines = {}
    for name, (code, stderr) in zip(configs, results, strict=True):
        assert code == 1, (name, stderr)
        assert "Traceback" not in stderr, (name, stderr)
        assert stderr.count("\n") == 1, (name, stderr)
        assert stderr.endswith("\n"), (name, stderr)
        assert stderr.startswith(PREFIX), (name, stderr)
        lines[name] = stderr[len(PREFIX) : -1]
    return lines


def test_sqlite_paths_that_cannot_be_opened_say_why(tmp_path: Path) -> None:
    port = free_port()
    (tmp_path / "a-file").write_text("x")
    (tmp_path / "not-a-db").write_text("these are not the bytes of an SQLite database\n" * 20)
    (tmp_path / "a-dir").mkdir()
    paths = {
        "no-dir": tmp_path / "no-such-dir" / "vault.db",
        "under-a-file": tmp_path / "a-file" / "vault.db",
        "not-a-db": tmp_path / "not-a-db",
        "a-dir": tmp_path / "a-dir",
    }
    lines = start_each(
        tmp_path, {name: config_text("sqlite", {"path": str(p)}, port) for name, p in paths.items()}
    )
    causes = {
        "no-dir": f"the directory {tmp_path / 'no-such-dir'} does not exist (create it first)",
        "under-a-file": f"{tmp_path / 'a-file'} is not a directory",
        "not-a-db": "the file is not an SQLite database",
        "a-dir": "it is a directory, not a database file",
    }
    for name, path in paths.items():
        assert lines[name] == f"cannot open the storage at {path}: {causes[name]}"
    assert (tmp_path / "not-a-db").read_text().startswith("these are not")  # left as it was


def unprivileged() -> list[str]:
    """A command prefix under which the server meets permission failures, as an operator's
    service user does: none for an ordinary user; for root (as the suite and CI run), root
    with every capability dropped (`setpriv`), so that file modes bind it as the owner of the
    files it made, and ports under 1024 are refused it. (Not uid 65534: the interpreter may
    live where it cannot go, as under /root here, and so does pytest's tmp_path, mode 0700.)"""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root without setpriv (util-linux) to drop the capabilities")
    prefix = [setpriv, "--inh-caps=-all", "--bounding-set=-all", "--"]
    probe = subprocess.run(
        [*prefix, sys.executable, "-c", "print(open('/proc/self/status').read())"],
        capture_output=True,
        text=True,
        check=False,
    )
    if probe.returncode != 0 or "CapEff:\t0000000000000000" not in probe.stdout:
        pytest.skip(f"cannot drop root's capabilities here: {probe.stderr.strip()}")
    return prefix


def test_sqlite_without_permission_says_so(tmp_path: Path) -> None:
    port = free_port()
    locked = tmp_path / "locked"
    locked.mkdir()
    (tmp_path / "read-only.db").write_bytes(b"")
    (tmp_path / "read-only.db").chmod(0o400)
    locked.chmod(0o500)
    try:
        lines = start_each(
            tmp_path,
            {
                "locked-dir": config_text("sqlite", {"path": str(locked / "vault.db")}, port),
                "read-only": config_text("sqlite", {"path": str(tmp_path / "read-only.db")}, port),
            },
            prefix=unprivileged(),
        )
    finally:
        locked.chmod(0o700)
    assert lines["locked-dir"] == (
        f"cannot open the storage at {locked / 'vault.db'}: permission denied:"
        f" this user cannot write in the directory {locked}"
    )
    assert lines["read-only"] == (
        f"cannot open the storage at {tmp_path / 'read-only.db'}: permission denied:"
        " this user cannot read and write the file"
    )
    assert not (locked / "vault.db").exists()
    assert (tmp_path / "read-only.db").read_bytes() == b""


def test_an_unreadable_key_and_a_privileged_port_say_so(tmp_path: Path) -> None:
    start = Path("/proc/sys/net/ipv4/ip_unprivileged_port_start")
    if start.exists() and int(start.read_text()) <= 80:
        pytest.skip("net.ipv4.ip_unprivileged_port_start lets any user listen on port 80")
    good = self_signed(tmp_path)
    good.key.chmod(0o000)
    db = str(tmp_path / "s.db")
    lines = start_each(
        tmp_path,
        {
            "unreadable-key": config_text("sqlite", {"path": db}, free_port(), tls=good),
            "port-80": config_text("sqlite", {"path": db}, 80),
        },
        prefix=unprivileged(),
    )
    assert lines == {
        "unreadable-key": f"cannot read tls_key_file {good.key}: Permission denied",
        "port-80": f"cannot listen on {HOST}:80: Permission denied",
    }


def test_tls_files_that_cannot_serve_say_which_and_why(tmp_path: Path) -> None:
    port = free_port()
    (tmp_path / "good").mkdir()
    (tmp_path / "other").mkdir()
    good = self_signed(tmp_path / "good")
    other = self_signed(tmp_path / "other")
    (tmp_path / "text").write_text("not PEM\n")
    encrypted = tmp_path / "encrypted.key"
    encrypted.write_bytes(
        ec.generate_private_key(ec.SECP256R1()).private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"passphrase"),
        )
    )
    missing = tmp_path / "missing.crt"
    cases = {
        "no-cert": (TLSFiles(missing, good.key), f"cannot read tls_cert_file {missing}:"
                    " No such file or directory"),
        "key-is-a-dir": (TLSFiles(good.cert, tmp_path), f"cannot read tls_key_file {tmp_path}:"
                         " Is a directory"),
        "not-a-cert": (TLSFiles(tmp_path / "text", good.key),
                       f"tls_cert_file {tmp_path / 'text'} holds no PEM certificate"),
        "not-a-key": (TLSFiles(good.cert, good.cert),
                      f"tls_key_file {good.cert} holds no PEM private key"),
        "encrypted": (TLSFiles(good.cert, encrypted),
                      f"tls_key_file {encrypted} is encrypted: give the key without a passphrase"),
        "mismatch": (TLSFiles(good.cert, other.key),
                     f"tls_key_file {other.key} is not the key of the certificate in {good.cert}"),
    }  # fmt: skip
    db = str(tmp_path / "never.db")
    lines = start_each(
        tmp_path,
        {
            name: config_text("sqlite", {"path": db}, port, tls=tls)
            for name, (tls, _) in cases.items()
        },
    )
    for name, (_, line) in cases.items():
        assert lines[name] == line
    assert not Path(db).exists()  # refused before the storage was touched


def test_a_port_in_use_names_the_address(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind((HOST, 0))
        taken.listen()
        port = taken.getsockname()[1]
        lines = start_each(
            tmp_path, {"in-use": config_text("sqlite", {"path": str(tmp_path / "s.db")}, port)}
        )
    assert lines["in-use"] == f"cannot listen on {HOST}:{port}: Address already in use"


@pytest.mark.postgres
def test_a_postgresql_that_refuses_says_why_without_the_password(
    tmp_path: Path, pg_dsn: str
) -> None:
    secret = "s3cret-pw"
    info = psycopg.conninfo.conninfo_to_dict(pg_dsn)
    host, real_port, user = info.get("host", HOST), info.get("port", 5432), info.get("user", "")
    closed = free_port()  # nothing listens there
    urls = {
        "wrong-port": f"postgresql://broker:{secret}@{HOST}:{closed}/awsbroker",
        "no-database": f"postgresql://{user}:{secret}@{host}:{real_port}/no_such_db_here",
        "bad-url": f"postgresql//broker:{secret}@{HOST}",
    }
    port = free_port()
    started = time.monotonic()
    lines = start_each(
        tmp_path,
        {
            name: config_text("postgresql", {"connection_url": url}, port)
            for name, url in urls.items()
        },
    )
    assert time.monotonic() - started < 20  # no waiting for PostgreSQL (the pool's was 30 s)
    # The exact lines, as libpq words them. A wrong password cannot be tested here: the local
    # PostgreSQL uses trust authentication, which takes any password; a database that does
    # not exist is the refusal it does give, with the password of the URL in hand.
    where = "cannot open the storage at PostgreSQL table awsbroker_kv: "
    assert lines == {
        "wrong-port": where + f'connection failed: connection to server at "{HOST}", port'
        f" {closed} failed: Connection refused",
        "no-database": where + f'connection failed: connection to server at "{host}", port'
        f' {real_port} failed: FATAL:  database "no_such_db_here" does not exist',
        # libpq echoes the URL it could not parse; the broker puts *** in its place.
        "bad-url": where + 'connection_url is not valid: missing "=" after "***" in connection'
        " info string",
    }
    for line in lines.values():
        assert secret not in line

    bad_table = {"connection_url": pg_dsn, "table": "bad-name"}
    lines = start_each(tmp_path, {"bad-table": config_text("postgresql", bad_table, port)})
    assert lines["bad-table"] == (
        "storage \"postgresql\": invalid table name 'bad-name': use letters, digits and '_',"
        " at most 44 characters"
    )
