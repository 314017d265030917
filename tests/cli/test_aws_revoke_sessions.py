"""`awsbroker aws revoke-sessions ROLE` (issue 19 section 1): the explicit "revoke every older
session" of the identity a role's sessions come from, against a dev server and moto."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from tests.support.cli import CLI
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
def moto_admin() -> Iterator[tuple[MotoServer, tuple[str, str]]]:
    with MotoServer() as moto:
        moto.reset()
        yield moto, bootstrap_admin(moto.endpoint)


@pytest.fixture(scope="module")
def world(
    moto_admin: tuple[MotoServer, tuple[str, str]],
    dev: ServerProcess,
    tmp_path_factory: pytest.TempPathFactory,
) -> CLI:
    moto, (access_key, secret_key) = moto_admin
    cli = CLI(tmp_path_factory.mktemp("revoke-home"), {"AWSBROKER_ADDR": dev.url})
    cli.env["AWSBROKER_TOKEN"] = ROOT_TOKEN
    iam = moto_client(moto.endpoint, "iam", access_key, secret_key)
    role = iam.create_role(RoleName="cut", AssumeRolePolicyDocument=OPEN_TRUST)["Role"]["Arn"]
    iam.close()
    moto.enable_auth()
    cli.ok("secrets", "enable", "-path=aws-cut", "aws")
    cli.ok(
        "write",
        "aws-cut/config/root",
        *root_config(moto.endpoint, access_key, secret_key),
    )
    cli.ok("write", "aws-cut/roles/ops", "credential_type=assumed_role", f"role_arns={role}")
    cli.ok("write", "aws-cut/roles/keys", "credential_type=iam_user", f"policy_document={S3}")
    return cli


def test_it_cuts_the_role_and_names_the_leases_it_revoked(
    world: CLI, moto_admin: tuple[MotoServer, tuple[str, str]]
) -> None:
    moto, (access_key, secret_key) = moto_admin
    lease = json.loads(world.ok("read", "-format=json", "aws-cut/sts/ops"))["lease_id"]

    result = world.run("aws", "revoke-sessions", "-mount=aws-cut", "ops")

    assert result.returncode == 0, result.stderr
    assert "Denied every session of role cut (" in result.stdout
    assert "Revoked 1 lease(s)" in result.stdout
    assert f"  {lease}\n" in result.stdout
    iam = moto_client(moto.endpoint, "iam", access_key, secret_key)
    names = iam.list_role_policies(RoleName="cut")["PolicyNames"]
    doc: Any = iam.get_role_policy(RoleName="cut", PolicyName=names[0])["PolicyDocument"]
    iam.close()
    doc = json.loads(doc) if isinstance(doc, str) else doc
    assert doc["Statement"][0]["Condition"]["DateLessThan"]["aws:TokenIssueTime"]
    gone = world.run("lease", "lookup", lease)
    assert gone.returncode != 0


def test_an_iam_user_role_is_refused_with_what_to_do_instead(world: CLI) -> None:
    result = world.run("aws", "revoke-sessions", "-mount=aws-cut", "keys")
    assert result.returncode == 2
    assert "sys/leases/revoke-prefix" in result.stderr
    assert result.stdout == ""
