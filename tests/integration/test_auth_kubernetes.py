"""The Kubernetes auth method end to end: a real dev server over HTTP, driven by hvac's
`client.auth.kubernetes` methods, verifying service-account tokens through a loopback
stand-in for the TokenReview API (HTTPS, private CA) that checks every request it gets.

Each test enables its own mount and starts its own stand-in; the server's pod directory
(`AWSBROKER_KUBERNETES_SERVICEACCOUNT_DIR`) is the module's `pod` folder.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import hvac
import pytest
from hvac.exceptions import BadGateway, Forbidden, InvalidRequest
from openapi_spec_validator import validate
from tests.support.server import ROOT_TOKEN, ServerProcess, running
from tests.support.server import dev_server as make_dev_server
from tests.support.tokenreview import REVIEW_PATH, TokenReviewStandIn

SA_DIR_ENV = "AWSBROKER_KUBERNETES_SERVICEACCOUNT_DIR"


@pytest.fixture(scope="module")
def pod(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the server looks for its pod's own token and CA (empty: not in a pod)."""
    return tmp_path_factory.mktemp("serviceaccount")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, pod: Path) -> Iterator[ServerProcess]:
    process = make_dev_server(tmp_path_factory.mktemp("dev"))
    process.env[SA_DIR_ENV] = str(pod)
    with running(process) as started:
        yield started


@pytest.fixture
def root(server: ServerProcess) -> hvac.Client:
    return server.client(ROOT_TOKEN)


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[TokenReviewStandIn]:
    with TokenReviewStandIn(tmp_path, reviewer="reviewer-" + secrets.token_hex(16)) as standin:
        yield standin
    assert standin.problems == [], standin.problems


@pytest.fixture
def mount(root: hvac.Client, request: pytest.FixtureRequest) -> Iterator[str]:
    path = re.sub(r"[^a-z0-9]+", "-", request.node.name.lower()).strip("-")[:40]
    root.sys.enable_auth_method("kubernetes", path=path)
    try:
        yield path
    finally:
        root.sys.disable_auth_method(path)


def configure(root: hvac.Client, mount: str, cluster: TokenReviewStandIn, **more: Any) -> None:
    settings: dict[str, Any] = {
        "kubernetes_ca_cert": cluster.ca_pem,
        "token_reviewer_jwt": cluster.reviewer,
        **more,
    }
    root.auth.kubernetes.configure(cluster.url, mount_point=mount, **settings)


def role(root: hvac.Client, mount: str, **more: Any) -> None:
    fields: dict[str, Any] = {
        "bound_service_account_names": ["app-*"],
        "bound_service_account_namespaces": ["prod", "team-*"],
        "policies": ["reader"],
        "audience": "vault",
        **more,
    }
    root.auth.kubernetes.create_role("web", mount_point=mount, **fields)


def login(server: ServerProcess, mount: str, jwt: str, role_name: str = "web") -> Any:
    return server.client().auth.kubernetes.login(role_name, jwt, mount_point=mount)


def test_a_service_account_logs_in_through_the_tokenreview_api(
    server: ServerProcess, root: hvac.Client, mount: str, cluster: TokenReviewStandIn
) -> None:
    configure(root, mount, cluster)
    role(root, mount, ttl="1h", max_ttl="2h")
    jwt = cluster.issue("prod", "app-web")

    auth = login(server, mount, jwt)["auth"]

    account = cluster.accounts[jwt]
    assert auth["metadata"] == {
        "role": "web",
        "service_account_name": "app-web",
        "service_account_namespace": "prod",
        "service_account_uid": account.uid,
        "service_account_secret_name": "",
    }
    assert sorted(auth["policies"]) == ["default", "reader"]
    assert auth["lease_duration"] == 3600
    me = server.client(auth["client_token"]).auth.token.lookup_self()["data"]
    assert me["display_name"] == f"{mount}-prod-app-web"
    assert me["path"] == f"auth/{mount}/login"
    # What reached the API server: the reviewer's bearer token, the JWT, the role's audience.
    assert cluster.bearers == [cluster.reviewer]
    assert cluster.requests == [
        {
            "apiVersion": "authentication.k8s.io/v1",
            "kind": "TokenReview",
            "spec": {"token": jwt, "audiences": ["vault"]},
        }
    ]


