"""docs/iam-policy.md: its setup block runs as written with the AWS CLI (against moto, IAM
checks on, signed by an administrator), and the user it makes holds exactly the five policy
files; and the doc's per-file sections name exactly the actions of each file."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path
from urllib.parse import unquote

import pytest
from tests.support import aws_cli
from tests.support import iam_policies as policies
from tests.support.moto_process import MotoProcess
from tests.support.moto_server import bootstrap_admin, moto_client

# Names in the doc that are not actions of a file: condition keys, and a call needing none.
NOT_ACTIONS = {
    "iam:PermissionsBoundary",
    "iam:PolicyARN",
    "sts:ExternalId",
    "sts:GetCallerIdentity",
}


def test_the_setup_block_makes_a_user_with_exactly_the_policies(
    moto: MotoProcess, tmp_path: Path
) -> None:
    aws_cli.require()
    with moto.setup():
        admin_key = bootstrap_admin(moto.endpoint)
    (tmp_path / "docs").symlink_to(policies.POLICY_DIR.parent)
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "AWS_ENDPOINT_URL": moto.endpoint,
        "AWS_ACCESS_KEY_ID": admin_key[0],
        "AWS_SECRET_ACCESS_KEY": admin_key[1],
        "AWS_DEFAULT_REGION": "us-east-1",
    }

    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", policies.setup_block()],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    key_id, secret = result.stdout.splitlines()[-1].split("\t")
    assert re.fullmatch(r"AKIA[0-9A-Z]{16}", key_id), result.stdout
    assert moto_client(moto.endpoint, "sts", key_id, secret).get_caller_identity()["Arn"] == (
        f"arn:aws:iam::{policies.MOTO_ACCOUNT}:user/awsbroker"
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["docs"]  # the block cleans up
    iam = moto_client(moto.endpoint, "iam", *admin_key)
    attached = iam.list_attached_user_policies(UserName="awsbroker")["AttachedPolicies"]
    documents = {}
    for policy in attached:
        version = iam.get_policy(PolicyArn=policy["PolicyArn"])["Policy"]["DefaultVersionId"]
        document = iam.get_policy_version(PolicyArn=policy["PolicyArn"], VersionId=version)
        raw = document["PolicyVersion"]["Document"]
        documents[policy["PolicyName"]] = raw if isinstance(raw, dict) else json.loads(unquote(raw))
    iam.close()
    expected = {
        f"awsbroker-{name}": json.loads(
            json.dumps(policies.load(name)).replace("111122223333", policies.MOTO_ACCOUNT)
        )
        for name in policies.FILES
    }
    assert documents == expected


@pytest.mark.parametrize("name", policies.FILES)
def test_the_doc_names_each_action_of_each_file(name: str) -> None:
    sections = re.split(r"^#{2,3} ", policies.DOC.read_text(), flags=re.M)
    (section,) = [s for s in sections if s.startswith(f"`{name}.json`")]
    named = set(re.findall(r"\b(?:iam|sts):[A-Za-z]+", section)) - NOT_ACTIONS
    assert named == policies.actions(policies.load(name))
