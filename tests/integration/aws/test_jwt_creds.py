"""The issue's required proof: a workload logs in with a JWT its OpenID provider signed (the
real `oidc-provider` on loopback, standing in for GitHub Actions), and the AssumeRole request
its token's credentials cost (recorded by the proxy in front of moto) carries session tags,
session name and SourceIdentity templated from the claims the JWT role mapped into the
token's metadata: no static token anywhere."""

from __future__ import annotations

from collections.abc import Iterator

import hvac
import pytest
from tests.integration.aws.support import AWSWorld, Broker
from tests.integration.aws.test_session_tags import CREDS_POLICY, only_call, sts, tags
from tests.support.oidc_provider import OidcProvider

AUDIENCE = "https://broker.example"
SUBJECT = "repo:acme/app:ref:refs/heads/main"
CLAIMS = {
    "repository": "acme/app",
    "ref": "refs/heads/main",
    "actor": "octocat",
    "workflow": "deploy.yml",
}


@pytest.fixture(scope="module")
def provider() -> Iterator[OidcProvider]:
    with OidcProvider(clients=(SUBJECT,)) as p:
        yield p


@pytest.fixture
def github(vault: hvac.Client, provider: OidcProvider) -> Iterator[str]:
    """A `jwt` mount trusting the provider, with GitHub's usual role."""
    vault.sys.create_or_update_acl_policy("creds", CREDS_POLICY)
    vault.sys.enable_auth_method("jwt", path="github")
    try:
        vault.auth.jwt.configure(
            oidc_discovery_url=provider.issuer, bound_issuer=provider.issuer, path="github"
        )
        vault.auth.jwt.create_role(
            "deploy",
            "sub",
            [],
            bound_audiences=[AUDIENCE],
            bound_claims_type="glob",
            bound_claims={"sub": "repo:acme/*:ref:refs/heads/main"},
            claim_mappings={"repository": "repository", "ref": "ref", "actor": "actor"},
            token_policies=["creds"],
            token_ttl="15m",
            path="github",
        )
        yield "github"
    finally:
        vault.sys.disable_auth_method("github")


def test_a_jwt_login_token_gets_credentials_tagged_by_its_claims(
    aws: AWSWorld, vault: hvac.Client, broker: Broker, provider: OidcProvider, github: str
) -> None:
    arn = aws.create_role("target")
    vault.write(
        "aws/roles/deploy",
        credential_type="assumed_role",
        role_arns=[arn],
        session_tags_template={
            "repository": "{{ .Metadata.repository }}",
            "ref": "{{ .Metadata.ref }}",
            "via": "{{ .AuthMethod }}:{{ .AuthMountPath }}",
        },
        session_name_template="gha-{{ .Metadata.actor }}",
        source_identity_template="{{ .Metadata.actor }}@{{ .Metadata.repository }}",
    )
    workload = broker.server.client()
    jwt = provider.token(AUDIENCE, claims=CLAIMS)
    workload.auth.jwt.jwt_login("deploy", jwt, path=github)  # hvac keeps the token

    response = sts(broker, workload.token)

    assert response.status_code == 200, response.text
    call = only_call(aws, "AssumeRole")
    assert tags(call) == {
        "repository": "acme/app",
        "ref": "refs/heads/main",
        "via": "jwt:auth/github/",
    }
    assert call.param("RoleSessionName") == "gha-octocat"
    # '/' is outside SourceIdentity's character set: sanitised (docs/session-tags.md).
    assert call.param("SourceIdentity") == "octocat@acme_app"
    assert jwt not in str(call.params)
    assert workload.token not in str(call.params)
    creds = response.json()["data"]
    assert aws.caller_arn(creds).endswith("/target/gha-octocat")


def test_the_display_name_is_the_user_claim(
    aws: AWSWorld, vault: hvac.Client, broker: Broker, provider: OidcProvider, github: str
) -> None:
    arn = aws.create_role("target")
    vault.write(
        "aws/roles/deploy",
        credential_type="assumed_role",
        role_arns=[arn],
        session_tags_template={"who": "{{ .DisplayName }}"},
    )
    workload = broker.server.client()
    workload.auth.jwt.jwt_login("deploy", provider.token(AUDIENCE, claims=CLAIMS), path=github)

    assert sts(broker, workload.token).status_code == 200

    assert tags(only_call(aws, "AssumeRole")) == {"who": f"github-{SUBJECT}"}
