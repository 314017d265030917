"""The Kubernetes auth method's parts that need no server: Vault's globs, a service-account
token's unsigned claims (projected and legacy), `kubernetes_host`'s forms, and the TokenReview
call's failures (a hang times out naming the host; an answer that is not a TokenReview)."""

from __future__ import annotations

import base64
import json
import socket
from pathlib import Path

import pytest

from awsbroker.auth.kubernetes.claims import allowed, unverified_claims
from awsbroker.auth.kubernetes.local import LocalServiceAccount
from awsbroker.auth.kubernetes.review import (
    Reviewed,
    ReviewUnavailable,
    base_url,
    review,
)
from awsbroker.sdk.errors import InvalidRequest
from awsbroker.sdk.glob import glob_match


def jwt(payload: object) -> str:
    def part(value: object) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")

    return f"{part({'alg': 'RS256'})}.{part(payload)}.c2ln"


@pytest.mark.parametrize(
    ("pattern", "value", "matches"),
    [
        ("prod", "prod", True),
        ("prod", "prod-2", False),
        ("team-*", "team-a", True),
        ("team-*", "team-", True),
        ("team-*", "teams", False),
        ("*-web", "app-web", True),
        ("a*b*c", "a-x-b-y-c", True),
        ("a.b", "axb", False),  # only * is special
        ("*", "anything", True),
    ],
)
def test_globs_as_vaults(pattern: str, value: str, matches: bool) -> None:
    assert glob_match(pattern, value) is matches


def test_an_empty_name_is_never_allowed() -> None:
    assert not allowed(["*"], "")


def test_projected_token_claims() -> None:
    claims = unverified_claims(
        jwt(
            {
                "aud": "vault",
                "iss": "https://k8s",
                "kubernetes.io": {"namespace": "ns", "serviceaccount": {"name": "sa", "uid": "u"}},
            }
        )
    )
    assert claims is not None
    assert (claims.namespace, claims.name, claims.uid) == ("ns", "sa", "u")
    assert claims.audiences == ["vault"]
    assert claims.secret_name == ""


def test_legacy_token_claims() -> None:
    prefix = "kubernetes.io/serviceaccount/"
    claims = unverified_claims(
        jwt(
            {
                prefix + "namespace": "ns",
                prefix + "service-account.name": "sa",
                prefix + "service-account.uid": "u",
                prefix + "secret.name": "sa-token-abc",
            }
        )
    )
    assert claims is not None
    assert (claims.namespace, claims.name, claims.secret_name) == ("ns", "sa", "sa-token-abc")
    assert claims.audiences == []


@pytest.mark.parametrize("token", ["", "abc", "a.b", "a.!!!.c", jwt([1, 2]), "a.b.c.d"])
def test_what_is_not_a_jwt_has_no_claims(token: str) -> None:
    assert unverified_claims(token) is None


@pytest.mark.parametrize(
    ("host", "url"),
    [
        ("k8s.internal", "https://k8s.internal"),
        ("10.0.0.1:6443", "https://10.0.0.1:6443"),
        ("https://k8s:443/", "https://k8s:443"),
        ("http://127.0.0.1:8001", "http://127.0.0.1:8001"),
    ],
)
def test_kubernetes_host_forms(host: str, url: str) -> None:
    assert base_url(host) == url


@pytest.mark.parametrize(
    "host", ["", "ftp://k8s", "https://user:pw@k8s", "https://k8s?x=1", "https://k8s:99999"]
)
def test_bad_kubernetes_hosts_are_400s(host: str) -> None:
    with pytest.raises(InvalidRequest):
        base_url(host)


@pytest.mark.parametrize(
    ("username", "account"),
    [
        ("system:serviceaccount:ns:sa", ("ns", "sa")),
        ("system:serviceaccount:ns", None),
        ("system:serviceaccount:ns:sa:x", None),
        ("system:serviceaccount::sa", None),
        ("alice", None),
    ],
)
def test_only_service_accounts_are_service_accounts(
    username: str, account: tuple[str, str] | None
) -> None:
    assert Reviewed(True, username=username).service_account() == account


def test_a_review_that_hangs_times_out_naming_the_host() -> None:
    with socket.socket() as silent:  # accepts connections, never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        host = f"http://127.0.0.1:{silent.getsockname()[1]}"
        with pytest.raises(ReviewUnavailable, match=r"no answer within 0\.3s") as caught:
            review(host, "", "reviewer-secret", "login-secret", [], timeout=0.3)
    assert host in str(caught.value)
    assert "secret" not in str(caught.value)


def test_the_pods_files_are_read_each_time_and_absent_ones_are_empty(tmp_path: Path) -> None:
    pod = LocalServiceAccount(tmp_path)
    assert pod.token() == ""
    (tmp_path / "token").write_text("one\n")
    assert pod.token() == "one"
    (tmp_path / "token").write_text("two")
    assert pod.token() == "two"
    assert pod.ca_cert() == ""


def test_a_ca_that_is_not_a_certificate_is_a_review_failure_naming_the_host() -> None:
    with pytest.raises(ReviewUnavailable, match="holds no valid certificate") as caught:
        review("https://127.0.0.1:1", "-----BEGIN CERTIFICATE-----\nx\n", "r", "t", [])
    assert "https://127.0.0.1:1" in str(caught.value)
