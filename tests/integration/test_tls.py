"""A config-file server with a TLS listener, reached with hvac verifying a self-signed cert."""

from __future__ import annotations

import datetime
import ipaddress
import socket
import ssl
from pathlib import Path

import hvac
import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from tests.support.server import HOST, ServerFactory, ServerProcess, TLSFiles


def self_signed(directory: Path) -> TLSFiles:
    """A P-256 key and a self-signed certificate for 127.0.0.1 and localhost."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "awsbroker test")])
    now = datetime.datetime.now(datetime.UTC)
    public = key.public_key()
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address(HOST)), x509.DNSName("localhost")]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(public), critical=False)
        .sign(key, hashes.SHA256())
    )
    files = TLSFiles(cert=directory / "server.crt", key=directory / "server.key")
    files.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    files.key.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    files.key.chmod(0o600)
    return files


@pytest.fixture(scope="module")
def tls_server(
    module_servers: ServerFactory, tmp_path_factory: pytest.TempPathFactory
) -> ServerProcess:
    return module_servers.sqlite(tls=self_signed(tmp_path_factory.mktemp("tls")))


def test_hvac_over_tls_with_the_certificate(tls_server: ServerProcess) -> None:
    assert tls_server.url.startswith("https://")
    client = tls_server.client()
    assert client.sys.read_health_status(method="GET").status_code == 501
    init = tls_server.init_and_unseal(3, 2)
    root = tls_server.client(init.root_token)
    assert root.is_authenticated() is True
    token = root.auth.token.create(ttl="1h")["auth"]["client_token"]
    assert tls_server.client(token).auth.token.lookup_self()["data"]["id"] == token
    assert root.sys.enable_secrets_engine("aws", path="tls-aws").status_code == 204
    assert "tls-aws/" in root.sys.list_mounted_secrets_engines()["data"]


def test_tls_is_required_and_verified(tls_server: ServerProcess) -> None:
    unverified = hvac.Client(url=tls_server.url, token="", verify=True)
    try:
        with pytest.raises(requests.exceptions.SSLError):
            unverified.sys.read_seal_status()
    finally:
        unverified.adapter.close()
    plain_url = f"http://{HOST}:{tls_server.port}/v1/sys/health"
    with requests.Session() as session:
        try:
            resp = session.get(plain_url, timeout=5)
        except requests.exceptions.ConnectionError:
            pass
        else:
            assert resp.status_code >= 400
            assert "initialized" not in resp.text


def test_tls_offers_http1_only(tls_server: ServerProcess) -> None:
    """Vault negotiates HTTP/2 over TLS; granian's HTTP/2 has no idle timeout, so it is off."""
    context = ssl.create_default_context(cafile=str(tls_server.ca_cert))
    context.set_alpn_protocols(["h2", "http/1.1"])
    with (
        socket.create_connection((HOST, tls_server.port), timeout=10) as raw,
        context.wrap_socket(raw, server_hostname=HOST) as sock,
    ):
        assert sock.selected_alpn_protocol() == "http/1.1"
        sock.sendall(f"GET /v1/sys/health HTTP/1.1\r\nHost: {HOST}\r\n\r\n".encode())
        assert sock.recv(100).startswith(b"HTTP/1.1 ")
