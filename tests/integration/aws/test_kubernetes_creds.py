"""A pod that logs in with its service account token (Kubernetes auth, TokenReview through a
loopback stand-in) gets AWS credentials through its policy, shaped by who it is: the
AssumeRole request that reaches moto (recorded by the proxy) carries session tags, a session
name and a SourceIdentity templated from the login's metadata. Revoking its token revokes
its IAM user. The real dev server, hvac, and moto behind the recording proxy."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import hvac
import pytest
from tests.integration.aws.support import ALLOW_ALL, AWSWorld, Broker
from tests.integration.aws.test_iam_user_creds import poll, rejected
from tests.integration.aws.test_session_tags import only_call, tags
from tests.support.tokenreview import TokenReviewStandIn

POLICY = """
path "aws/sts/deploy" { capabilities = ["read", "update"] }
path "aws/creds/u" { capabilities = ["read"] }
"""


@pytest.fixture
def cluster(tmp_path: Path, vault: hvac.Client) -> Iterator[TokenReviewStandIn]:
    """The stand-in API server, and a `kubernetes` auth mount configured to use it."""
    with TokenReviewStandIn(tmp_path, reviewer="reviewer-token") as standin:
        vault.sys.enable_auth_method("kubernetes")
        try:
            vault.auth.kubernetes.configure(
                standin.url,
                kubernetes_ca_cert=standin.ca_pem,
                token_reviewer_jwt=standin.reviewer,
            )
            vault.sys.create_or_update_policy("aws-k8s", POLICY)
            vault.auth.kubernetes.create_role(
                "deployer",
                bound_service_account_names=["deployer"],
                bound_service_account_namespaces=["team-*"],
                policies=["aws-k8s"],
                audience="vault",
            )
            yield standin
        finally:
            vault.sys.disable_auth_method("kubernetes")
    assert standin.problems == []


def pod_client(broker: Broker, cluster: TokenReviewStandIn, namespace: str) -> hvac.Client:
    workload = broker.server.client()
    workload.auth.kubernetes.login("deployer", cluster.issue(namespace, "deployer"))
    return workload


def test_a_pods_credentials_carry_its_namespace_and_service_account(
    aws: AWSWorld, vault: hvac.Client, broker: Broker, cluster: TokenReviewStandIn
) -> None:
    arn = aws.create_role("target")
    vault.write(
        "aws/roles/deploy",
        credential_type="assumed_role",
        role_arns=[arn],
        session_tags_template={
            "namespace": "{{ .Metadata.service_account_namespace }}",
            "service-account": "{{ .Metadata.service_account_name }}",
            "via": "{{ .AuthMethod }}",
        },
        session_name_template="{{ .DisplayName }}",
        source_identity_template=(
            "{{ .Metadata.service_account_name }}@{{ .Metadata.service_account_namespace }}"
        ),
    )
    workload = pod_client(broker, cluster, "team-payments")

    creds = workload.write("aws/sts/deploy")["data"]

    call = only_call(aws, "AssumeRole")
    assert tags(call) == {
        "namespace": "team-payments",
        "service-account": "deployer",
        "via": "kubernetes",
    }
    assert call.param("RoleSessionName") == "kubernetes-team-payments-deployer"
    assert call.param("SourceIdentity") == "deployer@team-payments"
    assert aws.caller_arn(creds).endswith("/target/kubernetes-team-payments-deployer")
    assert workload.token not in json.dumps(call.params)
    with pytest.raises(hvac.exceptions.Forbidden):  # only what its policy allows
        workload.sys.list_mounted_secrets_engines()


def test_revoking_a_pods_token_revokes_its_iam_user(
    aws: AWSWorld, vault: hvac.Client, broker: Broker, cluster: TokenReviewStandIn
) -> None:
    vault.write("aws/roles/u", credential_type="iam_user", policy_document=json.dumps(ALLOW_ALL))
    workload = pod_client(broker, cluster, "team-web")
    creds = workload.secrets.aws.generate_credentials("u")["data"]
    assert aws.caller_arn(creds)
    vault.auth.token.revoke(workload.token)
    assert poll(lambda: aws.users() == []), "the login token's lease was not revoked"
    assert rejected(aws, creds) == "InvalidClientTokenId"
