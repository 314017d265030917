"""The JWT auth method on two nodes of one cluster (two server processes on one PostgreSQL
table): a config and role written on node A are what node B checks at its very next login,
and a changed config or role on A takes effect on B at once, though B had cached the
provider's key set; an OIDC browser flow started on A finishes on B."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from hvac.exceptions import InvalidRequest
from tests.integration.test_auth_oidc_flow import REDIRECT, browse
from tests.integration.test_auth_oidc_flow import WEB as FLOW_WEB
from tests.support import jwt_tokens
from tests.support.cluster import Cluster, start_cluster
from tests.support.oidc_provider import OidcProvider
from tests.support.server import ServerFactory

pytestmark = pytest.mark.postgres

AUDIENCE = "https://broker.example"
SUBJECT = "repo:acme/app:ref:refs/heads/main"
WEB = {**FLOW_WEB, "redirect_uris": [REDIRECT]}


@pytest.fixture(scope="module")
def provider() -> Iterator[OidcProvider]:
    with OidcProvider(clients=(SUBJECT,), web=WEB) as p:
        yield p


@pytest.fixture
def cluster(pg_dsn: str, pg_table: str, servers: ServerFactory) -> Cluster:
    return start_cluster(servers, ("postgresql", pg_dsn, pg_table), 2)


def test_config_and_role_from_node_a_log_in_on_node_b(
    cluster: Cluster, provider: OidcProvider
) -> None:
    node_a, node_b = (node.server for node in cluster.nodes)
    a = node_a.client(cluster.token)
    a.sys.enable_auth_method("jwt")
    a.auth.jwt.configure(oidc_discovery_url=provider.issuer, bound_issuer=provider.issuer)
    a.auth.jwt.create_role(
        "deploy", "sub", [], bound_audiences=[AUDIENCE], claim_mappings={"ref": "ref"}
    )

    jwt = provider.token(AUDIENCE, claims={"ref": "refs/heads/main"})
    auth = node_b.client().auth.jwt.jwt_login("deploy", jwt, use_token=False)["auth"]
    assert auth["metadata"] == {"ref": "refs/heads/main", "role": "deploy"}
    assert node_a.client(auth["client_token"]).auth.token.lookup_self()["data"]["path"] == (
        "auth/jwt/login"
    )

    # A role change on A binds B's next login.
    a.auth.jwt.create_role("deploy", "sub", [], bound_subject="repo:acme/other:ref:x")
    with pytest.raises(InvalidRequest, match=r"invalid subject \(sub\) claim"):
        node_b.client().auth.jwt.jwt_login("deploy", jwt, use_token=False)

    # A config change on A replaces the keys B verifies with, though B cached the provider's.
    key = jwt_tokens.rsa_key()
    a.auth.jwt.configure(jwt_validation_pubkeys=[key.public_pem()])
    a.auth.jwt.create_role("deploy", "sub", [], bound_subject=SUBJECT)
    now = int(time.time())
    hand = key.sign({"sub": SUBJECT, "aud": AUDIENCE, "iat": now, "exp": now + 60})
    assert node_b.client().auth.jwt.jwt_login("deploy", hand, use_token=False)["auth"]
    with pytest.raises(InvalidRequest, match="error verifying token signature"):
        node_b.client().auth.jwt.jwt_login("deploy", jwt, use_token=False)
    assert "Traceback" not in cluster.logs()


def test_an_oidc_flow_started_on_one_node_finishes_on_the_other(
    cluster: Cluster, provider: OidcProvider
) -> None:
    node_a, node_b = (node.server for node in cluster.nodes)
    a = node_a.client(cluster.token)
    a.sys.enable_auth_method("oidc")
    a.auth.oidc.configure(
        oidc_discovery_url=provider.issuer,
        oidc_client_id=WEB["client_id"],
        oidc_client_secret=WEB["client_secret"],
    )
    a.auth.oidc.create_role("people", user_claim="sub", allowed_redirect_uris=[REDIRECT])

    url = node_a.client().auth.oidc.oidc_authorization_url_request("people", REDIRECT)
    back = browse(url["data"]["auth_url"])
    auth = node_b.client().auth.oidc.oidc_callback(back["state"], "", back["code"])["auth"]
    assert auth["metadata"] == {"role": "people"}
    with pytest.raises(InvalidRequest, match="Expired or missing OAuth state"):
        node_a.client().auth.oidc.oidc_callback(back["state"], "", back["code"])
