"""Key sets fetched from a loopback JWKS endpoint or OIDC issuer: cached, refetched on an
unknown `kid` at most once a minute (on a manual clock; fetches counted by the server), over
TLS with a configured CA, and with errors that name the URL."""

from __future__ import annotations

import datetime
import ipaddress
import socket
import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from tests.support import jwt_tokens as tokens
from tests.support.json_server import JsonServer

from awsbroker.auth.jwt.config import JwtConfig
from awsbroker.auth.jwt.jwks import FetchError, HttpFetcher, KeySetCache, KeySetSource
from awsbroker.auth.jwt.role import JwtRole
from awsbroker.auth.jwt.verify import verify_login
from awsbroker.sdk.clock import ManualClock
from awsbroker.sdk.errors import InvalidRequest, UpstreamError

START = 1_800_000_000.0
OLD = tokens.rsa_key(kid="old")
NEW = tokens.rsa_key(kid="new")
ROLE = JwtRole(name="r", role_type="jwt", user_claim="sub", bound_audiences=("broker",))


@pytest.fixture
def server() -> Iterator[JsonServer]:
    with JsonServer() as s:
        s.documents["/jwks"] = tokens.jwks(OLD)
        yield s


def claims(clock: ManualClock) -> dict[str, Any]:
    now = int(clock.now())
    return {"sub": "ci", "aud": "broker", "iat": now, "exp": now + 300}


class Mount:
    """What a JWT mount keeps between logins: its key-set cache, on a manual clock."""

    def __init__(self, config: JwtConfig) -> None:
        self.config = config
        self.clock = ManualClock(START)
        self.cache = KeySetCache(self.clock)

    def login(self, key: tokens.SigningKey) -> str:
        token = key.sign(claims(self.clock))
        keys = self.config.key_lookup(self.cache)
        return verify_login(token, self.config, ROLE, keys, self.clock.now()).alias_name


def test_keys_are_fetched_once_and_cached(server: JsonServer) -> None:
    mount = Mount(JwtConfig(jwks_url=server.url + "/jwks"))
    for _ in range(5):
        assert mount.login(OLD) == "ci"
    assert server.hits["/jwks"] == 1


def test_an_unknown_kid_refetches_at_most_once_a_minute(server: JsonServer) -> None:
    mount = Mount(JwtConfig(jwks_url=server.url + "/jwks"))
    assert mount.login(OLD) == "ci"
    rogue = tokens.rsa_key(kid="rogue")
    with pytest.raises(InvalidRequest, match="no key with key ID \\(kid\\) 'rogue'"):
        mount.login(rogue)  # within a minute of the first fetch: no refetch
    assert server.hits["/jwks"] == 1
    mount.clock.advance(60)
    for _ in range(20):  # an unauthenticated caller hammering with unknown key IDs
        with pytest.raises(InvalidRequest, match="no key with key ID \\(kid\\) 'rogue'"):
            mount.login(rogue)
        mount.clock.advance(1)
    assert server.hits["/jwks"] == 2  # the first fetch, and one refetch for "rogue"
    mount.clock.advance(40)  # 60 s after that refetch
    with pytest.raises(InvalidRequest, match="'rogue'"):
        mount.login(rogue)
    assert server.hits["/jwks"] == 3
    assert mount.login(OLD) == "ci"  # known keys keep working meanwhile
    assert server.hits["/jwks"] == 3


def test_a_rotated_key_is_picked_up_by_the_refetch(server: JsonServer) -> None:
    mount = Mount(JwtConfig(jwks_url=server.url + "/jwks"))
    assert mount.login(OLD) == "ci"
    mount.clock.advance(60)
    server.documents["/jwks"] = tokens.jwks(OLD, NEW)
    assert mount.login(NEW) == "ci"
    assert server.hits["/jwks"] == 2


def test_a_rotation_inside_the_minute_waits_for_it(server: JsonServer) -> None:
    mount = Mount(JwtConfig(jwks_url=server.url + "/jwks"))
    assert mount.login(OLD) == "ci"
    server.documents["/jwks"] = tokens.jwks(OLD, NEW)
    mount.clock.advance(30)
    with pytest.raises(InvalidRequest, match="'new'"):
        mount.login(NEW)
    mount.clock.advance(30)
    assert mount.login(NEW) == "ci"


def test_keys_an_hour_old_are_refetched_and_dropped_keys_stop_working(server: JsonServer) -> None:
    mount = Mount(JwtConfig(jwks_url=server.url + "/jwks"))
    assert mount.login(OLD) == "ci"
    server.documents["/jwks"] = tokens.jwks(NEW)  # OLD withdrawn by the issuer
    mount.clock.advance(3600)
    with pytest.raises(InvalidRequest, match="'old'"):
        mount.login(OLD)
    assert server.hits["/jwks"] == 2


