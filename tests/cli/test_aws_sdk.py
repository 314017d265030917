"""Credentials straight into an unmodified boto3: `credential_process`, the container
credentials endpoint and `aws exec`, used against moto with its checks on (signatures and IAM
policies), including the SDK fetching new credentials as they near expiry.

Two mounts: `aws/` (long-lived credentials) and `aws-short/`, whose leases last a few seconds,
so botocore (which refreshes within 15 minutes of expiry) asks again at its next call.
"""

from __future__ import annotations

import json
import os
import stat
import sys
from collections.abc import Iterator
from pathlib import Path

import boto3
import httpx
import pytest
from tests.support.cli import AWSBROKER, CLI
from tests.support.moto_server import (
    OPEN_TRUST,
    REGION,
    MotoServer,
    bootstrap_admin,
    moto_client,
    root_config,
)
from tests.support.server import ROOT_TOKEN, ServerProcess

SHORT_LEASE = 6
CALLER = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "sts:GetCallerIdentity", "Resource": "*"}],
    }
)
ASSUMED_CREDS_POLICY = 'path "aws/creds/assumed" { capabilities = ["read"] }\n'
CONTAINER_POLICY = 'path "aws/container-creds/*" { capabilities = ["read"] }\n' + (
    'path "aws-short/container-creds/*" { capabilities = ["read"] }\n'
)


@pytest.fixture(scope="module")
def moto() -> Iterator[MotoServer]:
    with MotoServer() as server:
        server.reset()
        yield server


@pytest.fixture(scope="module")
def world(moto: MotoServer, dev: ServerProcess, tmp_path_factory: pytest.TempPathFactory) -> CLI:
    """The dev server's `aws/` and `aws-short/` configured against moto, with roles:
    `user` (iam_user), `assumed` (assumed_role) and, on `aws-short/`, `short` (iam_user)."""
    cli = CLI(tmp_path_factory.mktemp("aws-home"), {"AWSBROKER_ADDR": dev.url})
    cli.env["AWSBROKER_TOKEN"] = ROOT_TOKEN
    access_key, secret_key = bootstrap_admin(moto.endpoint)
    iam = moto_client(moto.endpoint, "iam", access_key, secret_key)
    role = iam.create_role(RoleName="target", AssumeRolePolicyDocument=OPEN_TRUST)["Role"]["Arn"]
    iam.put_role_policy(RoleName="target", PolicyName="caller", PolicyDocument=CALLER)
    iam.close()
    moto.enable_auth()
    cli.ok("secrets", "enable", "-path=aws-short", "aws")
    for mount in ("aws", "aws-short"):
        cli.ok(
            "write",
            f"{mount}/config/root",
            *root_config(moto.endpoint, access_key, secret_key),
        )
    cli.ok("write", "aws/roles/user", "credential_type=iam_user", f"policy_document={CALLER}")
    cli.ok("write", "aws/roles/assumed", "credential_type=assumed_role", f"role_arns={role}")
    cli.ok("write", "aws-short/config/lease", f"lease={SHORT_LEASE}s", "lease_max=10m")
    cli.ok(
        "write", "aws-short/roles/short", "credential_type=iam_user", f"policy_document={CALLER}"
    )
    cli.ok("policy", "write", "containers", "-", stdin=CONTAINER_POLICY)
    return cli


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, world: CLI) -> Path:
    """boto3 in this process sees no ambient AWS settings, only what a test sets; the
    `credential_process` child gets the broker's address and token. Returns AWS_CONFIG_FILE."""
    for key in list(os.environ):
        if key.startswith(("AWS_", "AWSBROKER_", "VAULT_")):
            monkeypatch.delenv(key)
    config = tmp_path / "aws-config"
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    for key in ("AWSBROKER_ADDR", "AWSBROKER_TOKEN"):
        monkeypatch.setenv(key, world.env[key])
    monkeypatch.setenv("AWSBROKER_CACHE_DIR", str(tmp_path / "cache"))
    return config


def caller(session: boto3.Session, moto: MotoServer) -> tuple[str, str]:
    """GetCallerIdentity through `session` against moto: (the ARN, the access key used)."""
    sts = session.client("sts", endpoint_url=moto.endpoint, region_name=REGION)
    try:
        arn = sts.get_caller_identity()["Arn"]
    finally:
        sts.close()
    credentials = session.get_credentials()
    assert credentials is not None
    return arn, credentials.get_frozen_credentials().access_key


def write_profiles(config: Path, **commands: str) -> None:
    text = ""
    for profile, args in commands.items():
        text += (
            f"[profile {profile}]\ncredential_process = {AWSBROKER} aws credential-process {args}\n"
        )
    config.write_text(text)


# ---- credential_process ------------------------------------------------------------------


