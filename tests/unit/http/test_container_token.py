"""A bare `Authorization` header (no "Bearer"), as AWS SDKs' container-credentials provider
sends its token, is handed to the core as `bare_authorization`, never as the token: only the
core knows which backend serves a path, and so whether the path accepts it
(tests/unit/core/test_core.py)."""

from __future__ import annotations

import warnings
from collections.abc import Iterator

import pytest
from starlette.exceptions import StarletteDeprecationWarning

with warnings.catch_warnings():
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from starlette.testclient import TestClient

from awsbroker.http.app import build_app
from awsbroker.sdk.logical import Request, Response


@pytest.fixture
def seen() -> list[Request]:
    return []


@pytest.fixture
def client(seen: list[Request]) -> Iterator[TestClient]:
    def handle(request: Request) -> Response:
        seen.append(request)
        return Response(raw={"ok": True})

    with TestClient(build_app(handle), raise_server_exceptions=False) as c:
        yield c


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "aws/container-creds/r"),
        ("GET", "sys/mounts/container-creds/r"),
        ("GET", "aws/creds/r"),
        ("POST", "aws/container-creds/r"),
    ],
)
def test_a_bare_authorization_is_handed_over_never_taken_as_the_token(
    client: TestClient, seen: list[Request], method: str, path: str
) -> None:
    client.request(method, f"/v1/{path}", headers={"Authorization": " hvs.token "})
    assert (seen[-1].client_token, seen[-1].bare_authorization) == ("", "hvs.token")


def test_bearer_and_x_vault_token_are_the_token(client: TestClient, seen: list[Request]) -> None:
    client.get("/v1/aws/container-creds/r", headers={"Authorization": "Bearer hvs.b"})
    assert (seen[-1].client_token, seen[-1].bare_authorization) == ("hvs.b", "")
    headers = {"Authorization": "hvs.bare", "X-Vault-Token": "hvs.x"}
    client.get("/v1/aws/container-creds/r", headers=headers)
    assert seen[-1].client_token == "hvs.x"  # the core ignores the bare header then
    client.get("/v1/aws/container-creds/r")
    assert (seen[-1].client_token, seen[-1].bare_authorization) == ("", "")


def test_the_bare_header_stays_out_of_the_requests_repr(
    client: TestClient, seen: list[Request]
) -> None:
    client.get("/v1/aws/container-creds/r", headers={"Authorization": "hvs.secret"})
    assert "hvs.secret" not in repr(seen[-1])