def test_a_failing_endpoint_is_retried_at_most_once_a_minute(server: JsonServer) -> None:
    url = server.url + "/jwks"
    server.statuses["/jwks"] = 500
    mount = Mount(JwtConfig(jwks_url=url))
    for _ in range(10):
        with pytest.raises(UpstreamError) as caught:
            mount.login(OLD)
        mount.clock.advance(5)
    assert f"GET {url} answered 500" in str(caught.value)
    assert "next attempt in" in str(caught.value)
    assert server.hits["/jwks"] == 1
    mount.clock.advance(10)  # 60 s after the first attempt
    del server.statuses["/jwks"]
    assert mount.login(OLD) == "ci"
    assert server.hits["/jwks"] == 2


def test_keys_fetched_before_keep_working_while_a_refetch_fails(server: JsonServer) -> None:
    mount = Mount(JwtConfig(jwks_url=server.url + "/jwks"))
    assert mount.login(OLD) == "ci"
    server.statuses["/jwks"] = 503
    mount.clock.advance(3600)
    assert mount.login(OLD) == "ci"
    assert server.hits["/jwks"] == 2


def test_keys_through_an_oidc_issuers_discovery_document(server: JsonServer) -> None:
    server.documents["/.well-known/openid-configuration"] = {
        "issuer": server.url,
        "jwks_uri": server.url + "/jwks",
    }
    mount = Mount(JwtConfig(oidc_discovery_url=server.url))
    assert mount.login(OLD) == "ci"
    assert mount.login(OLD) == "ci"
    assert server.hits["/.well-known/openid-configuration"] == 1
    assert server.hits["/jwks"] == 1


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"issuer": "https://evil.example", "jwks_uri": "/x"}, "names issuer 'https://evil"),
        ({"issuer": "SELF"}, "names no jwks_uri"),
        (["not", "an", "object"], "is not a discovery document"),
    ],
)
def test_a_bad_discovery_document_is_an_upstream_error(
    server: JsonServer, document: Any, message: str
) -> None:
    if isinstance(document, dict) and document.get("issuer") == "SELF":
        document = {"issuer": server.url}
    server.documents["/.well-known/openid-configuration"] = document
    with pytest.raises(UpstreamError, match=message) as caught:
        Mount(JwtConfig(oidc_discovery_url=server.url)).login(OLD)
    assert f"{server.url}/.well-known/openid-configuration" in str(caught.value)


def test_a_changed_config_gets_a_fresh_cache(server: JsonServer) -> None:
    server.documents["/other"] = tokens.jwks(NEW)
    mount = Mount(JwtConfig(jwks_url=server.url + "/jwks"))
    assert mount.login(OLD) == "ci"
    mount.config = JwtConfig(jwks_url=server.url + "/other")
    assert mount.login(NEW) == "ci"  # no minute to wait: another source
    assert (server.hits["/jwks"], server.hits["/other"]) == (1, 1)


def _tls(directory: Path) -> tuple[ssl.SSLContext, str]:
    """A server context for 127.0.0.1 and the PEM of its (self-signed) certificate."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "jwks test")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_pem = cert.public_bytes(serialization.Encoding.PEM).decode()
    (directory / "cert.pem").write_text(cert_pem)
    (directory / "key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(directory / "cert.pem", directory / "key.pem")
    return context, cert_pem


def test_https_with_the_configured_ca_and_not_without(tmp_path: Path) -> None:
    context, ca_pem = _tls(tmp_path)
    with JsonServer(tls=context) as server:
        server.documents["/jwks"] = tokens.jwks(OLD)
        url = server.url + "/jwks"
        assert Mount(JwtConfig(jwks_url=url, jwks_ca_pem=ca_pem)).login(OLD) == "ci"
        with pytest.raises(UpstreamError, match="CERTIFICATE_VERIFY_FAILED") as caught:
            Mount(JwtConfig(jwks_url=url)).login(OLD)
        assert url in str(caught.value)


def test_a_fetch_that_hangs_times_out_naming_the_url() -> None:
    with socket.socket() as silent:  # accepts connections, never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/jwks"
        with pytest.raises(FetchError, match=f"GET {url} failed"):
            HttpFetcher(timeout=0.2).get_json(url, "")


def test_an_answer_that_is_not_json_names_the_url(server: JsonServer) -> None:
    url = server.url + "/missing"
    with pytest.raises(FetchError, match=f"GET {url} answered 404"):
        HttpFetcher().get_json(url, "")
    server.documents["/jwks"] = {"keys": []}
    with pytest.raises(UpstreamError, match="no usable signature-verification key"):
        KeySetCache(ManualClock()).remote(KeySetSource(server.url + "/jwks")).keys_for(None)


def test_a_document_over_1_mib_is_refused(server: JsonServer) -> None:
    server.documents["/big"] = {"keys": ["x" * (1 << 20)]}
    with pytest.raises(FetchError, match="the document is over 1 MiB"):
        HttpFetcher().get_json(server.url + "/big", "")


def test_errors_name_the_url_without_credentials(server: JsonServer) -> None:
    port = server.url.rsplit(":", 1)[1]
    url = f"http://user:hunter2@127.0.0.1:{port}/missing?token=s3cret#frag"
    with pytest.raises(UpstreamError) as caught:
        KeySetCache(ManualClock()).remote(KeySetSource(url)).keys_for(None)
    message = str(caught.value)
    assert f"GET http://127.0.0.1:{port}/missing answered 404" in message
    assert "hunter2" not in message
    assert "s3cret" not in message
