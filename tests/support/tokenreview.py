"""A loopback stand-in for the Kubernetes API server's TokenReview endpoint, over HTTPS with a
private CA made here, that checks every request it receives as the real one would.

    POST /apis/authentication.k8s.io/v1/tokenreviews
    Authorization: Bearer <the reviewer's token>
    {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview",
     "spec": {"token": ..., "audiences": [...]}}

`issue(namespace, name)` makes a service-account JWT (projected, or `legacy` with a secret
name) that the stand-in then authenticates; `revoke(token)` makes it unauthenticated. A request
with another bearer token gets 401, another path 404, a body that is not a TokenReview 400,
and each is recorded in `problems` (tests assert it stays empty). `requests` keeps every
TokenReview body received, `bearers` the bearer tokens.
"""

from __future__ import annotations

import datetime
import ipaddress
import json
import secrets
import ssl
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jwt as pyjwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from tests.support.lifecycle import Service
from tests.support.loopback_http import LoopbackServer, Reply, Request, answering

REVIEW_PATH = "/apis/authentication.k8s.io/v1/tokenreviews"
ISSUER = "https://kubernetes.default.svc.cluster.local"


@dataclass(frozen=True)
class Account:
    namespace: str
    name: str
    uid: str
    audiences: list[str] = field(default_factory=list)


def private_ca(directory: Path) -> tuple[ssl.SSLContext, str]:
    """A CA, and a server certificate for 127.0.0.1 it signs: the server's TLS context and the
    CA's PEM (what `kubernetes_ca_cert` is given)."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test kubernetes CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kube-apiserver")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    (directory / "apiserver.crt").write_bytes(cert.public_bytes(pem))
    (directory / "apiserver.key").write_bytes(
        key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(directory / "apiserver.crt", directory / "apiserver.key")
    return context, ca.public_bytes(pem).decode()


class TokenReviewStandIn(Service):
    def __init__(self, directory: Path, reviewer: str) -> None:
        self.reviewer = reviewer  # the bearer token it accepts
        tls, self.ca_pem = private_ca(directory)
        self._signing_key = secrets.token_bytes(32)
        self.accounts: dict[str, Account] = {}
        self.requests: list[dict[str, Any]] = []
        self.bearers: list[str] = []
        self.problems: list[str] = []
        self._lock = threading.Lock()
        self._http = LoopbackServer(answering(self._answer), tls=tls, name="tokenreview")

    @property
    def url(self) -> str:
        return self._http.url

    # ---- tokens --------------------------------------------------------------------------

    def issue(
        self,
        namespace: str,
        name: str,
        *,
        audiences: tuple[str, ...] = ("vault",),
        legacy: bool = False,
        uid: str | None = None,
    ) -> str:
        """A service account's JWT, as the cluster would mount it into a pod."""
        account = Account(namespace, name, uid or str(uuid.uuid4()), list(audiences))
        now = int(time.time())
        claims: dict[str, Any]
        if legacy:
            claims = {
                "iss": "kubernetes/serviceaccount",
                "kubernetes.io/serviceaccount/namespace": namespace,
                "kubernetes.io/serviceaccount/secret.name": f"{name}-token-x7k2p",
                "kubernetes.io/serviceaccount/service-account.name": name,
                "kubernetes.io/serviceaccount/service-account.uid": account.uid,
                "sub": f"system:serviceaccount:{namespace}:{name}",
            }
        else:
            claims = {
                "aud": list(audiences),
                "exp": now + 3600,
                "iat": now,
                "nbf": now,
                "iss": ISSUER,
                "kubernetes.io": {
                    "namespace": namespace,
                    "pod": {"name": f"{name}-5d9c7", "uid": str(uuid.uuid4())},
                    "serviceaccount": {"name": name, "uid": account.uid},
                },
                "sub": f"system:serviceaccount:{namespace}:{name}",
            }
        token = pyjwt.encode(claims, self._signing_key, algorithm="HS256")
        with self._lock:
            self.accounts[token] = account
        return token

    def revoke(self, token: str) -> None:
        with self._lock:
            self.accounts.pop(token, None)

    # ---- serving -------------------------------------------------------------------------

    def start(self) -> None:
        self._http.start()

    def stop(self) -> None:
        self._http.stop()

    def _answer(self, request: Request) -> Reply:
        status, review = self._review(request)
        return Reply(status, json.dumps(review).encode())

    def _review(self, request: Request) -> tuple[int, dict[str, Any]]:
        method, path, headers, body = request.method, request.path, request.headers, request.body
        with self._lock:
            if method != "POST" or path != REVIEW_PATH:
                self.problems.append(f"{method} {path}")
                return 404, {"kind": "Status", "status": "Failure", "code": 404}
            bearer = str(headers.get("Authorization", ""))
            self.bearers.append(bearer.removeprefix("Bearer "))
            if bearer != f"Bearer {self.reviewer}":
                self.problems.append("a bearer token other than the reviewer's")
                return 401, {"kind": "Status", "status": "Failure", "code": 401}
            try:
                doc = json.loads(body)
                spec = doc["spec"]
                token = spec["token"]
                wanted = spec.get("audiences") or []
                ok = (
                    doc.get("apiVersion") == "authentication.k8s.io/v1"
                    and doc.get("kind") == "TokenReview"
                    and isinstance(token, str)
                    and isinstance(wanted, list)
                )
            except (ValueError, KeyError, TypeError):
                ok = False
            if not ok or "json" not in str(headers.get("Content-Type", "")):
                self.problems.append("a body that is not a TokenReview")
                return 400, {"kind": "Status", "status": "Failure", "code": 400}
            self.requests.append(doc)
            return 201, _status(self.accounts.get(token), wanted)


def _status(account: Account | None, wanted: list[str]) -> dict[str, Any]:
    review: dict[str, Any] = {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview"}
    if account is None:
        review["status"] = {"authenticated": False, "error": "invalid bearer token"}
        return review
    audiences = [a for a in wanted if a in account.audiences] if wanted else account.audiences
    if wanted and not audiences:
        review["status"] = {
            "authenticated": False,
            "error": "token audiences are invalid for the target audiences",
        }
        return review
    review["status"] = {
        "authenticated": True,
        "user": {
            "username": f"system:serviceaccount:{account.namespace}:{account.name}",
            "uid": account.uid,
            "groups": [
                "system:serviceaccounts",
                f"system:serviceaccounts:{account.namespace}",
                "system:authenticated",
            ],
        },
        "audiences": audiences,
    }
    return review