def test_credential_process_output_is_what_sdks_read(world: CLI, tmp_path: Path) -> None:
    out = json.loads(
        world.ok("aws", "credential-process", "assumed", env={"AWSBROKER_CACHE_DIR": str(tmp_path)})
    )
    assert out["Version"] == 1
    assert out["AccessKeyId"].startswith("ASIA")
    assert out["SecretAccessKey"]
    assert out["SessionToken"]
    assert out["Expiration"].endswith("Z")
    user = json.loads(
        world.ok("aws", "credential-process", "user", env={"AWSBROKER_CACHE_DIR": str(tmp_path)})
    )
    assert "SessionToken" not in user  # iam_user: no session token, the lease's expiry
    assert user["Expiration"].endswith("Z")


def test_boto3_gets_and_reuses_credentials_through_credential_process(
    aws_env: Path, moto: MotoServer, tmp_path: Path
) -> None:
    write_profiles(aws_env, broker="assumed", user="user")
    arn, key = caller(boto3.Session(profile_name="broker"), moto)
    assert arn.startswith("arn:aws:sts::123456789012:assumed-role/target/")
    user_arn, _ = caller(boto3.Session(profile_name="user"), moto)
    assert ":user/vault-" in user_arn
    # A new SDK process would get the cached credential, not a new one.
    _, again = caller(boto3.Session(profile_name="broker"), moto)
    assert again == key
    cache = tmp_path / "cache"
    assert stat.S_IMODE(cache.stat().st_mode) == 0o700
    files = list(cache.glob("*.json"))
    assert len(files) == 2
    assert all(stat.S_IMODE(f.stat().st_mode) == 0o600 for f in files)


def test_credential_process_refreshes_near_expiry(aws_env: Path, moto: MotoServer) -> None:
    write_profiles(aws_env, short="--mount aws-short short")
    session = boto3.Session(profile_name="short")
    arn, first = caller(session, moto)
    assert ":user/vault-" in arn
    # The same session: a 6-second credential is inside botocore's window, so botocore asks
    # again, and the cache, which never keeps a credential of 15 minutes or less, fetches.
    arn, second = caller(session, moto)
    assert second != first
    assert ":user/vault-" in arn