def test_config_is_read_back_without_the_reviewer_token(
    root: hvac.Client, mount: str, cluster: TokenReviewStandIn
) -> None:
    configure(root, mount, cluster, issuer="https://kubernetes.default.svc")
    data = root.auth.kubernetes.read_config(mount_point=mount)
    assert "token_reviewer_jwt" not in data
    assert cluster.reviewer not in repr(data)
    assert data["token_reviewer_jwt_set"] is True
    assert data["kubernetes_host"] == cluster.url
    assert data["kubernetes_ca_cert"] == cluster.ca_pem
    assert data["disable_local_ca_jwt"] is False
    assert data["disable_iss_validation"] is True  # Vault's default since issuer is deprecated
    assert data["issuer"] == "https://kubernetes.default.svc"


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"kubernetes_host": ""}, "no host provided"),
        ({"kubernetes_host": "ftp://k8s"}, "is not a host, host:port or URL"),
        ({"kubernetes_host": "https://k8s", "kubernetes_ca_cert": "nope"}, "no valid PEM"),
        ({"kubernetes_host": "https://k8s", "pem_keys": ["x"]}, "pem_keys is not supported"),
    ],
)
def test_a_bad_config_is_a_400_naming_the_field(
    root: hvac.Client, mount: str, fields: dict[str, Any], message: str
) -> None:
    with pytest.raises(InvalidRequest, match=message):
        root.write(f"auth/{mount}/config", **fields)


def test_roles_are_created_read_listed_and_deleted(root: hvac.Client, mount: str) -> None:
    kube = root.auth.kubernetes
    role(root, mount, token_type="service", alias_name_source="serviceaccount_name")
    root.write(f"auth/{mount}/role/other", bound_service_account_names="*",
               bound_service_account_namespaces="*", token_ttl="10m")  # fmt: skip
    data = kube.read_role("web", mount_point=mount)
    assert data["bound_service_account_names"] == ["app-*"]
    assert data["bound_service_account_namespaces"] == ["prod", "team-*"]
    assert data["audience"] == "vault"
    assert data["alias_name_source"] == "serviceaccount_name"
    assert data["token_policies"] == ["reader"]
    assert data["token_type"] == "service"
    assert kube.read_role("other", mount_point=mount)["token_ttl"] == 600
    assert sorted(kube.list_roles(mount_point=mount)["keys"]) == ["other", "web"]
    kube.delete_role("other", mount_point=mount)
    assert kube.list_roles(mount_point=mount)["keys"] == ["web"]
    spec = root.adapter.get("/v1/sys/internal/specs/openapi")
    validate(spec)
    for path in ("login", "config", "role/{name}"):
        assert f"/auth/{mount}/{path}" in spec["paths"], sorted(spec["paths"])


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"bound_service_account_names": []}, '"bound_service_account_names" can not be empty'),
        ({"bound_service_account_namespaces": []}, 'namespaces" can not be empty'),
        ({"bound_service_account_names": ["*", "a"]}, 'can not mix "\\*" with values'),
        ({"alias_name_source": "pod"}, "invalid alias_name_source"),
        ({"token_type": "batch"}, "batch tokens are not supported"),
    ],
)
def test_a_bad_role_is_a_400_naming_the_field(
    root: hvac.Client, mount: str, fields: dict[str, Any], message: str
) -> None:
    body = {"bound_service_account_names": ["a"], "bound_service_account_namespaces": ["b"]}
    with pytest.raises(InvalidRequest, match=message):
        root.write(f"auth/{mount}/role/bad", **{**body, **fields})


@pytest.mark.parametrize(
    ("namespace", "name", "audiences", "message"),
    [
        ("dev", "app-web", ("vault",), "namespace not authorized"),
        ("prod", "db", ("vault",), "service account name not authorized"),
        ("prod", "app-web", ("other",), "invalid audience"),
    ],
)
def test_a_service_account_the_role_does_not_bind_is_refused_with_a_403(
    *,
    server: ServerProcess,
    root: hvac.Client,
    mount: str,
    cluster: TokenReviewStandIn,
    namespace: str,
    name: str,
    audiences: tuple[str, ...],
    message: str,
) -> None:
    configure(root, mount, cluster)
    role(root, mount)
    jwt = cluster.issue(namespace, name, audiences=audiences)
    with pytest.raises(Forbidden, match=message):
        login(server, mount, jwt)


