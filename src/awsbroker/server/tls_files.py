"""The listener's certificate and key, checked before the server starts: one line naming the
file and what is wrong with it, where the TLS library would say only "PEM lib"."""

from __future__ import annotations

from typing import Protocol

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes


def problem(cert_file: str, key_file: str) -> str | None:
    """What keeps `cert_file` and `key_file` from serving TLS, or None if they can."""
    cert_pem = _read("tls_cert_file", cert_file)
    key_pem = _read("tls_key_file", key_file)
    if isinstance(cert_pem, str):
        return cert_pem
    if isinstance(key_pem, str):
        return key_pem
    try:
        cert = x509.load_pem_x509_certificates(cert_pem)[0]  # the server's own comes first
    except ValueError:
        return f"tls_cert_file {cert_file} holds no PEM certificate"
    key = _load_key(key_pem)
    if isinstance(key, str):
        return f"tls_key_file {key_file} {key}"
    if _public(cert.public_key()) != _public(key.public_key()):
        return f"tls_key_file {key_file} is not the key of the certificate in {cert_file}"
    return None


def _read(setting: str, path: str) -> bytes | str:
    """The file's bytes, or why it cannot be read."""
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as exc:
        return f"cannot read {setting} {path}: {exc.strerror or exc}"


def _load_key(pem: bytes) -> PrivateKeyTypes | str:
    try:
        return serialization.load_pem_private_key(pem, password=None)
    except TypeError:  # cryptography's word for a key that needs a password
        return "is encrypted: give the key without a passphrase"
    except (ValueError, UnsupportedAlgorithm):
        return "holds no PEM private key"


class _PublicKey(Protocol):
    def public_bytes(
        self, encoding: serialization.Encoding, format: serialization.PublicFormat
    ) -> bytes: ...


def _public(key: _PublicKey) -> bytes:
    return key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