def test_a_world_readable_cache_directory_is_fixed_or_refused(world: CLI, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    cache.mkdir(mode=0o755)
    cache.chmod(0o755)
    world.ok("aws", "credential-process", "assumed", env={"AWSBROKER_CACHE_DIR": str(cache)})
    assert stat.S_IMODE(cache.stat().st_mode) == 0o700
    stray = next(cache.glob("*.json"))
    stray.chmod(0o644)  # someone else could have read it: it is not trusted, but replaced
    first = json.loads(stray.read_text())["access_key"]
    world.ok("aws", "credential-process", "assumed", env={"AWSBROKER_CACHE_DIR": str(cache)})
    assert json.loads(stray.read_text())["access_key"] != first
    assert stat.S_IMODE(stray.stat().st_mode) == 0o600


def test_cached_credentials_go_only_to_the_token_that_fetched_them(
    world: CLI, tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    env = {"AWSBROKER_CACHE_DIR": str(cache)}
    world.ok("policy", "write", "assumed-creds", "-", stdin=ASSUMED_CREDS_POLICY)
    token = world.ok("token", "create", "-policy=assumed-creds", "-field=token").strip()
    as_token = {**env, "AWSBROKER_TOKEN": token}
    first = json.loads(world.ok("aws", "credential-process", "assumed", env=as_token))
    again = json.loads(world.ok("aws", "credential-process", "assumed", env=as_token))
    assert again == first  # cached for this token

    bogus = world.run(
        "aws", "credential-process", "assumed", env={**env, "AWSBROKER_TOKEN": "hvs.bogus"}
    )
    assert bogus.returncode == 2
    assert "permission denied" in bogus.stderr
    assert first["AccessKeyId"] not in bogus.stdout + bogus.stderr
    other = json.loads(world.ok("aws", "credential-process", "assumed", env=env))  # root's
    assert other["AccessKeyId"] != first["AccessKeyId"]
    files = list(cache.glob("*.json"))
    assert len(files) == 2  # one per token
    for path in files:
        assert token not in path.name
        assert token not in path.read_text()


# ---- the container credentials endpoint ----------------------------------------------------


def container_token(world: CLI) -> str:
    return world.ok("token", "create", "-policy=containers", "-field=token")


def test_boto3_gets_credentials_from_the_container_endpoint(
    aws_env: Path, moto: MotoServer, dev: ServerProcess, world: CLI, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(
        "AWS_CONTAINER_CREDENTIALS_FULL_URI", f"{dev.url}/v1/aws/container-creds/assumed"
    )
    monkeypatch.setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", container_token(world))
    session = boto3.Session()
    arn, first = caller(session, moto)
    assert arn.startswith("arn:aws:sts::123456789012:assumed-role/target/")
    credentials = session.get_credentials()
    assert credentials is not None
    assert credentials.method == "container-role"
    _, second = caller(session, moto)
    assert second == first  # an hour left: no refresh


def test_boto3_refreshes_container_credentials_near_expiry(
    aws_env: Path, moto: MotoServer, dev: ServerProcess, world: CLI, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"{dev.url}/v1/aws-short/container-creds/short"
    monkeypatch.setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", url)
    monkeypatch.setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", container_token(world))
    session = boto3.Session()
    arn, first = caller(session, moto)
    assert ":user/vault-" in arn
    arn, second = caller(session, moto)  # seconds from expiry: botocore fetches again
    assert second != first
    assert ":user/vault-" in arn


def test_the_container_endpoint_format_and_its_narrow_bare_token(
    world: CLI, dev: ServerProcess
) -> None:
    token = container_token(world)
    url = f"{dev.url}/v1/aws/container-creds/assumed"
    with httpx.Client() as http:
        body = http.get(url, headers={"Authorization": token}).json()
        assert set(body) == {"AccessKeyId", "SecretAccessKey", "Token", "Expiration"}
        assert body["Expiration"].endswith("Z")
        assert http.get(url, headers={"Authorization": f"Bearer {token}"}).status_code == 200
        assert http.get(url, headers={"Authorization": "hvs.bogus"}).status_code == 403
        assert http.get(url).status_code == 403
        # The bare form is for this endpoint only.
        creds = f"{dev.url}/v1/aws/creds/assumed"
        assert http.get(creds, headers={"Authorization": ROOT_TOKEN}).status_code == 403
        user = http.get(
            f"{dev.url}/v1/aws/container-creds/user", headers={"Authorization": token}
        ).json()
        assert user["Token"] is None
        # The token's policy is for container-creds only.
        assert http.get(creds, headers={"X-Vault-Token": token}).status_code == 403


def test_a_bare_authorization_is_a_token_only_on_an_aws_mounts_endpoint(
    world: CLI, dev: ServerProcess
) -> None:
    """Paths that end like the endpoint but that the AWS engine does not serve as it take no
    bare token: `sys/` (here reading a mount's configuration), the token store, and an AWS
    mount's own root that happens to be named `.../container-creds/x`."""
    world.ok("secrets", "enable", "-path=team/container-creds/x", "aws")
    try:
        with httpx.Client() as http:
            for path in (
                "sys/mounts/team/container-creds/x",
                "auth/token/container-creds/x",
                "team/container-creds/x",
            ):
                bare = http.get(f"{dev.url}/v1/{path}", headers={"Authorization": ROOT_TOKEN})
                assert (bare.status_code, bare.json()) == (403, {"errors": ["permission denied"]})
            mount = http.get(
                f"{dev.url}/v1/sys/mounts/team/container-creds/x",
                headers={"X-Vault-Token": ROOT_TOKEN},
            )
            assert mount.status_code == 200  # the same read, with the token sent as a token
    finally:
        world.ok("secrets", "disable", "team/container-creds/x")


# ---- aws exec ----------------------------------------------------------------------------

PRINT_ENV = "import json, os; print(json.dumps(dict(os.environ)))"


def test_exec_puts_fresh_credentials_in_the_environment(world: CLI, moto: MotoServer) -> None:
    out = world.ok(
        "aws",
        "exec",
        "--region",
        REGION,
        "assumed",
        "--",
        sys.executable,
        "-c",
        PRINT_ENV,
        env={"AWS_SESSION_TOKEN": "stale", "VAULT_TOKEN": "x"},
    )
    env = json.loads(out)
    assert env["AWS_ACCESS_KEY_ID"].startswith("ASIA")
    assert env["AWS_SESSION_TOKEN"] != "stale"
    assert env["AWS_REGION"] == env["AWS_DEFAULT_REGION"] == REGION
    assert env["AWS_CREDENTIAL_EXPIRATION"].endswith("Z")
    assert "AWSBROKER_TOKEN" not in env
    assert "VAULT_TOKEN" not in env
    sts = moto_client(
        moto.endpoint,
        "sts",
        env["AWS_ACCESS_KEY_ID"],
        env["AWS_SECRET_ACCESS_KEY"],
        env["AWS_SESSION_TOKEN"],
    )
    assert "assumed-role/target" in sts.get_caller_identity()["Arn"]
    sts.close()
    user = json.loads(
        world.ok(
            "aws",
            "exec",
            "user",
            sys.executable,
            "-c",
            PRINT_ENV,
            env={"AWS_SESSION_TOKEN": "stale"},
        )
    )
    assert "AWS_SESSION_TOKEN" not in user


def test_exec_exits_with_the_commands_status(world: CLI) -> None:
    result = world.run("aws", "exec", "assumed", "--", sys.executable, "-c", "raise SystemExit(7)")
    assert result.returncode == 7
    missing = world.run("aws", "exec", "assumed", "--", "/nonexistent/command")
    assert missing.returncode == 127
    assert "cannot run" in missing.stderr
    assert world.run("aws", "exec", "assumed").returncode == 1
    unknown = world.run("aws", "exec", "nobody", "--", "true")
    assert unknown.returncode == 2
    assert 'Role "nobody" not found' in unknown.stderr
