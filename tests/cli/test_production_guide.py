"""docs/production.md, run: its command blocks against a real `awsbroker server` started from
deploy/'s configuration files (on SQLite, and on PostgreSQL), over TLS from a private CA made
here, with moto over HTTP standing in for the AWS account (`AWS_ENDPOINT_URL` in the server's
environment and the shell's). The broker's user gets docs/iam/'s policies through
docs/iam-policy.md's setup block (Resources widened to `*` for moto but AssumeRole's, as
tests/integration/iam_policy does) and section 6's session_revocation.json (a role with
`session_revocation=true` then revokes a session with it), and every call the broker made is
checked against the shipped Resources. Also: the files the guide shows are deploy/'s files, the
systemd unit passes `systemd-analyze verify`, the Dockerfile's steps run as a script, and the
Prometheus rules name only metrics and labels a live server serves.

`AWSBROKER_GUIDE_RECORD=1` writes what each block printed into the guide."""

from __future__ import annotations

import datetime
import ipaddress
import json
import os
import re
import shlex
import shutil
import sqlite3
import stat
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from prometheus_client.parser import text_string_to_metric_families
from psycopg import sql
from tests.support import aws_cli as aws_cli_support
from tests.support import guide, iam_policies, postgres, walkthrough
from tests.support.aws_proxy import AWSProxy
from tests.support.cli import clean_environ
from tests.support.moto_server import MotoServer, bootstrap_admin, moto_client
from tests.support.server import HOST, ServerProcess, TLSFiles, free_port

from awsbroker.sdk.telemetry import CATALOGUE, Kind

DEPLOY = guide.ROOT / "deploy"
BLOCKS = guide.blocks()
UNIT = DEPLOY / "awsbroker.service"
DOCKERFILE = DEPLOY / "Dockerfile"
RULES = DEPLOY / "prometheus-rules.yml"
# The blocks that set a server up, in the guide's order (both storages run them).
SETUP = ["status-sealed", "init", "unseal", "login", "aws-user", "session-revocation-policy",
         "config-root", "s3-read", "assumed-role", "federation-token", "iam-user",
         "session-token"]  # fmt: skip
PRINTED: dict[str, str] = {}


# ---- the files the guide shows ----------------------------------------------------------------


def test_every_block_is_run_or_says_why_not() -> None:
    text = guide.GUIDE.read_text()
    marked, fences = guide.marked_fences(text)
    outputs = sum(1 for b in BLOCKS.values() if b.output is not None)
    # Each fence is marked, or is the output of a walkthrough block.
    assert len(marked) + outputs == fences, "a block in docs/production.md has no marker"
    assert all(arg.strip() for kind, arg, _ in marked if kind == "not run")
    assert all(b.output for b in BLOCKS.values()), "every run block shows its output"


def test_the_files_shown_are_the_files_shipped() -> None:
    shown = guide.file_blocks(guide.GUIDE.read_text())
    assert set(shown) == {
        "deploy/config-sqlite.hcl", "deploy/config-postgresql.hcl", "deploy/awsbroker.service",
        "deploy/Dockerfile",
    }  # fmt: skip
    for path, body in shown.items():
        assert (guide.ROOT / path).read_text() == body, f"{path} differs from the guide's copy"


def test_the_readme_links_the_guide() -> None:
    assert "(docs/production.md)" in (guide.ROOT / "README.md").read_text()


