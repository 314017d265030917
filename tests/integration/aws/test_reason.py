"""A reason on every credential (issue 19 section 3, engines/aws/reason.py), end to end: a real
dev server over HTTP, AWS played by moto behind the recording proxy. The reason reaches AWS as
the `awsbroker:reason` tag (AssumeRole, GetFederationToken, CreateUser) when the role says so,
sits in clear in the audit entries, shows in `sys/leases/lookup`, and the role's requirements
are 400s before any AWS call."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import hvac
import pytest
import requests
from tests.integration.aws.support import AWSWorld, Broker
from tests.integration.aws.test_session_tags import ALLOW_S3, only_call, tags
from tests.support import bao
from tests.support.cli import CLI
from tests.support.server import ROOT_TOKEN

REASON = "INC-4711: restore the orders table from last night's snapshot"
TAG = "awsbroker:reason"


@pytest.fixture
def audit_log(broker: Broker, tmp_path: Path) -> Iterator[Path]:
    log = tmp_path / "audit.log"
    broker.vault.sys.enable_audit_device("file", options={"file_path": str(log)}, path="why")
    try:
        yield log
    finally:
        broker.vault.sys.disable_audit_device("why")


def entries(log: Path, path: str) -> list[dict[str, Any]]:
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    return [e for e in lines if e["request"]["path"] == path]


def assumed_role(aws: AWSWorld, vault: hvac.Client, **fields: Any) -> None:
    arn = aws.create_role("target")
    vault.write("aws/roles/deploy", credential_type="assumed_role", role_arns=[arn], **fields)


def test_assume_role_sends_the_reason_as_a_session_tag_beside_the_roles_own(
    aws: AWSWorld, vault: hvac.Client, broker: Broker, audit_log: Path
) -> None:
    assumed_role(
        aws,
        vault,
        session_tags=["team=platform"],
        session_tags_template={"via": "{{ .AuthMethod }}"},
        reason_session_tag=True,
    )

    body = broker.ok("POST", "aws/sts/deploy", json={"reason": REASON})

    call = only_call(aws, "AssumeRole")
    # moto keeps the apostrophe; AWS's tag characters do not include it: it became "_".
    assert tags(call) == {
        "team": "platform",
        "via": "token",
        TAG: REASON.replace("'", "_"),
    }
    # The audit entries hold it in clear; the credentials in them stay HMACs.
    audited = entries(audit_log, "aws/sts/deploy")
    assert [e["type"] for e in audited] == ["request", "response"]
    assert all(e["request"]["data"]["reason"] == REASON for e in audited)
    secret = audited[1]["response"]["data"]["secret_key"]
    assert secret.startswith("hmac-sha256:")
    # The lease lookup shows it.
    lookup = broker.ok("PUT", "sys/leases/lookup", json={"lease_id": body["lease_id"]})
    assert lookup["data"]["reason"] == REASON
    # And the caller's own list of leases (sys/leases/self, the console's) too.
    own = broker.ok("GET", "sys/leases/self")["data"]["leases"]
    assert [o["reason"] for o in own if o["lease_id"] == body["lease_id"]] == [REASON]


def test_a_get_with_the_reason_in_the_query_is_taken_the_same(
    aws: AWSWorld, vault: hvac.Client, broker: Broker, audit_log: Path
) -> None:
    assumed_role(aws, vault, reason_session_tag=True)

    body = broker.ok(
        "GET", "aws/creds/deploy", params={"reason": "deploy v1.2.3", "role_session_name": "me"}
    )

    assert tags(only_call(aws, "AssumeRole")) == {TAG: "deploy v1.2.3"}
    assert vault.sys.read_lease(body["lease_id"])["data"]["reason"] == "deploy v1.2.3"
    # Only the reason is in clear: the path's other parameters stay HMACs.
    request = entries(audit_log, "aws/creds/deploy")[0]["request"]
    assert request["data"]["reason"] == "deploy v1.2.3"
    assert request["data"]["role_session_name"].startswith("hmac-sha256:")


def test_the_reason_is_in_clear_on_the_credential_paths_only(
    aws: AWSWorld, vault: hvac.Client, broker: Broker, audit_log: Path
) -> None:
    """Another path's `reason` key (here a KV-like write to a role, an unknown field) stays
    hashed: the clear key belongs to creds/sts, not to the mount."""
    assumed_role(aws, vault)
    broker.request("POST", "aws/roles/deploy", json={"reason": "not a credential"})

    written = entries(audit_log, "aws/roles/deploy")[-1]["request"]
    assert written["data"]["reason"].startswith("hmac-sha256:")


def test_federation_token_sends_the_reason_as_a_session_tag(
    aws: AWSWorld, vault: hvac.Client, broker: Broker
) -> None:
    vault.write(
        "aws/roles/fed",
        credential_type="federation_token",
        policy_document=ALLOW_S3,
        reason_session_tag=True,
    )

    broker.ok("POST", "aws/sts/fed", json={"reason": "quarterly report <export>; " + "z" * 300})

    value = tags(only_call(aws, "GetFederationToken"))[TAG] or ""
    assert len(value) == 256
    assert value.startswith("quarterly report _export__ zzz")


def test_iam_user_gets_the_reason_as_a_user_tag(
    aws: AWSWorld, vault: hvac.Client, broker: Broker
) -> None:
    vault.write(
        "aws/roles/u",
        credential_type="iam_user",
        policy_document=ALLOW_S3,
        iam_tags=["team=platform"],
        reason_session_tag=True,
    )

    broker.ok("POST", "aws/creds/u", json={"reason": REASON})

    create = only_call(aws, "CreateUser")
    assert tags(create) == {"team": "platform", TAG: REASON.replace("'", "_")}
    user = create.param("UserName") or ""
    on_user = aws.iam().list_user_tags(UserName=user)["Tags"]
    assert {t["Key"]: t["Value"] for t in on_user}[TAG] == REASON.replace("'", "_")


def test_without_reason_session_tag_the_reason_is_kept_but_not_sent(
    aws: AWSWorld, vault: hvac.Client, broker: Broker
) -> None:
    assumed_role(aws, vault)

    body = broker.ok("POST", "aws/sts/deploy", json={"reason": REASON})

    assert tags(only_call(aws, "AssumeRole")) == {}
    assert vault.sys.read_lease(body["lease_id"])["data"]["reason"] == REASON


def test_a_lease_without_a_reason_looks_up_as_vaults(
    aws: AWSWorld, vault: hvac.Client, broker: Broker
) -> None:
    assumed_role(aws, vault, reason_session_tag=True)

    body = broker.ok("POST", "aws/sts/deploy")

    assert tags(only_call(aws, "AssumeRole")) == {}
    assert "reason" not in vault.sys.read_lease(body["lease_id"])["data"]


def test_required_and_minimum_length_are_400s_before_any_aws_call(
    aws: AWSWorld, vault: hvac.Client, broker: Broker
) -> None:
    assumed_role(aws, vault, reason_required=True, reason_min_length=10)

    missing = broker.errors("POST", "aws/sts/deploy", 400)
    blank = broker.errors("POST", "aws/sts/deploy", 400, json={"reason": "   "})
    short = broker.errors("GET", "aws/creds/deploy", 400, params={"reason": "because"})
    long = broker.errors("POST", "aws/sts/deploy", 400, json={"reason": "x" * 513})
    control = broker.errors("POST", "aws/sts/deploy", 400, json={"reason": "fix\nforged line"})
    bidi = broker.errors("POST", "aws/sts/deploy", 400, json={"reason": "fix \u202e the bug"})

    assert missing == [
        "this role requires a reason: send reason=<why you need this credential> "
        "(at least 10 characters)"
    ]
    assert blank == missing
    assert short == ["reason is 7 characters long; this role requires at least 10"]
    assert long == ["reason is 513 characters long; at most 512 are accepted"]
    assert control == [
        "reason may not hold control, format or line-separator characters; found U+000A"
    ]
    assert bidi == [
        "reason may not hold control, format or line-separator characters; found U+202E"
    ]
    assert aws.calls() == []
    assert broker.request("LIST", "sys/leases/lookup/aws/sts/deploy").status_code == 404

    broker.ok("POST", "aws/sts/deploy", json={"reason": "  long enough  "})


def test_role_fields_read_back_and_are_validated(aws: AWSWorld, broker: Broker) -> None:
    arn = aws.create_role("target")
    role = {"credential_type": "assumed_role", "role_arns": [arn]}
    written = broker.request(
        "POST",
        "aws/roles/deploy",
        json={**role, "reason_required": True, "reason_min_length": 12, "reason_session_tag": True},
    )
    assert written.status_code == 204, written.text
    data = broker.ok("GET", "aws/roles/deploy")["data"]
    assert (data["reason_required"], data["reason_min_length"], data["reason_session_tag"]) == (
        True,
        12,
        True,
    )

    session_token = broker.errors(
        "POST",
        "aws/roles/st",
        400,
        json={"credential_type": "session_token", "reason_session_tag": True},
    )
    own_key = broker.errors(
        "POST",
        "aws/roles/own",
        400,
        json={**role, "session_tags": {"AWSBroker:Reason": "x"}, "reason_session_tag": True},
    )
    too_long = broker.errors("POST", "aws/roles/big", 400, json={**role, "reason_min_length": 513})

    assert "reason_session_tag needs a credential type that takes tags" in session_token[0]
    assert "the tag key awsbroker:reason is the broker's" in own_key[0]
    assert "reason_min_length must be between 0 and 512" in too_long[0]
    for name in ("st", "own", "big"):
        assert broker.request("GET", f"aws/roles/{name}").status_code == 404


def test_session_token_roles_take_a_reason_without_a_tag(
    aws: AWSWorld, vault: hvac.Client, broker: Broker
) -> None:
    vault.write("aws/roles/st", credential_type="session_token", reason_required=True)

    assert broker.errors("POST", "aws/sts/st", 400)[0].startswith("this role requires a reason")
    body = broker.ok("POST", "aws/sts/st", json={"reason": "debugging the login"})

    assert "Tags.member.1.Key" not in only_call(aws, "GetSessionToken").params
    assert vault.sys.read_lease(body["lease_id"])["data"]["reason"] == "debugging the login"


def test_the_cli_passes_reason(
    aws: AWSWorld, vault: hvac.Client, broker: Broker, tmp_path: Path
) -> None:
    assumed_role(aws, vault, reason_required=True, reason_session_tag=True)
    cli = CLI(tmp_path / "home", {"AWSBROKER_ADDR": broker.server.url})
    env = {"AWSBROKER_TOKEN": ROOT_TOKEN}

    refused = cli.run("aws", "credential-process", "-no-cache", "deploy", env=env)
    out = cli.ok("aws", "credential-process", "-reason=INC-42 rotate the cache", "deploy", env=env)

    assert refused.returncode != 0
    assert "this role requires a reason" in refused.stderr
    assert json.loads(out)["Version"] == 1
    assert tags(only_call(aws, "AssumeRole")) == {TAG: "INC-42 rotate the cache"}

    aws.proxy.clear()
    cli.ok("aws", "exec", "-reason=INC-43 one command", "deploy", "--", "true", env=env)
    assert tags(only_call(aws, "AssumeRole")) == {TAG: "INC-43 one command"}

    # The generic read takes it as any parameter, and `lease lookup` shows it.
    lease_id = cli.ok(
        "read", "-field=lease_id", "aws/creds/deploy", "reason=INC-44 by hand", env=env
    ).strip()
    looked_up = cli.ok("lease", "lookup", lease_id, env=env)
    assert re.search(r"^reason\s+INC-44 by hand$", looked_up, re.M), looked_up


def test_the_container_credentials_endpoint_takes_it_in_its_uri(
    aws: AWSWorld, vault: hvac.Client, broker: Broker, audit_log: Path
) -> None:
    """An SDK uses AWS_CONTAINER_CREDENTIALS_FULL_URI as given: the reason rides in its query."""
    assumed_role(aws, vault, reason_required=True, reason_session_tag=True)
    url = f"{broker.server.url}/v1/aws/container-creds/deploy"
    bare = {"Authorization": ROOT_TOKEN}

    refused = requests.get(url, headers=bare, timeout=30)
    answered = requests.get(url, params={"reason": "svc orders"}, headers=bare, timeout=30)

    assert refused.status_code == 400, refused.text
    assert answered.status_code == 200, answered.text
    assert answered.json()["AccessKeyId"]
    assert tags(only_call(aws, "AssumeRole")) == {TAG: "svc orders"}
    audited = entries(audit_log, "aws/container-creds/deploy")
    assert audited[-1]["request"]["data"]["reason"] == "svc orders"


def test_the_bao_cli_passes_it_as_any_parameter(
    aws: AWSWorld, vault: hvac.Client, broker: Broker, tmp_path: Path
) -> None:
    """`bao read aws/creds/ROLE reason=...` (a GET with the query) and `bao write aws/sts/ROLE
    reason=...` (a body), unchanged: the reason is an ordinary parameter to Vault's clients."""
    assumed_role(aws, vault, reason_required=True, reason_session_tag=True)
    theirs = bao.Bao(bao.require(), tmp_path / "bao-home", broker.server.url, ROOT_TOKEN)

    refused = theirs.run("read", "aws/creds/deploy")
    read = theirs.run("read", "-format=json", "aws/creds/deploy", "reason=INC-9 via bao read")
    written = theirs.run("write", "-format=json", "aws/sts/deploy", "reason=INC-9 via bao write")

    assert refused.returncode == 2, refused
    assert "this role requires a reason" in refused.stderr
    assert read.returncode == 0, read.stderr
    assert written.returncode == 0, written.stderr
    assert [tags(c)[TAG] for c in aws.calls("AssumeRole")] == [
        "INC-9 via bao read",
        "INC-9 via bao write",
    ]
    lease_id = json.loads(read.stdout)["lease_id"]
    looked_up = theirs.run("lease", "lookup", "-format=json", lease_id)
    assert json.loads(looked_up.stdout)["data"]["reason"] == "INC-9 via bao read"
