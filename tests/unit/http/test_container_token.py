"""The one place a bare `Authorization` header is a token: a GET of
`<mount>/container-creds/<role>`, as AWS SDKs' container-credentials provider sends it."""

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


@pytest.mark.parametrize("path", ["aws/container-creds/r", "team/aws/container-creds/r.x"])
def test_a_bare_authorization_is_the_token_for_container_creds(
    client: TestClient, seen: list[Request], path: str
) -> None:
    client.get(f"/v1/{path}", headers={"Authorization": "hvs.token"})
    assert seen[-1].client_token == "hvs.token"


def test_bearer_and_x_vault_token_still_win(client: TestClient, seen: list[Request]) -> None:
    client.get("/v1/aws/container-creds/r", headers={"Authorization": "Bearer hvs.b"})
    assert seen[-1].client_token == "hvs.b"
    headers = {"Authorization": "hvs.bare", "X-Vault-Token": "hvs.x"}
    client.get("/v1/aws/container-creds/r", headers=headers)
    assert seen[-1].client_token == "hvs.x"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "aws/creds/r"),
        ("GET", "container-creds/r"),
        ("GET", "aws/container-creds/r/extra"),
        ("POST", "aws/container-creds/r"),
        ("GET", "sys/mounts"),
    ],
)
def test_nowhere_else(client: TestClient, seen: list[Request], method: str, path: str) -> None:
    client.request(method, f"/v1/{path}", headers={"Authorization": "hvs.token"})
    assert seen[-1].client_token == ""
