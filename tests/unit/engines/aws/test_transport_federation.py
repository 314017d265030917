"""The federation endpoint's transport (console sign-in, issue 19): partition defaults, the
login URL, and `HttpFederation` over real loopback HTTP(S), with the proxy and CA bundle
users configure for AWS (`HTTP(S)_PROXY`, `AWS_CA_BUNDLE`)."""

from __future__ import annotations

import json
import socket
import ssl
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.integration.test_tls import self_signed
from tests.support.loopback_http import LoopbackServer, Reply, Request, answering

from awsbroker.engines.aws.transport.federation import (
    CHINA,
    COMMERCIAL,
    GOVCLOUD,
    FederationError,
    HttpFederation,
    default_destination,
    default_endpoint,
    login_url,
)

SESSION = {"sessionId": "ASIAEXAMPLE", "sessionKey": "secret", "sessionToken": "token"}


class Recorder(LoopbackServer):
    """A loopback server answering every GET with `status` and `body`; `paths` records the
    request lines' targets (absolute URLs when it is used as a proxy)."""

    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        self.status, self.body = 200, json.dumps({"SigninToken": "tok-1"})
        self.paths: list[str] = []
        super().__init__(answering(self._answer), tls=tls, name="recorder")
        self.start()

    def _answer(self, request: Request) -> Reply:
        self.paths.append(request.path)
        return Reply(self.status, self.body.encode())


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    server = Recorder()
    yield server
    server.close()


@pytest.fixture(autouse=True)
def no_proxy_from_the_machine(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "AWS_CA_BUNDLE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_PROXY", "")


def test_partition_defaults() -> None:
    assert default_endpoint("us-east-1") == COMMERCIAL == "https://signin.aws.amazon.com/federation"
    assert default_endpoint("eu-west-3") == COMMERCIAL
    assert default_endpoint("us-gov-west-1") == GOVCLOUD
    assert GOVCLOUD == "https://signin.amazonaws-us-gov.com/federation"
    assert default_endpoint("cn-north-1") == CHINA == "https://signin.amazonaws.cn/federation"
    assert default_destination(CHINA) == "https://console.amazonaws.cn/"
    assert default_destination("http://127.0.0.1:1/federation") == "https://console.aws.amazon.com/"


def test_login_url_encodes_every_parameter() -> None:
    url = login_url(COMMERCIAL, "a+b/c=", "https://sso.example.com/?x=1&y", "https://c/s3?a=b")
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)
    assert url.startswith(COMMERCIAL + "?Action=login&")
    assert query == {
        "Action": ["login"],
        "Issuer": ["https://sso.example.com/?x=1&y"],
        "Destination": ["https://c/s3?a=b"],
        "SigninToken": ["a+b/c="],
    }


def test_signin_token_sends_session_json_and_duration(recorder: Recorder) -> None:
    endpoint = f"http://127.0.0.1:{recorder.port}/federation"
    assert HttpFederation().signin_token(endpoint, SESSION, 7200) == "tok-1"
    [path] = recorder.paths
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(path).query)
    assert query["Action"] == ["getSigninToken"]
    assert json.loads(query["Session"][0]) == SESSION
    assert query["SessionDuration"] == ["7200"]
    HttpFederation().signin_token(endpoint, SESSION, None)
    assert "SessionDuration" not in recorder.paths[1]


def test_refusals_and_garbage_are_federation_errors(recorder: Recorder) -> None:
    endpoint = f"http://127.0.0.1:{recorder.port}/federation"
    recorder.status = 400
    with pytest.raises(FederationError, match="refused the session: HTTP 400"):
        HttpFederation().signin_token(endpoint, SESSION, None)
    recorder.status, recorder.body = 200, "<html>"
    with pytest.raises(FederationError, match="without a SigninToken"):
        HttpFederation().signin_token(endpoint, SESSION, None)
    with socket.socket() as unused:  # a port nobody listens on
        unused.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{unused.getsockname()[1]}/federation"
    with pytest.raises(FederationError, match="could not be reached"):
        HttpFederation().signin_token(closed, SESSION, None)


def test_the_configured_proxy_is_used(recorder: Recorder, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{recorder.port}")
    token = HttpFederation().signin_token("http://federation.invalid/federation", SESSION, None)
    assert token == "tok-1"
    assert recorder.paths[0].startswith("http://federation.invalid/federation?")


def test_aws_ca_bundle_is_trusted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    files = self_signed(tmp_path)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(files.cert, files.key)
    server = Recorder(tls=context)
    try:
        endpoint = f"https://127.0.0.1:{server.port}/federation"
        with pytest.raises(FederationError, match="could not be reached"):
            HttpFederation().signin_token(endpoint, SESSION, None)  # not trusted by default
        monkeypatch.setenv("AWS_CA_BUNDLE", str(files.cert))
        assert HttpFederation().signin_token(endpoint, SESSION, None) == "tok-1"
    finally:
        server.close()
