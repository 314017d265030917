"""`awsbroker aws console ROLE` (issue 19 section 2): the sign-in URL printed with `-print`,
or opened in the browser Python's `webbrowser` starts (here a `BROWSER` script that records
the URL it is given), against moto and the loopback federation stand-in."""

from __future__ import annotations

import json
import re
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from tests.support.cli import CLI
from tests.support.federation_stand_in import FederationStandIn
from tests.support.moto_server import (
    OPEN_TRUST,
    MotoServer,
    bootstrap_admin,
    moto_client,
    root_config,
)
from tests.support.server import ROOT_TOKEN, ServerProcess

S3 = json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}
)


@pytest.fixture(scope="module")
def stand_in() -> Iterator[tuple[MotoServer, FederationStandIn]]:
    with MotoServer() as moto:
        moto.reset()
        access_key, secret_key = bootstrap_admin(moto.endpoint)
        with FederationStandIn(moto.endpoint, access_key, secret_key) as federation:
            yield moto, federation


@pytest.fixture(scope="module")
def world(
    stand_in: tuple[MotoServer, FederationStandIn],
    dev: ServerProcess,
    tmp_path_factory: pytest.TempPathFactory,
) -> CLI:
    moto, federation = stand_in
    cli = CLI(tmp_path_factory.mktemp("console-home"), {"AWSBROKER_ADDR": dev.url})
    cli.env["AWSBROKER_TOKEN"] = ROOT_TOKEN
    access_key, secret_key = federation.admin
    iam = moto_client(moto.endpoint, "iam", access_key, secret_key)
    role = iam.create_role(RoleName="console", AssumeRolePolicyDocument=OPEN_TRUST)["Role"]["Arn"]
    iam.close()
    moto.enable_auth()
    cli.ok("secrets", "enable", "-path=aws-console", "aws")
    cli.ok(
        "write",
        "aws-console/config/root",
        *root_config(moto.endpoint, access_key, secret_key),
        f"federation_endpoint={federation.endpoint}",
    )
    cli.ok("write", "aws-console/roles/ops", "credential_type=assumed_role", f"role_arns={role}")
    cli.ok("write", "aws-console/roles/keys", "credential_type=iam_user", f"policy_document={S3}")
    return cli


def test_print_gives_a_url_that_signs_in(
    world: CLI, stand_in: tuple[MotoServer, FederationStandIn]
) -> None:
    _, federation = stand_in
    result = world.run("aws", "console", "-mount=aws-console", "-ttl=2h", "-print", "ops")
    assert result.returncode == 0, result.stderr
    url = result.stdout.strip()
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)
    assert url.startswith(federation.endpoint + "?")
    assert query["Action"] == ["login"]
    assert query["Destination"] == ["https://console.aws.amazon.com/"]
    assert federation.requests[-1].session_duration == 7200
    assert "lease aws-console/console/ops/" in result.stderr
    page = requests.get(url, timeout=10)
    assert page.status_code == 200
    assert "assumed-role/console/" in page.text


def test_without_print_the_browser_opens_the_url(world: CLI, tmp_path: Path) -> None:
    opened = tmp_path / "opened"
    browser = tmp_path / "browser"
    browser.write_text(f'#!/bin/sh\nprintf "%s" "$1" > {opened}\n')
    browser.chmod(0o755)
    destination = "https://console.aws.amazon.com/ec2/home"

    result = world.run(
        "aws",
        "console",
        "-mount=aws-console",
        f"-destination={destination}",
        "ops",
        env={"BROWSER": str(browser), "DISPLAY": None},
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout == ""  # the URL is not printed when a browser took it
    assert "opened the AWS console as ops" in result.stderr
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(opened.read_text()).query)
    assert query["Destination"] == [destination]
    assert query["SigninToken"]


def test_an_iam_user_role_is_refused_with_the_reason(world: CLI) -> None:
    result = world.run("aws", "console", "-mount=aws-console", "-print", "keys")
    assert result.returncode == 2
    assert "console sign-in needs assumed_role or federation_token" in result.stderr
    assert result.stdout == ""


def test_reason_is_sent_for_a_role_that_requires_one(world: CLI) -> None:
    """`-reason`, as `aws exec` and `aws credential-process` take it: a role with
    `reason_required` is refused without one (before any AWS call) and signs in with one,
    which the lease keeps."""
    world.ok(
        "write",
        "aws-console/roles/audited",
        "credential_type=assumed_role",
        f"role_arns={_role_arn(world)}",
        "reason_required=true",
        "reason_min_length=10",
    )

    refused = world.run("aws", "console", "-mount=aws-console", "-print", "audited")
    assert refused.returncode == 2, refused.stderr
    assert "this role requires a reason" in refused.stderr
    assert refused.stdout == ""

    reason = "INC-4711: read the failing deploy's logs"
    result = world.run(
        "aws", "console", "-mount=aws-console", "-print", f"-reason={reason}", "audited"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("http")
    (lease,) = re.findall(r"lease (aws-console/console/audited/\S+),", result.stderr)
    looked_up = json.loads(world.ok("lease", "lookup", "-format=json", lease))
    assert looked_up["data"]["reason"] == reason


def _role_arn(world: CLI) -> str:
    return json.loads(world.ok("read", "-format=json", "aws-console/roles/ops"))["data"][
        "role_arns"
    ][0]
