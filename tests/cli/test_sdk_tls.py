"""AWS credentials from a broker served over HTTPS with a private CA (docs/sdk-credentials.md).

`aws credential-process` and `aws exec` trust the CA from -ca-cert, AWSBROKER_CACERT or
VAULT_CACERT like every other command; an SDK's `credential_process` runs the command, so that
is how boto3 reaches such a broker. botocore's container provider does not: it verifies with
its own CA bundle and ignores AWS_CA_BUNDLE, which this module shows too.
"""

from __future__ import annotations

import json
import os
import ssl
import sys
from collections.abc import Iterator
from pathlib import Path

import boto3
import httpx
import pytest
from botocore.exceptions import SSLError
from tests.integration.test_tls import self_signed
from tests.support.cli import AWSBROKER, CLI
from tests.support.moto_server import OPEN_TRUST, REGION, MotoServer, moto_client
from tests.support.server import ServerProcess, config_server

PRINT_ENV = "import json, os; print(json.dumps(dict(os.environ)))"


@pytest.fixture(scope="module")
def moto() -> Iterator[MotoServer]:
    with MotoServer() as server:
        server.reset()
        yield server


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    workdir = tmp_path_factory.mktemp("sdk-tls")
    server = config_server(
        workdir, "sqlite", {"path": str(workdir / "s.db")}, tls=self_signed(workdir)
    )
    server.start()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture(scope="module")
def world(tls: ServerProcess, moto: MotoServer, tmp_path_factory: pytest.TempPathFactory) -> CLI:
    """The TLS server unsealed, `aws/` against moto with the role `assumed`; the CLI has the
    address and root token but no CA."""
    root = tls.init_and_unseal().root_token
    cli = CLI(
        tmp_path_factory.mktemp("tls-home"), {"AWSBROKER_ADDR": tls.url, "AWSBROKER_TOKEN": root}
    )
    ca = ["-ca-cert", str(tls.ca_cert)]
    iam = moto_client(moto.endpoint, "iam", "AKIAEXAMPLEEXAMPLE00", "secret")
    arn = iam.create_role(RoleName="tls-target", AssumeRolePolicyDocument=OPEN_TRUST)["Role"]["Arn"]
    iam.close()
    cli.ok("secrets", "enable", *ca, "aws")
    cli.ok(
        "write",
        *ca,
        "aws/config/root",
        "access_key=AKIAEXAMPLEEXAMPLE00",
        "secret_key=secret",
        f"region={REGION}",
        f"iam_endpoint={moto.endpoint}",
        f"sts_endpoint={moto.endpoint}",
    )
    cli.ok("write", *ca, "aws/roles/assumed", "credential_type=assumed_role", f"role_arns={arn}")
    return cli


def test_credential_process_trusts_the_ca_flag_or_variables(
    world: CLI, tls: ServerProcess, tmp_path: Path
) -> None:
    ca = str(tls.ca_cert)
    untrusted = world.run("aws", "credential-process", "--no-cache", "assumed")
    assert untrusted.returncode == 2
    assert "-ca-cert" in untrusted.stderr
    assert "Traceback" not in untrusted.stderr
    for extra, env in [
        (["-ca-cert", ca], {}),
        ([f"-ca-cert={ca}"], {}),
        ([], {"AWSBROKER_CACERT": ca}),
        ([], {"VAULT_CACERT": ca}),
    ]:
        cache = {"AWSBROKER_CACHE_DIR": str(tmp_path / "cache" / str(len(env)))}
        out = world.ok("aws", "credential-process", *extra, "assumed", env={**env, **cache})
        assert json.loads(out)["AccessKeyId"].startswith("ASIA")


def test_exec_trusts_the_ca_flag(world: CLI, tls: ServerProcess) -> None:
    untrusted = world.run("aws", "exec", "assumed", "--", sys.executable, "-c", PRINT_ENV)
    assert untrusted.returncode == 2
    assert "-ca-cert" in untrusted.stderr
    out = world.ok(
        "aws",
        "exec",
        "-ca-cert",
        str(tls.ca_cert),
        "assumed",
        "--",
        sys.executable,
        "-c",
        PRINT_ENV,
    )
    env = json.loads(out)
    assert env["AWS_ACCESS_KEY_ID"].startswith("ASIA")
    assert "AWSBROKER_TOKEN" not in env
    # After the role too, as every command takes flags, when a `--` starts the command.
    after = world.ok(
        "aws", "exec", "assumed", f"-ca-cert={tls.ca_cert}", "--", sys.executable, "-c", PRINT_ENV
    )
    assert json.loads(after)["AWS_ACCESS_KEY_ID"].startswith("ASIA")


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, world: CLI) -> Path:
    for key in list(os.environ):
        if key.startswith(("AWS_", "AWSBROKER_", "VAULT_")):
            monkeypatch.delenv(key)
    config = tmp_path / "aws-config"
    config.write_text("")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWSBROKER_CACHE_DIR", str(tmp_path / "cache"))
    return config


def test_boto3_reaches_a_private_ca_broker_through_credential_process(
    aws_env: Path, world: CLI, tls: ServerProcess, moto: MotoServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWSBROKER_ADDR", tls.url)
    monkeypatch.setenv("AWSBROKER_TOKEN", world.env["AWSBROKER_TOKEN"])
    aws_env.write_text(
        "[profile broker]\n"
        f"credential_process = {AWSBROKER} aws credential-process -ca-cert {tls.ca_cert} assumed\n"
    )
    sts = boto3.Session(profile_name="broker").client(
        "sts", endpoint_url=moto.endpoint, region_name=REGION
    )
    try:
        assert "assumed-role/tls-target/" in sts.get_caller_identity()["Arn"]
    finally:
        sts.close()


def test_botocores_container_provider_ignores_aws_ca_bundle(
    aws_env: Path, world: CLI, tls: ServerProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The endpoint answers over TLS to a client given the CA; botocore's container provider,
    given the same CA in AWS_CA_BUNDLE, still refuses the certificate."""
    token = world.env["AWSBROKER_TOKEN"]
    url = f"{tls.url}/v1/aws/container-creds/assumed"
    trust = ssl.create_default_context(cafile=str(tls.ca_cert))
    answer = httpx.get(url, headers={"Authorization": token}, verify=trust)
    assert answer.status_code == 200
    monkeypatch.setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", url)
    monkeypatch.setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", token)
    monkeypatch.setenv("AWS_CA_BUNDLE", str(tls.ca_cert))
    with pytest.raises(SSLError, match="CERTIFICATE_VERIFY_FAILED"):
        boto3.Session().get_credentials()
