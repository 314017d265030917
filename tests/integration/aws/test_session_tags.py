"""Credentials shaped by who asked (docs/session-tags.md), end to end: a token made through
`auth/token/create` with a display name and metadata asks a real dev server over HTTP for
credentials, and the AssumeRole / GetFederationToken request that reaches moto (recorded by the
proxy) carries the tags, session name and SourceIdentity the role's templates give."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

import hvac
from tests.integration.aws.support import ACCOUNT, STS_NAME, AWSWorld, Broker
from tests.support.aws_proxy import Call
from tests.support.cli import CLI
from tests.support.server import ROOT_TOKEN

DOC = Path(__file__).resolve().parents[3] / "docs" / "session-tags.md"

ALLOW_S3 = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}],
    }
)
CREDS_POLICY = 'path "aws/sts/*" { capabilities = ["read", "update"] }'
TEMPLATES = {
    "session_tags_template": {
        "repository": "{{ .Metadata.repository }}",
        "ref": "{{ .Metadata.ref }}",
        "via": "{{ .AuthMethod }}:{{ .AuthMountPath }}",
    },
    "session_name_template": "{{ .DisplayName }}-{{ .RoleName }}",
    "source_identity_template": "{{ .Metadata.actor }}",
}
META = {"repository": "org/app", "ref": "refs/heads/main", "actor": "alice@example.com"}


def doc_block(language: str) -> str:
    """The first ```<language> block of docs/session-tags.md."""
    match = re.search(rf"```{language}\n(.*?)```", DOC.read_text(), re.S)
    assert match, language
    return match[1]


def tags(call: Call) -> dict[str | None, str | None]:
    keys = sorted(k for k in call.params if k.startswith("Tags.member.") and k.endswith(".Key"))
    return {call.param(k): call.param(k.removesuffix(".Key") + ".Value") for k in keys}


def only_call(aws: AWSWorld, action: str) -> Call:
    calls = aws.calls(action)
    assert len(calls) == 1, aws.actions()
    return calls[0]


def caller_token(broker: Broker, meta: dict[str, str], display_name: str = "ci") -> str:
    """A token made by `auth/token/create` with `meta`, allowed `aws/sts/*`."""
    broker.vault.sys.create_or_update_acl_policy("creds", CREDS_POLICY)
    body = {"display_name": display_name, "meta": meta, "policies": ["creds"]}
    token: str = broker.ok("POST", "auth/token/create", json=body)["auth"]["client_token"]
    return token


def assumed_role(aws: AWSWorld, vault: hvac.Client, **fields: Any) -> None:
    arn = aws.create_role("target")
    vault.write("aws/roles/deploy", credential_type="assumed_role", role_arns=[arn], **fields)


def sts(broker: Broker, token: str, role: str = "deploy", **data: Any) -> Any:
    return broker.server.request("POST", f"aws/sts/{role}", token=token, json=data)


def test_assume_role_carries_the_callers_tags_name_and_source_identity(
    aws: AWSWorld, vault: hvac.Client, broker: Broker
) -> None:
    assumed_role(aws, vault, session_tags=["team=platform"], **TEMPLATES)
    token = caller_token(broker, META)

    response = sts(broker, token)

    assert response.status_code == 200, response.text
    call = only_call(aws, "AssumeRole")
    assert tags(call) == {
        "team": "platform",
        "repository": "org/app",
        "ref": "refs/heads/main",
        "via": "token:auth/token/",
    }
    assert call.param("RoleSessionName") == "token-ci-deploy"
    assert call.param("SourceIdentity") == "alice@example.com"
    assert response.json()["data"]["arn"].endswith("/target/token-ci-deploy")
    assert token not in json.dumps(call.params)


def test_without_templates_nothing_extra_is_sent(
    aws: AWSWorld, vault: hvac.Client, broker: Broker
) -> None:
    assumed_role(aws, vault)
    token = caller_token(broker, META)

    assert sts(broker, token).status_code == 200

    call = only_call(aws, "AssumeRole")
    assert not [k for k in call.params if k.startswith(("Tags.", "SourceIdentity"))]
    session = call.param("RoleSessionName") or ""
    assert re.fullmatch(r"vault-token-ci-deploy-\d{10}-[0-9A-Za-z]+", session), session


def test_federation_token_carries_the_callers_tags_and_name(
    aws: AWSWorld, vault: hvac.Client, broker: Broker
) -> None:
    vault.write(
        "aws/roles/fed",
        credential_type="federation_token",
        policy_document=ALLOW_S3,
        session_tags_template={"repository": "{{ .Metadata.repository }}"},
        session_name_template="{{ .Metadata.repository }}",
    )
    token = caller_token(broker, META)

    response = sts(broker, token, "fed")

    assert response.status_code == 200, response.text
    call = only_call(aws, "GetFederationToken")
    assert call.param("Name") == "org_app"
    assert tags(call) == {"repository": "org/app"}
    assert "SourceIdentity" not in call.params


def test_federation_token_without_templates_sends_no_tags(
    aws: AWSWorld, vault: hvac.Client, broker: Broker
) -> None:
    vault.write("aws/roles/fed", credential_type="federation_token", policy_document=ALLOW_S3)
    assert sts(broker, caller_token(broker, META), "fed").status_code == 200
    call = only_call(aws, "GetFederationToken")
    assert STS_NAME.fullmatch(call.param("Name") or "")
    assert not [k for k in call.params if k.startswith("Tags.")]


def test_bad_templates_are_refused_at_the_write(aws: AWSWorld, broker: Broker) -> None:
    arn = aws.create_role("target")
    role = {"credential_type": "assumed_role", "role_arns": [arn]}

    unparsable = broker.errors(
        "POST", "aws/roles/deploy", 400, json={**role, "session_name_template": "{{ .DisplayName"}
    )
    unknown = broker.errors(
        "POST",
        "aws/roles/deploy",
        400,
        json={**role, "session_tags_template": {"who": "{{ .Token }}"}},
    )

    assert (
        "session_name_template: cannot parse: template: template:1:1: unclosed action"
        in (unparsable[0])
    )
    assert (
        "session_tags_template['who']: unknown field .Token (available: .DisplayName"
        in (unknown[0])
    )
    assert broker.request("GET", "aws/roles/deploy").status_code == 404


def test_a_required_value_that_renders_empty_is_a_400_before_any_aws_call(
    aws: AWSWorld, vault: hvac.Client, broker: Broker
) -> None:
    assumed_role(aws, vault, **TEMPLATES)
    token = caller_token(broker, {"repository": "org/app", "actor": "alice"})  # no ref

    response = sts(broker, token)

    assert response.status_code == 400
    assert response.json()["errors"][0].startswith(
        "session_tags_template['ref'] rendered empty for this token"
    )
    assert aws.calls("AssumeRole") == []


def test_forbidden_characters_and_long_values_are_made_to_fit(
    aws: AWSWorld, vault: hvac.Client, broker: Broker
) -> None:
    assumed_role(aws, vault, **TEMPLATES)
    actor = "Alice Smith <alice@example.com>/" + "x" * 80
    ref = "refs/heads/feature;drop " + "y" * 300
    token = caller_token(broker, {**META, "actor": actor, "ref": ref}, display_name="ci " * 30)

    assert sts(broker, token).status_code == 200

    call = only_call(aws, "AssumeRole")
    source = call.param("SourceIdentity") or ""
    digest = hashlib.sha256(actor.encode()).hexdigest()[:16]
    assert source == ("Alice_Smith__alice@example.com__" + "x" * 80)[:47] + "-" + digest
    assert len(call.param("RoleSessionName") or "") == 64
    value = tags(call)["ref"] or ""
    assert len(value) == 256
    assert value.startswith("refs/heads/feature_drop yyy")


def test_the_caller_cannot_name_a_templated_session(
    aws: AWSWorld, vault: hvac.Client, broker: Broker
) -> None:
    assumed_role(aws, vault, **TEMPLATES)
    response = sts(broker, caller_token(broker, META), role_session_name="someone-else")
    assert response.status_code == 400
    assert "names its sessions by its session_name_template" in response.json()["errors"][0]
    assert aws.calls("AssumeRole") == []


def test_a_template_can_trust_only_an_auth_methods_metadata(
    aws: AWSWorld, vault: hvac.Client, broker: Broker
) -> None:
    """docs/session-tags.md: gate on the auth method, and `meta` a token's creator chose does
    not count."""
    gated = '{{ if eq .AuthMethod "jwt" }}{{ .Metadata.repository }}{{ end }}'
    assumed_role(aws, vault, session_tags_template={"repository": gated})

    response = sts(broker, caller_token(broker, META))

    assert response.status_code == 400
    assert "rendered empty" in response.json()["errors"][0]
    assert aws.calls("AssumeRole") == []


def test_a_policy_can_forbid_creating_tokens_with_metadata(broker: Broker) -> None:
    """docs/session-tags.md: its `denied_parameters` policy keeps a token holder from choosing
    `meta`."""
    broker.vault.sys.create_or_update_acl_policy("no-meta", doc_block("hcl"))
    holder = broker.ok("POST", "auth/token/create", json={"policies": ["no-meta"]})
    token = holder["auth"]["client_token"]

    with_meta = broker.server.request(
        "POST", "auth/token/create", token=token, json={"meta": {"repository": "org/prod"}}
    )
    without = broker.server.request("POST", "auth/token/create", token=token, json={})

    assert with_meta.status_code == 403
    assert without.status_code == 200


def test_the_documented_role_written_with_the_cli(
    aws: AWSWorld, broker: Broker, tmp_path: Path
) -> None:
    """docs/session-tags.md's example, as written there: `awsbroker write ... -` of its JSON."""
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": "*"},
                "Action": ["sts:AssumeRole", "sts:TagSession", "sts:SetSourceIdentity"],
            }
        ],
    }
    aws.iam().create_role(
        Path="/awsbroker/", RoleName="deploy", AssumeRolePolicyDocument=json.dumps(trust)
    )
    command = doc_block("shell")
    argv, _, body = command.partition(" <<'EOF'\n")
    cli = CLI(tmp_path / "home", {"AWSBROKER_ADDR": broker.server.url})
    stdin = body.rstrip().removesuffix("EOF").replace("111122223333", ACCOUNT)
    cli.ok(*argv.split()[1:], env={"AWSBROKER_TOKEN": ROOT_TOKEN}, stdin=stdin)

    response = sts(broker, caller_token(broker, META))

    assert response.status_code == 200, response.text
    call = only_call(aws, "AssumeRole")
    assert call.param("RoleArn") == f"arn:aws:iam::{ACCOUNT}:role/awsbroker/deploy"
    assert tags(call) == {
        "team": "platform",
        "repository": "org/app",
        "ref": "refs/heads/main",
        "via": "token",
    }
    assert call.param("RoleSessionName") == "token-ci-deploy"
    assert call.param("SourceIdentity") == "alice@example.com"


def test_a_login_token_names_its_auth_method_and_metadata(
    aws: AWSWorld, vault: hvac.Client, broker: Broker
) -> None:
    """A token from an AppRole login (not `auth/token/create`): the templates see the login's
    method, mount and the metadata the method recorded (the secret ID's)."""
    assumed_role(
        aws,
        vault,
        session_tags_template={"via": "{{ .AuthMethod }}:{{ .AuthMountPath }}"},
        session_name_template="{{ .DisplayName }}",
        source_identity_template="{{ .Metadata.actor }}",
    )
    vault.sys.create_or_update_acl_policy("creds", CREDS_POLICY)
    vault.sys.enable_auth_method("approle", path="ci")
    try:
        vault.auth.approle.create_or_update_approle(
            "deployer", token_policies=["creds"], mount_point="ci"
        )
        role_id = vault.auth.approle.read_role_id("deployer", mount_point="ci")["data"]["role_id"]
        secret_id = vault.auth.approle.generate_secret_id(
            "deployer", metadata={"actor": "pipeline-7"}, mount_point="ci"
        )["data"]["secret_id"]
        workload = broker.server.client()
        workload.auth.approle.login(role_id, secret_id, mount_point="ci")

        assert sts(broker, workload.token).status_code == 200

        call = only_call(aws, "AssumeRole")
        assert tags(call) == {"via": "approle:auth/ci/"}
        assert (
            call.param("RoleSessionName") == "ci"
        )  # as Vault: an AppRole login is named for its mount
        assert call.param("SourceIdentity") == "pipeline-7"
    finally:
        vault.sys.disable_auth_method("ci")