def test_namespace_globs_match_as_vaults(
    server: ServerProcess, root: hvac.Client, mount: str, cluster: TokenReviewStandIn
) -> None:
    configure(root, mount, cluster)
    role(root, mount)
    assert login(server, mount, cluster.issue("team-a", "app-1"))["auth"]["client_token"]
    with pytest.raises(Forbidden, match="namespace not authorized"):
        login(server, mount, cluster.issue("teams", "app-1"))


def test_a_token_the_api_server_does_not_authenticate_is_a_403(
    server: ServerProcess, root: hvac.Client, mount: str, cluster: TokenReviewStandIn
) -> None:
    configure(root, mount, cluster)
    role(root, mount)
    jwt = cluster.issue("prod", "app-web")
    cluster.revoke(jwt)  # deleted service account, or a forged token
    with pytest.raises(Forbidden, match="permission denied"):
        login(server, mount, jwt)
    assert cluster.requests[-1]["spec"]["token"] == jwt
    with pytest.raises(Forbidden, match="permission denied"):
        login(server, mount, "not-a-jwt")


def test_missing_fields_and_unknown_roles_are_400s(
    server: ServerProcess, root: hvac.Client, mount: str, cluster: TokenReviewStandIn
) -> None:
    configure(root, mount, cluster)
    role(root, mount)
    anonymous = server.client()
    with pytest.raises(InvalidRequest, match="missing role"):
        anonymous.write(f"auth/{mount}/login", jwt="x")
    with pytest.raises(InvalidRequest, match="missing jwt"):
        anonymous.write(f"auth/{mount}/login", role="web")
    with pytest.raises(InvalidRequest, match="invalid role name 'nope'"):
        login(server, mount, cluster.issue("prod", "app-web"), role_name="nope")
    assert cluster.requests == []


def test_an_unreachable_api_server_is_a_502_naming_it_and_no_token_is_logged(
    server: ServerProcess, root: hvac.Client, mount: str, cluster: TokenReviewStandIn
) -> None:
    configure(root, mount, cluster)
    role(root, mount)
    jwt = cluster.issue("prod", "app-web")
    cluster.stop()
    with pytest.raises(BadGateway, match=re.escape(cluster_url := _url(root, mount))):
        login(server, mount, jwt)
    cluster.start()  # on another port: the config still names the old one
    configure(root, mount, cluster, kubernetes_ca_cert=None)  # the system's CAs: not ours
    with pytest.raises(BadGateway, match="CERTIFICATE_VERIFY_FAILED"):
        login(server, mount, jwt)
    configure(root, mount, cluster, token_reviewer_jwt="not-the-reviewer")
    with pytest.raises(BadGateway, match="refused the reviewer's token"):
        login(server, mount, jwt)
    cluster.problems.clear()  # that 401 was the point
    log = server.log()
    assert cluster_url in log
    for secret in (jwt, cluster.reviewer, "not-the-reviewer"):
        assert secret not in log


def _url(root: hvac.Client, mount: str) -> str:
    return str(root.auth.kubernetes.read_config(mount_point=mount)["kubernetes_host"])


def test_without_a_reviewer_token_the_pods_own_token_is_read_at_each_review(
    server: ServerProcess,
    root: hvac.Client,
    mount: str,
    cluster: TokenReviewStandIn,
    pod: Path,
) -> None:
    (pod / "token").write_text(cluster.reviewer + "\n")
    (pod / "ca.crt").write_text(cluster.ca_pem)  # kubernetes_ca_cert unset: the pod's CA
    try:
        root.auth.kubernetes.configure(cluster.url, mount_point=mount)
        role(root, mount)
        assert login(server, mount, cluster.issue("prod", "app-web"))["auth"]["client_token"]
        # The kubelet rotates the pod's token: the next review uses the new one.
        cluster.reviewer = "rotated-" + secrets.token_hex(16)
        (pod / "token").write_text(cluster.reviewer)
        assert login(server, mount, cluster.issue("prod", "app-web"))["auth"]["client_token"]
        assert cluster.bearers[-1] == cluster.reviewer
    finally:
        (pod / "token").unlink()
        (pod / "ca.crt").unlink()