def test_the_systemd_unit_verifies(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed: the unit is not verified here")
    awsbroker = Path(sys.executable).parent / "awsbroker"
    unit = tmp_path / "awsbroker.service"
    unit.write_text(UNIT.read_text().replace("/opt/awsbroker/bin/awsbroker", str(awsbroker)))
    result = guide.run_checked(analyze, "verify", str(unit), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == "", f"systemd-analyze warned:\n{result.stderr}"
    # Its sandboxing, as systemd rates it (0 best, 10 worst; 1.7 when written): at most 2.
    rated = guide.run_checked(
        analyze, "security", "--offline=yes", "--threshold=20", str(unit), cwd=tmp_path
    )
    if "--offline" in rated.stderr:  # systemd before 252 cannot rate a unit file
        return
    assert rated.returncode == 0, rated.stdout[-2000:]


def _exec_start() -> list[str]:
    (line,) = [x for x in UNIT.read_text().splitlines() if x.startswith("ExecStart=")]
    argv = shlex.split(line.removeprefix("ExecStart="))
    assert argv[:2] == ["/opt/awsbroker/bin/awsbroker", "server"], argv
    return argv[2:]


# ---- a private CA and the machine's layout ----------------------------------------------------


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


def private_ca(directory: Path) -> tuple[Path, TLSFiles]:
    """A CA, and a certificate it signed for 127.0.0.1 and localhost: (the CA's certificate,
    the server's certificate and key). The key file is 0600."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(_name("awsbroker test CA"))
        .issuer_name(_name("awsbroker test CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False),
            critical=True,
        )
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = (
        x509.CertificateBuilder()
        .subject_name(_name("broker"))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address(HOST)), x509.DNSName("localhost")]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    directory.mkdir(parents=True, exist_ok=True)
    ca_file = directory / "ca.crt"
    ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    files = TLSFiles(cert=directory / "tls.crt", key=directory / "tls.key")
    files.cert.write_bytes(
        leaf.public_bytes(serialization.Encoding.PEM) + ca.public_bytes(serialization.Encoding.PEM)
    )
    files.key.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    files.key.chmod(0o600)
    return ca_file, files


@dataclass
class Machine:
    """The guide's directories under a temporary root, and the names mapped to the test's."""

    root: Path
    port: int
    ca: Path

    @property
    def etc(self) -> Path:
        return self.root / "etc" / "awsbroker"

    @property
    def state(self) -> Path:
        return self.root / "var" / "lib" / "awsbroker"

    @property
    def url(self) -> str:
        return f"https://{HOST}:{self.port}"

    def substitutions(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        return {
            **(extra or {}),
            "/etc/awsbroker": str(self.etc),
            "/var/lib/awsbroker": str(self.state),
            "/var/backups/awsbroker": str(self.root / "var" / "backups" / "awsbroker"),
            "https://broker.example.com:8200": self.url,
            "0.0.0.0:8200": f"{HOST}:{self.port}",
            "broker-1.example.com": HOST,
            "broker.example.com": HOST,
        }

    def install_config(self, source: Path, extra: dict[str, str] | None = None) -> Path:
        """deploy/'s file at /etc/awsbroker/awsbroker.hcl, 0640, in the test's names."""
        text = source.read_text()
        for guide_value, test_value in self.substitutions(extra).items():
            text = text.replace(guide_value, test_value)
        path = self.etc / "awsbroker.hcl"
        path.write_text(text)
        path.chmod(0o640)
        return path


def new_machine(root: Path, like: Machine | None = None) -> Machine:
    """A machine; `like`'s certificate and CA when given (a new node for the same name)."""
    root.mkdir(parents=True)
    tls = root / "etc" / "awsbroker" / "tls"
    if like is None:
        ca, _ = private_ca(tls)
    else:
        shutil.copytree(like.etc / "tls", tls)
        ca = tls / "ca.crt"
    (root / "etc" / "awsbroker").chmod(0o750)
    state = root / "var" / "lib" / "awsbroker"
    state.mkdir(parents=True)
    state.chmod(0o700)  # what StateDirectoryMode= makes
    return Machine(root=root, port=free_port(), ca=ca)


def server_on(machine: Machine, config: Path, aws: AWSProxy, name: str) -> ServerProcess:
    """The unit's ExecStart, on `config`, with the emulator (through the recorder) for AWS."""
    args = [a.replace("/etc/awsbroker/awsbroker.hcl", str(config)) for a in _exec_start()]
    workdir = machine.root / name
    workdir.mkdir()
    return ServerProcess(
        workdir, args, machine.port, ca_cert=machine.ca, env={"AWS_ENDPOINT_URL": aws.endpoint}
    )


def shell(
    machine: Machine, home: Path, moto: MotoServer, extra: dict[str, str] | None = None
) -> guide.Session:
    base = clean_environ()
    # The repository's docs/iam/, as moto can check them (the shell stands at the root).
    policy_dir = home / "work" / "docs" / "iam"
    policy_dir.mkdir(parents=True)
    # session_revocation.json too: section 6 attaches it when a role revokes sessions.
    for name in (*iam_policies.FILES, "session_revocation"):
        policy = iam_policies.for_moto(iam_policies.load(name))
        (policy_dir / f"{name}.json").write_text(json.dumps(policy))
    env = {
        **base,
        **ADMINISTRATOR,
        "PATH": f"{Path(sys.executable).parent}:{base.get('PATH', '')}",
        "HOME": str(home),
        "AWS_ENDPOINT_URL": moto.endpoint,
        # A public certificate needs none of these: the suite's CA is private.
        "AWSBROKER_CACERT": str(machine.ca),
        "CURL_CA_BUNDLE": str(machine.ca),
        "REQUESTS_CA_BUNDLE": str(machine.ca),
    }
    # The guide's shell is an operator's: their home is /home/operator.
    return guide.Session(
        home / "work", env, {**machine.substitutions(extra), "/home/operator": str(home)}
    )


@dataclass
class Shares:
    keys: list[str]
    root_token: str


def set_up(session: guide.Session) -> Shares:
    """Run the setup blocks in order: the init's shares feed the unseals, its token the login."""
    shares = Shares([], "")
    for name in SETUP:
        block = BLOCKS[name]
        if name == "aws-user":
            session.run(policy_setup(), compare=False)
            attached = session.run(block).split()  # the mask hides names this long
            assert sorted(attached) == sorted(f"awsbroker-{f}" for f in iam_policies.FILES)
        elif name == "unseal":
            unseal(session, shares)
        elif name == "login":
            session.run(block, stdin=shares.root_token)
        else:
            printed = session.run(block)
            if name == "init":
                shares.keys = re.findall(r"^Unseal Key \d+: (\S+)$", printed, re.MULTILINE)
                (shares.root_token,) = re.findall(r"^Initial Root Token: (\S+)$", printed, re.M)
                assert len(shares.keys) == 5
    return shares


def policy_setup() -> walkthrough.Block:
    """docs/iam-policy.md's setup block without its last command, as the guide says."""
    script, command, rest = iam_policies.setup_block().rpartition("aws iam create-access-key")
    assert command, "docs/iam-policy.md's setup block no longer ends with create-access-key"
    assert all(line.startswith(" ") for line in rest.splitlines()[1:]), rest  # nothing after
    return walkthrough.Block("iam-policy: setup", script, None, (0, 0))


def assert_inside_the_shipped_resources(aws: AWSProxy, moto: MotoServer) -> None:
    """Every call the broker made names a resource the shipped policies allow, as AWS would
    match it (moto checks only AssumeRole's): the guide's roles, users and federated users
    have names and paths inside docs/iam/'s Resources."""
    calls = aws.calls()
    made = {call.action for call in calls}
    assert {"AssumeRole", "GetFederationToken", "CreateUser", "GetSessionToken"} <= made, made
    iam = moto_client(
        moto.endpoint,
        "iam",
        ADMINISTRATOR["AWS_ACCESS_KEY_ID"],
        ADMINISTRATOR["AWS_SECRET_ACCESS_KEY"],
    )
    try:
        users = {user["UserName"]: user["Arn"] for user in iam.list_users()["Users"]}
        roles = {role["RoleName"]: role["Arn"] for role in iam.list_roles()["Roles"]}
    finally:
        iam.close()
    shipped = iam_policies.load_all()
    shipped["Statement"] += iam_policies.load("session_revocation")["Statement"]
    assert iam_policies.resource_misses(shipped, calls, users, "awsbroker", roles) == []


def revoke_a_session(server: ServerProcess, token: str, aws: AWSProxy) -> None:
    """Section 6's session_revocation.json at work: a role with `session_revocation=true` on
    the guide's `deploy` role, a credential of it revoked, and the deny written on that role
    (the role is deleted after, so the guide's role list stays as shown)."""
    client = server.client(token)
    arn = client.read("aws/roles/ci")["data"]["role_arns"][0]
    client.write(
        "aws/roles/ci-revocable",
        credential_type="assumed_role",
        role_arns=[arn],
        session_revocation=True,
    )
    lease = client.read("aws/creds/ci-revocable")["lease_id"]
    client.sys.revoke_lease(lease)
    assert [(c.param("RoleName"), c.status) for c in aws.calls("PutRolePolicy")] == [
        ("deploy", 200)
    ]
    client.delete("aws/roles/ci-revocable")


def unseal(session: guide.Session, shares: Shares) -> None:
    """Three holders, three shares: the block's output is the last one's."""
    for i, key in enumerate(shares.keys[:3]):
        session.run(BLOCKS["unseal"], stdin=key, compare=i == 2)


def new_root_token(session: guide.Session, shares: Shares, server: ServerProcess) -> None:
    """ "A new root token", with no token: the listener switched to serve the token-less
    `sys/generate-root/*`, a restart and unseal; three holders' shares make a token, which the
    OTP decodes; the line taken out, a restart and unseal, and the paths are refused again."""
    refused = server.request("GET", "sys/generate-root/attempt")
    assert (refused.status_code, refused.json()) == (405, {"errors": ["unsupported operation"]})
    session.run(BLOCKS["unauthed-generate-root-on"])
    server.restart()
    unseal(session, shares)
    token_file = Path(session.env["HOME"]) / ".awsbroker-token"
    away = token_file.with_name("token-put-away")
    token_file.rename(away)  # the holders have no token
    try:
        session.run(BLOCKS["generate-root-init"])
        for i, key in enumerate(shares.keys[2:]):
            printed = session.run(BLOCKS["generate-root-share"], stdin=key, compare=i == 2)
        (encoded,) = re.findall(r"^Encoded Token\s+(\S+)$", printed, re.MULTILINE)
        exported = f"export ENCODED_TOKEN={shlex.quote(encoded)}\n"
        session.run(walkthrough.Block("the encoded token", exported, None, (0, 0)), compare=False)
        token = session.run(BLOCKS["generate-root-decode"]).strip()
    finally:
        away.rename(token_file)
    assert token != shares.root_token
    looked_up = server.client(token).auth.token.lookup_self()["data"]
    assert looked_up["policies"] == ["root"]
    session.run(BLOCKS["unauthed-generate-root-off"])
    server.restart()
    unseal(session, shares)
    session.run(BLOCKS["unauthed-generate-root-refused"])


@pytest.fixture(scope="module")
def moto() -> Iterator[MotoServer]:
    server = MotoServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


# The account's administrator, who sets it up with the AWS CLI (fresh_account makes the key).
ADMINISTRATOR: dict[str, str] = {}


def fresh_account(moto: MotoServer) -> None:
    """An empty account with an administrator, and moto checking every call's signature
    and IAM policies from now on, as AWS does."""
    moto.disable_auth()
    moto.reset()
    key_id, secret = bootstrap_admin(moto.endpoint)
    ADMINISTRATOR.update(
        AWS_ACCESS_KEY_ID=key_id, AWS_SECRET_ACCESS_KEY=secret, AWS_DEFAULT_REGION="us-east-1"
    )
    moto.enable_auth()


@pytest.fixture
def aws(moto: MotoServer) -> Iterator[AWSProxy]:
    """What the servers reach AWS through: moto, each call recorded."""
    with AWSProxy(moto.endpoint) as proxy:
        yield proxy


@pytest.fixture(scope="module", autouse=True)
def _record() -> Iterator[None]:
    yield
    if guide.RECORD and PRINTED:
        guide.record(PRINTED)


@pytest.fixture
def aws_cli() -> None:
    aws_cli_support.require()


# ---- the walkthrough on SQLite ----------------------------------------------------------------


class Writer(threading.Thread):
    """Writes policies through the API until stopped: the load a backup is taken under."""

    def __init__(self, server: ServerProcess, token: str) -> None:
        super().__init__(daemon=True)
        self._client = server.client(token)
        self.stop = threading.Event()
        self.written: list[str] = []
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            while not self.stop.is_set():
                name = f"load-{len(self.written)}"
                self._client.sys.create_or_update_acl_policy(
                    name, f'path "secret/{name}" {{ capabilities = ["read"] }}'
                )
                self.written.append(name)
        except BaseException as exc:  # reported by the test
            self.error = exc


def assert_only_the_broker_knows_its_key(
    server: ServerProcess, token: str, moto: MotoServer
) -> None:
    """After config/rotate-root, the broker's user has one key: the one the broker holds,
    not the one the administrator handled."""
    iam = moto_client(
        moto.endpoint,
        "iam",
        ADMINISTRATOR["AWS_ACCESS_KEY_ID"],
        ADMINISTRATOR["AWS_SECRET_ACCESS_KEY"],
    )
    try:
        keys = iam.list_access_keys(UserName="awsbroker")["AccessKeyMetadata"]
    finally:
        iam.close()
    held = server.client(token).read("aws/config/root")["data"]["access_key"]
    assert [k["AccessKeyId"] for k in keys] == [held]


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.usefixtures("aws_cli")
def test_the_guide_on_sqlite(tmp_path: Path, moto: MotoServer, aws: AWSProxy) -> None:
    fresh_account(moto)
    machine = new_machine(tmp_path / "root")
    config = machine.install_config(DEPLOY / "config-sqlite.hcl")
    session = shell(machine, tmp_path / "home", moto)
    server = server_on(machine, config, aws, "node")
    try:
        server.start()
        shares = set_up(session)
        assert_only_the_broker_knows_its_key(server, shares.root_token, moto)
        new_root_token(session, shares, server)
        session.run(BLOCKS["consumer-token"])
        revoke_a_session(server, shares.root_token, aws)
        assert_inside_the_shipped_resources(aws, moto)
        session.run(BLOCKS["metrics"])
        check_rules_against(server, shares.root_token)
        database = machine.state / "awsbroker.db"
        for path in (database, Path(f"{database}-wal"), Path(f"{database}-shm")):
            assert _mode(path) == 0o600, path

        writer = Writer(server, shares.root_token)
        writer.start()
        try:
            while len(writer.written) < 5:  # the backup starts with writes under way
                assert writer.error is None, writer.error
                assert writer.is_alive()
                writer.stop.wait(0.01)
            before = list(writer.written)
            session.run(BLOCKS["backup-sqlite"])
            if shutil.which("sqlite3"):  # the guide says "where it is installed"
                session.run(BLOCKS["backup-sqlite-cli"])
        finally:
            writer.stop.set()
            writer.join(timeout=30)
        assert writer.error is None, writer.error
        assert len(writer.written) > len(before), "writes went on during the backup"
        backup = machine.root / "var" / "backups" / "awsbroker" / "awsbroker.db"
        assert _mode(backup) == 0o600
        with sqlite3.connect(backup) as copy:  # a consistent, self-contained file
            assert copy.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    finally:
        server.close()

    # The machine is lost: only the backup and the shares remain.
    for path in machine.state.iterdir():
        path.unlink()
    session.run(BLOCKS["restore-sqlite"])
    assert _mode(machine.state / "awsbroker.db") == 0o600
    restored = server_on(machine, config, aws, "restored")
    try:
        restored.start()
        unseal(session, shares)
        session.run(BLOCKS["restore-check"])
        policies = restored.client(shares.root_token).sys.list_acl_policies()["data"]["keys"]
        assert set(before) <= set(policies)
    finally:
        restored.close()
    PRINTED.update(session.printed)


# ---- the walkthrough on PostgreSQL ------------------------------------------------------------


@pytest.fixture
def databases() -> Iterator[tuple[str, str]]:
    """Two fresh, empty databases: the server's, and the one its dump is restored into."""
    admin = postgres.require_server(postgres.dsn())
    names = (f"awsbroker_guide_{os.urandom(4).hex()}", f"awsbroker_restored_{os.urandom(4).hex()}")
    with psycopg.connect(admin, autocommit=True) as conn:
        for name in names:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield names
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            for name in names:
                conn.execute(
                    sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
                )


def _pg_url(database: str) -> str:
    parts = psycopg.conninfo.conninfo_to_dict(postgres.dsn())
    user = parts.get("user", "postgres")
    return f"postgresql://{user}@{parts.get('host', HOST)}:{parts.get('port', 5432)}/{database}"


@pytest.mark.postgres
@pytest.mark.usefixtures("aws_cli")
def test_the_guide_on_postgresql(
    tmp_path: Path, moto: MotoServer, aws: AWSProxy, databases: tuple[str, str]
) -> None:
    if shutil.which("pg_dump") is None or shutil.which("pg_restore") is None:
        pytest.skip("pg_dump and pg_restore are not installed")
    fresh_account(moto)
    first, second = databases
    parts = psycopg.conninfo.conninfo_to_dict(postgres.dsn())
    guide_url = "postgresql://awsbroker@db.example.com:5432/awsbroker?sslmode=verify-full"
    pg = {
        "PGHOST=db.example.com": f"PGHOST={parts.get('host', HOST)}",
        "PGUSER=awsbroker": f"PGUSER={parts.get('user', 'postgres')}",
        "PGDATABASE=awsbroker": f"PGDATABASE={first}",
        "PGSSLMODE=verify-full": "PGSSLMODE=prefer",
        "awsbroker_restored": second,
    }
    machine = new_machine(tmp_path / "root")
    config = machine.install_config(DEPLOY / "config-postgresql.hcl", {guide_url: _pg_url(first)})
    session = shell(machine, tmp_path / "home", moto, pg)
    session.env["PGPORT"] = str(parts.get("port", 5432))
    # The guide shows a SQLite server's status; this one says postgresql there.
    session.aliases.append((re.compile(r"^(Storage Type\s+)postgresql$", re.M), r"\1sqlite"))
    server = server_on(machine, config, aws, "node")
    try:
        server.start()
        shares = set_up(session)
        assert_inside_the_shipped_resources(aws, moto)
        session.run(BLOCKS["backup-postgresql"])
    finally:
        server.close()
    session.run(BLOCKS["restore-postgresql"])

    other = new_machine(tmp_path / "other", like=machine)
    other_config = other.install_config(
        DEPLOY / "config-postgresql.hcl", {guide_url: _pg_url(second)}
    )
    restored = server_on(other, other_config, aws, "restored")
    # The shell now talks to the restored server: the same name, on another machine.
    session.substitutions.update(other.substitutions())
    try:
        restored.start()
        # Sealed, but initialised: its output is not the new server's the guide shows.
        session.run(BLOCKS["status-sealed"], compare=False)
        unseal(session, shares)
        session.run(BLOCKS["restore-check"])
    finally:
        restored.close()
    PRINTED.update(
        {
            k: v
            for k, v in session.printed.items()
            if k in ("backup-postgresql", "restore-postgresql")
        }
    )


# ---- the Prometheus rules ---------------------------------------------------------------------

_NOT_METRICS = {"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and",
                "or", "unless", "offset", "le", "inf", "nan"}  # fmt: skip
_PROMETHEUS_OWN = {"up"}


def rule_names(expr: str) -> tuple[set[str], set[str]]:
    """The metric names and the label names a PromQL expression uses."""
    labels: set[str] = set()
    for selector in re.findall(r"\{([^}]*)\}", expr):
        labels |= set(re.findall(r"([a-zA-Z_]\w*)\s*(?:=~|!~|!=|=)", selector))
    for grouping in re.findall(r"\b(?:by|without|on|ignoring)\s*\(([^)]*)\)", expr):
        labels |= {x.strip() for x in grouping.split(",") if x.strip()}
    bare = re.sub(r"\{[^}]*\}|\[[^\]]*\]|\"[^\"]*\"", " ", expr)
    bare = re.sub(r"\b(?:by|without|on|ignoring)\s*\([^)]*\)", " ", bare)
    names = {
        m.group(1)
        for m in re.finditer(r"\b([a-zA-Z_:][\w:]*)\b(?!\s*\()", bare)
        if m.group(1).lower() not in _NOT_METRICS
    }
    return names, labels


def check_rules_against(server: ServerProcess, token: str) -> None:
    """Every metric the rules name is in this live server's exposition, with the labels used."""
    response = server.request("GET", "sys/metrics", token, params={"format": "prometheus"})
    assert response.status_code == 200, response.text
    served: set[str] = set()
    for family in text_string_to_metric_families(response.text):
        # A series is named as a sample is: a counter's bare family name is not one.
        if family.type in ("gauge", "unknown"):
            served.add(family.name)
        served |= {sample.name for sample in family.samples}
        suffixes = {"counter": ["_total"], "histogram": ["_bucket", "_count", "_sum"]}
        served |= {family.name + s for s in suffixes.get(family.type, [])}
    suffix = {Kind.COUNTER: "_total", Kind.HISTOGRAM: "_bucket", Kind.GAUGE: ""}
    declared = {spec.name + suffix[spec.kind]: set(spec.labels) for spec in CATALOGUE}
    for spec in CATALOGUE:
        if spec.kind is Kind.HISTOGRAM:
            declared[spec.name + "_bucket"].add("le")
    declared["awsbroker_rotation_seconds_since_last_success"] = {"mount", "kind"}
    rules = yaml.safe_load(RULES.read_text())["groups"][0]["rules"]
    assert len(rules) >= 8
    for rule in rules:
        assert {"alert", "expr", "labels", "annotations"} <= set(rule), rule
        assert rule["labels"]["severity"] in ("warning", "critical")
        names, labels = rule_names(rule["expr"])
        ours = names - _PROMETHEUS_OWN
        assert ours or names, rule["expr"]
        for name in ours:
            assert name in served, f"{rule['alert']}: {name} is not in sys/metrics"
        allowed = set().union(*(declared.get(n, set()) for n in ours)) | {"job", "instance"}
        assert labels <= allowed, f"{rule['alert']}: labels {labels - allowed} are not served"


def test_the_guide_lists_every_alert() -> None:
    listed = re.findall(r"^\| `(Awsbroker\w+)` \|", guide.GUIDE.read_text(), re.MULTILINE)
    rules = yaml.safe_load(RULES.read_text())["groups"][0]["rules"]
    assert listed == [rule["alert"] for rule in rules]


def test_rule_names_reads_promql() -> None:
    expr = 'sum by (le, service) (rate(awsbroker_x_bucket{error_code!="", kind=~"r.*"}[5m])) > 5'
    assert rule_names(expr) == ({"awsbroker_x_bucket"}, {"le", "service", "error_code", "kind"})


# ---- the container recipe ---------------------------------------------------------------------


def dockerfile_steps(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of a Dockerfile, continuation lines joined, comments dropped."""
    steps: list[tuple[str, str]] = []
    logical = ""
    for line in text.splitlines():
        if line.lstrip().startswith("#") and not logical:
            continue
        logical += line.rstrip().removesuffix("\\") + " "
        if line.rstrip().endswith("\\"):
            continue
        instruction, _, arguments = logical.strip().partition(" ")
        if instruction:
            steps.append((instruction.upper(), " ".join(arguments.split())))
        logical = ""
    return steps


def test_the_container_recipe_runs_as_a_script(tmp_path: Path) -> None:
    """The image's steps, as far as this machine allows: the checks a build would not make
    (non-root user, the command is the unit's, the volume is the data), then the
    configuration copied, the data directory made as the RUN makes it, and the command
    started, initialised and unsealed. Not run: useradd and pip install (see the guide)."""
    steps = dockerfile_steps(DOCKERFILE.read_text())
    one = dict(steps)  # the last of each instruction
    (base,) = [args for name, args in steps if name == "FROM"]
    assert re.fullmatch(r"python:3\.(1[1-9])-slim", base), base
    assert one["USER"] == "awsbroker"
    runs = [args for name, args in steps if name == "RUN"]
    (useradd,) = [r for r in runs if "useradd" in r]
    assert "--system" in useradd
    uid = re.search(r"--uid (\d+)", useradd)
    assert uid is not None
    assert int(uid.group(1)) >= 1000
    command = json.loads(one["ENTRYPOINT"]) + json.loads(one["CMD"])
    assert command[0] == "awsbroker"
    assert command[2:] == _exec_start(), "the image runs what the systemd unit runs"
    copies = dict(args.split() for name, args in steps if name == "COPY")
    config_path = command[command.index("--config") + 1]
    source = next(src for src, dst in copies.items() if dst == config_path)
    config_text = (guide.ROOT / source).read_text()
    sqlite_path = re.search(r'path\s*=\s*"([^"]+)"', config_text)
    assert sqlite_path is not None
    state_dir = str(Path(sqlite_path.group(1)).parent)
    assert json.loads(one["VOLUME"]) == [state_dir]
    port = re.search(r'address\s*=\s*"[^"]*:(\d+)"', config_text)
    assert port is not None
    assert one["EXPOSE"] == port.group(1)

    # The steps: COPY of the configuration, the data directory as the RUN makes it (without
    # -o/-g: the user is not made here), and the command.
    machine = new_machine(tmp_path / "root")
    machine.state.rmdir()
    install = re.search(r"install -d (.*)", useradd)
    assert install is not None
    words = install.group(1).split()
    for flag in ("-o", "-g"):
        i = words.index(flag)
        del words[i : i + 2]
    made = guide.run_checked("install", "-d", *[machine.substitutions().get(w, w) for w in words])
    assert made.returncode == 0, made.stderr
    assert _mode(machine.state) == 0o700
    config = machine.install_config(guide.ROOT / source)
    args = [a.replace(config_path, str(config)) for a in command[2:]]
    workdir = tmp_path / "container"
    workdir.mkdir()
    server = ServerProcess(workdir, args, machine.port, ca_cert=machine.ca)
    try:
        server.start()
        server.init_and_unseal(3, 2)
        assert server.request("GET", "sys/health").json()["sealed"] is False
        database = machine.state / "awsbroker.db"
        assert _mode(database) == 0o600
        assert database.stat().st_uid == os.geteuid()
    finally:
        server.close()
