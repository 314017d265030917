"""Credentials that fit the AWS SDKs' refresh windows (docs/sdk-credentials.md), counted with
a real boto3 and the real AWS CLI against a dev server and moto.

botocore asks for new credentials once under 15 minutes are left. So, asked for no TTL,
`container-creds/` gives at least an hour and `credential-process` asks for an hour; the CLI's
cache hands out nothing with 15 minutes or less left; and a lifetime inside the window, asked
for, is given as asked with a warning. Issuances are counted as leases under `sys/leases`.

The roles here default to 15-minute STS credentials (`default_sts_ttl=15m`): the setting that
made boto3 fetch a credential, and a lease, at every call.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import boto3
import httpx
import pytest
from tests.support.cli import AWSBROKER, CLI, clean_environ
from tests.support.moto_server import (
    OPEN_TRUST,
    REGION,
    MotoServer,
    bootstrap_admin,
    moto_client,
    root_config,
)
from tests.support.server import ROOT_TOKEN, ServerProcess

AWS_CLI = Path(sys.executable).parent / "aws"
CALLS = 20
CLI_RUNS = 10  # each run of the AWS CLI is a new process (about 1.3 s here)
CALLER = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "sts:GetCallerIdentity", "Resource": "*"}],
    }
)
POLICY = (
    'path "aws/container-creds/*" { capabilities = ["read"] }\n'
    'path "aws/creds/*" { capabilities = ["read"] }\n'
)
WARNING_HEADER = "X-Awsbroker-Warning"


@pytest.fixture(scope="module")
def moto() -> Iterator[MotoServer]:
    with MotoServer() as server:
        server.reset()
        yield server


@pytest.fixture(scope="module")
def world(moto: MotoServer, dev: ServerProcess, tmp_path_factory: pytest.TempPathFactory) -> CLI:
    """`aws/` against moto; a token of the `sdk` policy in `SDK_TOKEN`."""
    cli = CLI(tmp_path_factory.mktemp("sdk-home"), {"AWSBROKER_ADDR": dev.url})
    cli.env["AWSBROKER_TOKEN"] = ROOT_TOKEN
    access_key, secret_key = bootstrap_admin(moto.endpoint)
    iam = moto_client(moto.endpoint, "iam", access_key, secret_key)
    arn = iam.create_role(RoleName="target", AssumeRolePolicyDocument=OPEN_TRUST)["Role"]["Arn"]
    iam.close()
    cli.ok(
        "write",
        "aws/config/root",
        *root_config(moto.endpoint, access_key, secret_key),
    )
    cli.ok("write", "aws/config/lease", "lease=5m", "lease_max=2h")
    cli.env["ROLE_ARN"] = arn
    cli.env["SECRET_KEY"] = secret_key
    cli.ok("policy", "write", "sdk", "-", stdin=POLICY)
    cli.env["SDK_TOKEN"] = cli.ok("token", "create", "-policy=sdk", "-field=token").strip()
    return cli


def make_role(world: CLI, name: str, *fields: str, default_ttl: str = "15m") -> str:
    """An assumed_role role, of 15-minute credentials by default."""
    world.ok(
        "write",
        f"aws/roles/{name}",
        "credential_type=assumed_role",
        f"role_arns={world.env['ROLE_ARN']}",
        f"default_sts_ttl={default_ttl}",
        *fields,
    )
    return name


def leases(dev: ServerProcess, prefix: str) -> int:
    """How many leases (issuances) there are under `prefix`."""
    answer = httpx.request(
        "LIST",
        f"{dev.url}/v1/sys/leases/lookup/{prefix}",
        headers={"X-Vault-Token": ROOT_TOKEN},
    )
    if answer.status_code == 404:
        return 0
    answer.raise_for_status()
    return len(answer.json()["data"]["keys"])


def seconds_left(expiration: str) -> float:
    expires = datetime.strptime(expiration, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    return expires.timestamp() - time.time()


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, world: CLI) -> Path:
    """boto3 in this process sees only what a test sets. Returns AWS_CONFIG_FILE."""
    for key in list(os.environ):
        if key.startswith(("AWS_", "AWSBROKER_", "VAULT_")):
            monkeypatch.delenv(key)
    config = tmp_path / "aws-config"
    config.write_text("")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWSBROKER_ADDR", world.env["AWSBROKER_ADDR"])
    monkeypatch.setenv("AWSBROKER_TOKEN", world.env["SDK_TOKEN"])
    monkeypatch.setenv("AWSBROKER_CACHE_DIR", str(tmp_path / "cache"))
    return config


def boto3_calls(moto: MotoServer, session: boto3.Session, calls: int) -> set[str]:
    """`calls` GetCallerIdentity through one client: the access keys they were signed with."""
    sts = session.client("sts", endpoint_url=moto.endpoint, region_name=REGION)
    keys = set()
    try:
        for _ in range(calls):
            sts.get_caller_identity()
            credentials = session.get_credentials()
            assert credentials is not None
            keys.add(credentials.get_frozen_credentials().access_key)
    finally:
        sts.close()
    return keys


# ---- the container endpoint ---------------------------------------------------------------


def test_boto3_on_the_container_endpoint_fetches_once_at_the_default_ttl(
    aws_env: Path,
    moto: MotoServer,
    dev: ServerProcess,
    world: CLI,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    role = make_role(world, "container-default")
    url = f"{dev.url}/v1/aws/container-creds/{role}"
    monkeypatch.setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", url)
    monkeypatch.setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", world.env["SDK_TOKEN"])
    keys = boto3_calls(moto, boto3.Session(), CALLS)
    assert len(keys) == 1
    assert leases(dev, f"aws/container-creds/{role}/") == 1  # one issuance for 20 calls
    body = httpx.get(url, headers={"Authorization": world.env["SDK_TOKEN"]})
    assert WARNING_HEADER not in body.headers
    assert 3590 <= seconds_left(body.json()["Expiration"]) <= 3600  # an hour, not 15m


def test_the_container_default_stays_within_the_roles_max(world: CLI, dev: ServerProcess) -> None:
    role = make_role(world, "container-capped", "max_sts_ttl=20m")
    body = httpx.get(
        f"{dev.url}/v1/aws/container-creds/{role}",
        headers={"Authorization": world.env["SDK_TOKEN"]},
    )
    assert body.status_code == 200, body.text
    assert 1190 <= seconds_left(body.json()["Expiration"]) <= 1200
    assert WARNING_HEADER not in body.headers
    # The mount's max caps it too; 10 minutes is inside the window, so it warns.
    world.ok("secrets", "enable", "-path=aws-capped", "-max-lease-ttl=10m", "aws")
    root = json.loads(world.ok("read", "-format=json", "aws/config/root"))["data"]
    world.ok(
        "write",
        "aws-capped/config/root",
        f"access_key={root['access_key']}",
        f"secret_key={world.env['SECRET_KEY']}",
        f"region={REGION}",
        f"iam_endpoint={root['iam_endpoint']}",
        f"sts_endpoint={root['sts_endpoint']}",
    )
    world.ok("write", "aws-capped/roles/r", "credential_type=iam_user", f"policy_document={CALLER}")
    capped = httpx.get(
        f"{dev.url}/v1/aws-capped/container-creds/r", headers={"Authorization": ROOT_TOKEN}
    )
    assert capped.status_code == 200, capped.text
    assert 590 <= seconds_left(capped.json()["Expiration"]) <= 600
    assert "inside the AWS SDKs' refresh windows" in capped.headers[WARNING_HEADER]


def test_a_short_ttl_asked_of_the_container_endpoint_is_given_with_a_warning(
    aws_env: Path,
    moto: MotoServer,
    dev: ServerProcess,
    world: CLI,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    role = make_role(world, "container-short", default_ttl="1h")
    url = f"{dev.url}/v1/aws/container-creds/{role}?ttl=15m"
    body = httpx.get(url, headers={"Authorization": world.env["SDK_TOKEN"]})
    assert body.status_code == 200
    assert set(body.json()) == {"AccessKeyId", "SecretAccessKey", "Token", "Expiration"}
    assert 890 <= seconds_left(body.json()["Expiration"]) <= 900  # as asked, not raised
    warning = body.headers[WARNING_HEADER]
    assert "inside the AWS SDKs' refresh windows" in warning
    assert re.search(r"^a lifetime of 1[45]m\d+s is inside", warning)
    logged = rf"\[WARNING\] \S+: aws/container-creds/{role} gave a credential of 8\d\ds, inside"
    assert re.search(logged, dev.log())
    # What the warning is about: botocore fetches again at every call.
    monkeypatch.setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", url)
    monkeypatch.setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", world.env["SDK_TOKEN"])
    keys = boto3_calls(moto, boto3.Session(), 3)
    assert len(keys) == 3  # a new credential at each call (and at each look at it)
    assert leases(dev, f"aws/container-creds/{role}/") >= 1 + 3


def test_iam_users_from_the_container_endpoint_get_an_hour_or_what_is_asked(
    world: CLI, dev: ServerProcess
) -> None:
    """config/lease gives 5-minute leases; the endpoint gives an hour (within lease_max),
    or exactly what is asked, with a warning inside the window."""
    world.ok(
        "write", "aws/roles/container-user", "credential_type=iam_user", f"policy_document={CALLER}"
    )
    headers = {"Authorization": world.env["SDK_TOKEN"]}
    url = f"{dev.url}/v1/aws/container-creds/container-user"
    default = httpx.get(url, headers=headers)
    assert 3590 <= seconds_left(default.json()["Expiration"]) <= 3600
    assert WARNING_HEADER not in default.headers
    short = httpx.get(url, params={"ttl": "10m"}, headers=headers)
    assert 590 <= seconds_left(short.json()["Expiration"]) <= 600
    assert re.search(r"^a lifetime of (10m0s|9m59s) ", short.headers[WARNING_HEADER])
    long = httpx.get(url, params={"ttl": "3h"}, headers=headers)  # over lease_max (2h)
    assert 7190 <= seconds_left(long.json()["Expiration"]) <= 7200


# ---- creds/ and sts/ ------------------------------------------------------------------------


def test_creds_warns_of_an_asked_ttl_inside_the_window_and_keeps_vaults_default(
    world: CLI,
) -> None:
    role = make_role(world, "creds-read")
    asked = json.loads(world.ok("read", "-format=json", f"aws/creds/{role}", "ttl=15m"))
    assert 890 <= asked["lease_duration"] <= 900
    assert len(asked["warnings"]) == 1
    assert "inside the AWS SDKs' refresh windows" in asked["warnings"][0]
    # No ttl asked: the role's default, as Vault gives it, and no warning.
    default = json.loads(world.ok("read", "-format=json", f"aws/creds/{role}"))
    assert 890 <= default["lease_duration"] <= 900
    assert default["warnings"] is None
    longer = json.loads(world.ok("read", "-format=json", f"aws/sts/{role}", "ttl=16m"))
    assert longer["warnings"] is None


# ---- credential_process -------------------------------------------------------------------


def test_credential_process_asks_for_an_hour_and_warns_when_told_less(
    world: CLI, dev: ServerProcess, tmp_path: Path
) -> None:
    role = make_role(world, "process-ttl")
    env = {"AWSBROKER_CACHE_DIR": str(tmp_path / "cache")}
    default = world.run("aws", "credential-process", role, env=env)
    assert default.returncode == 0, default.stderr
    assert 3590 <= seconds_left(json.loads(default.stdout)["Expiration"]) <= 3600
    assert default.stderr == ""
    for _ in range(2):  # never cached: each run is an issuance, and warns
        short = world.run("aws", "credential-process", "-ttl=15m", role, env=env)
        assert short.returncode == 0
        assert 890 <= seconds_left(json.loads(short.stdout)["Expiration"]) <= 900
        assert re.match(r"awsbroker: warning: a lifetime of 1[45]m\d+s is inside", short.stderr)
        assert short.stderr.count("\n") == 1
    # -ttl= asks for no ttl: the role's 15 minutes, and the CLI's own warning.
    unset = world.run("aws", "credential-process", "-ttl=", role, env=env)
    assert unset.returncode == 0
    assert re.match(r"awsbroker: warning: a lifetime of 1[45]m\d+s is inside", unset.stderr)
    assert "ask for more with -ttl" in unset.stderr
    assert leases(dev, f"aws/creds/{role}/") == 1 + 2 + 1


def test_credential_process_hour_stays_within_the_roles_max(
    world: CLI, dev: ServerProcess, tmp_path: Path
) -> None:
    """Its `ttl=1h` is capped by the role's `max_sts_ttl`, as Vault caps any asked ttl, not
    refused; 20 minutes is outside the refresh windows, so no warning (docs/sdk-credentials.md:
    only 15 minutes or less warns)."""
    role = make_role(world, "process-capped", "max_sts_ttl=20m")
    env = {"AWSBROKER_CACHE_DIR": str(tmp_path / "cache")}
    capped = world.run("aws", "credential-process", role, env=env)
    assert capped.returncode == 0, capped.stderr
    assert 1190 <= seconds_left(json.loads(capped.stdout)["Expiration"]) <= 1200
    assert capped.stderr == ""
    again = world.run("aws", "credential-process", role, env=env)  # over 15 minutes: cached
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout) == json.loads(capped.stdout)
    assert leases(dev, f"aws/creds/{role}/") == 1


def test_a_policy_that_pins_the_ttl_is_never_exceeded(
    world: CLI, dev: ServerProcess, tmp_path: Path
) -> None:
    """credential-process's hour is a parameter like any other: a policy that allows only 15m
    refuses it, and the profile must ask for 15m, which it gets, with the warning."""
    role = make_role(world, "process-pinned")
    pinned = (
        f'path "aws/creds/{role}" {{\n  capabilities = ["read"]\n'
        '  allowed_parameters = { "ttl" = ["15m"] }\n}\n'
    )
    world.ok("policy", "write", "pinned", "-", stdin=pinned)
    token = world.ok("token", "create", "-policy=pinned", "-field=token").strip()
    env = {"AWSBROKER_TOKEN": token, "AWSBROKER_CACHE_DIR": str(tmp_path / "cache")}
    refused = world.run("aws", "credential-process", role, env=env)
    assert refused.returncode == 2
    assert "permission denied" in refused.stderr
    asked = world.run("aws", "credential-process", "-ttl=15m", role, env=env)
    assert asked.returncode == 0, asked.stderr
    assert 890 <= seconds_left(json.loads(asked.stdout)["Expiration"]) <= 900
    assert "inside the AWS SDKs' refresh windows" in asked.stderr
    assert leases(dev, f"aws/creds/{role}/") == 1


def test_credential_process_warns_of_a_short_iam_user_lease(world: CLI, tmp_path: Path) -> None:
    """An IAM user's lifetime is its lease, from config/lease (5 minutes here), whatever
    ttl is asked: the warning says where to change it."""
    world.ok(
        "write", "aws/roles/process-user", "credential_type=iam_user", f"policy_document={CALLER}"
    )
    env = {"AWSBROKER_CACHE_DIR": str(tmp_path / "cache")}
    result = world.run("aws", "credential-process", "process-user", env=env)
    assert result.returncode == 0, result.stderr
    assert 290 <= seconds_left(json.loads(result.stdout)["Expiration"]) <= 300
    assert result.stderr.startswith("awsbroker: warning: a lifetime of 5m0s is inside")
    assert "iam_user leases come from config/lease" in result.stderr


def write_profile(config: Path, role: str, *flags: str) -> None:
    args = " ".join([*flags, role])
    config.write_text(
        f"[profile broker]\ncredential_process = {AWSBROKER} aws credential-process {args}\n"
        f"region = {REGION}\n"
    )


def test_boto3_through_credential_process_fetches_once_at_the_default_ttl(
    aws_env: Path, moto: MotoServer, dev: ServerProcess, world: CLI
) -> None:
    role = make_role(world, "process-boto3")
    write_profile(aws_env, role)
    keys = boto3_calls(moto, boto3.Session(profile_name="broker"), CALLS)
    for _ in range(3):  # new SDK processes get the cached credential
        keys |= boto3_calls(moto, boto3.Session(profile_name="broker"), 1)
    assert len(keys) == 1
    assert leases(dev, f"aws/creds/{role}/") == 1


def aws_cli(
    config: Path,
    moto: MotoServer,
    world: CLI,
    tmp_path: Path,
    *args: str,
    env: dict[str, str] | None = None,
) -> str:
    env = {
        **(env or {}),
        **clean_environ(),
        "HOME": str(tmp_path),
        "AWS_CONFIG_FILE": str(config),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "no-credentials"),
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWSBROKER_ADDR": world.env["AWSBROKER_ADDR"],
        "AWSBROKER_TOKEN": world.env["SDK_TOKEN"],
        "AWSBROKER_CACHE_DIR": str(tmp_path / "cache"),
    }
    result = subprocess.run(
        [str(AWS_CLI), "sts", "get-caller-identity", "--endpoint-url", moto.endpoint, *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return str(json.loads(result.stdout)["Arn"])


def test_the_aws_cli_through_credential_process_fetches_once_at_the_default_ttl(
    moto: MotoServer, dev: ServerProcess, world: CLI, tmp_path: Path
) -> None:
    role = make_role(world, "process-aws-cli")
    config = tmp_path / "aws-config"
    write_profile(config, role)
    runs = range(CLI_RUNS)
    arns = {aws_cli(config, moto, world, tmp_path, "--profile", "broker") for _ in runs}
    assert len(arns) == 1  # one session: one credential for every run of the AWS CLI
    assert leases(dev, f"aws/creds/{role}/") == 1


def test_the_aws_cli_with_a_short_ttl_fetches_at_every_run(
    moto: MotoServer, dev: ServerProcess, world: CLI, tmp_path: Path
) -> None:
    role = make_role(world, "process-aws-cli-short")
    config = tmp_path / "aws-config"
    write_profile(config, role, "-ttl=15m")
    for _ in range(3):
        aws_cli(config, moto, world, tmp_path, "--profile", "broker")
    # At least one issuance per run: botocore loads it, finds it inside its window, and asks
    # again before the call (two per run with botocore 1.44).
    assert leases(dev, f"aws/creds/{role}/") >= 3


def test_the_aws_cli_on_the_container_endpoint_fetches_once_per_run(
    moto: MotoServer, dev: ServerProcess, world: CLI, tmp_path: Path
) -> None:
    """Each run is a new process, with nothing kept: one issuance per run, whatever the
    lifetime (docs/sdk-credentials.md: use credential_process for such programs)."""
    role = make_role(world, "container-aws-cli")
    config = tmp_path / "aws-config"
    config.write_text(f"[default]\nregion = {REGION}\n")
    container = {
        "AWS_CONTAINER_CREDENTIALS_FULL_URI": f"{dev.url}/v1/aws/container-creds/{role}",
        "AWS_CONTAINER_AUTHORIZATION_TOKEN": world.env["SDK_TOKEN"],
    }
    for _ in range(3):
        aws_cli(config, moto, world, tmp_path, env=container)
    assert leases(dev, f"aws/container-creds/{role}/") == 3