def test_with_no_reviewer_and_no_pod_token_the_login_jwt_reviews_itself(
    server: ServerProcess, root: hvac.Client, mount: str, cluster: TokenReviewStandIn
) -> None:
    root.auth.kubernetes.configure(
        cluster.url, kubernetes_ca_cert=cluster.ca_pem, disable_local_ca_jwt=True, mount_point=mount
    )
    role(root, mount)
    jwt = cluster.issue("prod", "app-web")
    cluster.reviewer = jwt  # a cluster where service accounts may create TokenReviews
    assert login(server, mount, jwt)["auth"]["client_token"]
    assert cluster.bearers == [jwt]
    other = cluster.issue("prod", "app-api")
    with pytest.raises(Forbidden, match="permission denied"):  # 401 to its own bearer token
        login(server, mount, other)
    cluster.problems.clear()


def test_a_legacy_secret_token_reports_its_secret_name(
    server: ServerProcess, root: hvac.Client, mount: str, cluster: TokenReviewStandIn
) -> None:
    configure(root, mount, cluster)
    role(root, mount, audience="")
    jwt = cluster.issue("prod", "app-web", legacy=True)
    metadata = login(server, mount, jwt)["auth"]["metadata"]
    assert metadata["service_account_secret_name"] == "app-web-token-x7k2p"
    assert "audiences" not in cluster.requests[-1]["spec"]  # none asked: the token's own
    assert cluster.requests[-1]["spec"]["token"] == jwt
    assert REVIEW_PATH.endswith("/tokenreviews")


def test_renewal_stops_when_the_role_is_gone(
    server: ServerProcess, root: hvac.Client, mount: str, cluster: TokenReviewStandIn
) -> None:
    configure(root, mount, cluster)
    role(root, mount, period="1h")
    token = login(server, mount, cluster.issue("prod", "app-web"))["auth"]["client_token"]
    workload = server.client(token)
    assert workload.auth.token.renew_self()["auth"]["lease_duration"] == 3600
    root.auth.kubernetes.delete_role("web", mount_point=mount)
    with pytest.raises(InvalidRequest, match="role no longer exists"):
        workload.auth.token.renew_self()


def test_a_login_before_the_config_says_what_to_write(
    server: ServerProcess, root: hvac.Client, mount: str, cluster: TokenReviewStandIn
) -> None:
    role(root, mount)
    with pytest.raises(InvalidRequest, match=f"write auth/{mount}/config first"):
        login(server, mount, cluster.issue("prod", "app-web"))


def test_with_issuer_validation_enabled_another_issuer_is_refused(
    server: ServerProcess, root: hvac.Client, mount: str, cluster: TokenReviewStandIn
) -> None:
    root.write(f"auth/{mount}/config", kubernetes_host=cluster.url,
               kubernetes_ca_cert=cluster.ca_pem, token_reviewer_jwt=cluster.reviewer,
               issuer="https://elsewhere.example", disable_iss_validation=False)  # fmt: skip
    role(root, mount)
    with pytest.raises(Forbidden, match="invalid issuer"):
        login(server, mount, cluster.issue("prod", "app-web"))
    assert cluster.requests == []


def test_renewal_takes_the_roles_ttls_as_they_are_now(
    server: ServerProcess, root: hvac.Client, mount: str, cluster: TokenReviewStandIn
) -> None:
    configure(root, mount, cluster)
    role(root, mount, period="1h")
    token = login(server, mount, cluster.issue("prod", "app-web"))["auth"]["client_token"]
    workload = server.client(token)
    assert workload.auth.token.renew_self(increment="3h")["auth"]["lease_duration"] == 3600

    role(root, mount, period=0, max_ttl="30m")
    renewed = workload.auth.token.renew_self(increment="3h")["auth"]
    assert 1790 <= renewed["lease_duration"] <= 1800  # no longer periodic: the role's new max

    root.sys.tune_auth_method(mount, max_lease_ttl="10m")
    assert 590 <= workload.auth.token.renew_self()["auth"]["lease_duration"] <= 600
