"""A loopback stand-in for AWS's sign-in federation endpoint (console sign-in, issue 19).

`GET /federation?Action=getSigninToken&Session=<JSON>[&SessionDuration=N]` checks the Session
JSON as AWS would: exactly the keys `sessionId`, `sessionKey` and `sessionToken`, and
credentials moto really issued. A role session's keys must authenticate at moto
(GetCallerIdentity signed with them, which also names the session); moto does not
authenticate federation tokens' keys, so those must equal what moto's GetFederationToken
hands out. `SessionDuration`, when sent, must be 900..43200 (AWS's bounds). A good request is
answered `{"SigninToken": "<random>"}`; a bad one 400, as AWS does.

`GET /federation?Action=login&Issuer=..&Destination=..&SigninToken=..` answers a small HTML
page naming the signed-in identity and the destination for a token it issued (each token
once, as AWS's are single use), 400 otherwise.

`requests` records every getSigninToken (parsed), `logins` every login; `refuse` makes the
next getSigninToken answer that status.
"""

from __future__ import annotations

import html
import json
import secrets
import threading
import urllib.parse
from dataclasses import dataclass

import botocore.exceptions
from tests.support.lifecycle import Service
from tests.support.loopback_http import LoopbackServer, Reply, Request, answering
from tests.support.moto_server import moto_client

SESSION_KEYS = {"sessionId", "sessionKey", "sessionToken"}
FEDERATION_POLICY = json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
)


@dataclass
class SigninRequest:
    session: dict[str, str]
    session_duration: int | None
    identity: str  # the caller's ARN moto names


@dataclass
class Login:
    identity: str
    issuer: str
    destination: str


class FederationStandIn(Service):
    def __init__(self, moto_endpoint: str, access_key: str, secret_key: str) -> None:
        self.moto_endpoint = moto_endpoint
        self._admin = (access_key, secret_key)
        self.requests: list[SigninRequest] = []
        self.logins: list[Login] = []
        self.refused: list[str] = []  # why each refused getSigninToken was refused
        self.refuse: int | None = None
        self._tokens: dict[str, str] = {}  # SigninToken -> identity
        self._lock = threading.Lock()
        self._http = LoopbackServer(answering(self._answer), name="federation-stand-in")

    @property
    def endpoint(self) -> str:
        return f"{self._http.url}/federation"

    def start(self) -> None:
        self._http.start()

    def stop(self) -> None:
        self._http.stop()

    @property
    def admin(self) -> tuple[str, str]:
        return self._admin

    def use_admin(self, access_key: str, secret_key: str) -> None:
        """The key the stand-in asks moto with (moto's admin of the current test)."""
        self._admin = (access_key, secret_key)

    def clear(self) -> None:
        with self._lock:
            self.requests.clear()
            self.logins.clear()
            self.refused.clear()
            self.refuse = None

    # -- the two actions ------------------------------------------------------------------

    def signin_token(self, query: dict[str, list[str]]) -> tuple[int, str]:
        with self._lock:
            refuse, self.refuse = self.refuse, None
        if refuse is not None:
            return refuse, "refused by the test"
        try:
            session = json.loads(query["Session"][0])
        except (KeyError, ValueError):
            return self._refused("no Session JSON")
        if not isinstance(session, dict) or set(session) != SESSION_KEYS:
            return self._refused(f"Session keys {sorted(session)}, not {sorted(SESSION_KEYS)}")
        duration: int | None = None
        if "SessionDuration" in query:
            duration = int(query["SessionDuration"][0])
            if not 900 <= duration <= 43200:
                return self._refused(f"SessionDuration {duration} out of 900..43200")
        identity = self._identity(session)
        if identity is None:
            return self._refused("credentials moto did not issue")
        token = secrets.token_urlsafe(32)
        with self._lock:
            self._tokens[token] = identity
            self.requests.append(SigninRequest(session, duration, identity))
        return 200, json.dumps({"SigninToken": token})

    def login(self, query: dict[str, list[str]]) -> tuple[int, str]:
        token = query.get("SigninToken", [""])[0]
        with self._lock:
            identity = self._tokens.pop(token, None)
        if identity is None:
            return 400, "unknown or used SigninToken"
        issuer = query.get("Issuer", [""])[0]
        destination = query.get("Destination", [""])[0]
        with self._lock:
            self.logins.append(Login(identity, issuer, destination))
        page = (
            "<!doctype html><title>AWS console (stand-in)</title>"
            f"<h1>Signed in as {html.escape(identity)}</h1>"
            f"<p id=destination>{html.escape(destination)}</p>"
        )
        return 200, page

    def _refused(self, why: str) -> tuple[int, str]:
        with self._lock:
            self.refused.append(why)
        return 400, why

    def _identity(self, session: dict[str, str]) -> str | None:
        key, secret, token = session["sessionId"], session["sessionKey"], session["sessionToken"]
        sts = moto_client(self.moto_endpoint, "sts", key, secret, token)
        try:
            arn: str = sts.get_caller_identity()["Arn"]
            return arn
        except botocore.exceptions.ClientError:
            pass
        finally:
            sts.close()
        admin = moto_client(self.moto_endpoint, "sts", *self._admin)
        try:  # what moto hands out for a federation token (the same keys every time)
            issued = admin.get_federation_token(Name="stand-in", Policy=FEDERATION_POLICY)
        finally:
            admin.close()
        credentials = issued["Credentials"]
        if (key, secret, token) == (
            credentials["AccessKeyId"],
            credentials["SecretAccessKey"],
            credentials["SessionToken"],
        ):
            return "federated-user"
        return None

    def _answer(self, request: Request) -> Reply:
        url = urllib.parse.urlsplit(request.path)
        query = urllib.parse.parse_qs(url.query)
        action = query.get("Action", [""])[0]
        content_type = "application/json"
        if request.method != "GET" or url.path != "/federation":
            status, body = 404, "not found"
        elif action == "getSigninToken":
            status, body = self.signin_token(query)
        elif action == "login":
            status, body = self.login(query)
            content_type = "text/html"
        else:
            status, body = 400, f"unknown Action {action!r}"
        return Reply(status, body.encode(), content_type)
