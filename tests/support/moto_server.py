"""An in-process moto server on a free loopback port, with reset and IAM-auth switches.

Facts about moto 5 this module relies on (checked against moto 5.2):

* `ThreadedMotoServer(ip_address, port=0)` binds an OS-picked port; `get_host_and_port()`
  tells which. Its `stop()` shuts the werkzeug server down, which closes the socket.
* `POST /moto-api/reset` wipes every backend.
* `POST /moto-api/reset-auth` sets `moto.settings.INITIAL_NO_AUTH_ACTION_COUNT` to
  `float(body)` and zeroes the request counter. The body is a bare number ("0", "3", "inf"),
  and must not be sent as a form (werkzeug would eat it and moto answers 500). With a count
  of N, the next N authorised calls go through unchecked; after that every call's SigV4
  signature is recomputed with the caller's secret key (InvalidClientTokenId for an unknown
  key, SignatureDoesNotMatch for a wrong secret) and its IAM policies are evaluated.
  `inf` (moto's default) turns auth off.
* Moto's state is per *process*, not per server: backends and the auth switch are module
  globals, so every moto server (and `mock_aws`) in this process shares them. `stop()`
  therefore turns auth back off if this server turned it on.
"""

from __future__ import annotations

import http.client
import json
from typing import Any

import boto3
import botocore.exceptions
from moto.server import ThreadedMotoServer
from tests.support.lifecycle import Service

REGION = "us-east-1"
# A trust policy any principal may assume (moto checks no trust policy; AWS would).
OPEN_TRUST = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}],
    }
)
ADMIN_USER = "awsbroker-test-admin"
ADMIN_POLICY = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
}
# Any key signs while auth is off; moto ignores it.
_ANY_KEY = ("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")


def moto_client(
    endpoint: str,
    service: str,
    access_key: str,
    secret_key: str,
    session_token: str | None = None,
) -> Any:
    """A boto3 client of `service` signing with the given key, straight to a moto endpoint."""
    return boto3.client(
        service,  # type: ignore[call-overload]
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id=access_key,
        aws_secret_access_key=secret_key,
        aws_session_token=session_token,
    )


class MotoServer(Service):
    """A moto server in a background thread of this process, on 127.0.0.1."""

    def __init__(self) -> None:
        self._server: ThreadedMotoServer | None = None
        self._address: tuple[str, int] | None = None
        self._auth_enabled = False

    @property
    def endpoint(self) -> str:
        """`http://127.0.0.1:<port>`."""
        if self._address is None:
            raise RuntimeError("MotoServer is not started")
        return "http://{}:{}".format(*self._address)

    def start(self) -> None:
        if self._server is not None:
            raise RuntimeError("MotoServer is already started")
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        server.start()
        self._server = server
        self._address = server.get_host_and_port()

    def stop(self) -> None:
        if self._server is None:
            return
        if self._auth_enabled:
            self.disable_auth()
        self._server.stop()
        self._server = None
        self._address = None

    def reset(self) -> None:
        """Wipe all moto state (every service, every account) in this process."""
        self._post("/moto-api/reset", b"")

    def enable_auth(self, initial_no_auth_action_count: int = 0) -> None:
        """Check signatures and IAM policies after the next `initial_no_auth_action_count` calls."""
        self._set_auth(str(initial_no_auth_action_count))
        self._auth_enabled = True

    def key_works(self, access_key: str, secret_key: str) -> bool:
        """Whether moto accepts the key (GetCallerIdentity: any valid key may call it)."""
        sts = moto_client(self.endpoint, "sts", access_key, secret_key)
        try:
            sts.get_caller_identity()
        except botocore.exceptions.ClientError as exc:
            if exc.response["Error"]["Code"] != "InvalidClientTokenId":
                raise
            return False
        finally:
            sts.close()
        return True

    def disable_auth(self) -> None:
        """Moto's default: any key, any signature, every action allowed."""
        self._set_auth("inf")
        self._auth_enabled = False

    def _set_auth(self, count: str) -> None:
        self._post("/moto-api/reset-auth", count.encode())

    def _post(self, path: str, body: bytes) -> None:
        if self._address is None:
            raise RuntimeError("MotoServer is not started")
        conn = http.client.HTTPConnection(*self._address, timeout=10)
        try:
            conn.request("POST", path, body, {"Content-Type": "application/json"})
            response = conn.getresponse()
            answer = response.read()
        finally:
            conn.close()
        if response.status != 200:
            raise RuntimeError(f"moto {path} answered {response.status}: {answer!r}")


def bootstrap_admin(endpoint: str, user_name: str = ADMIN_USER) -> tuple[str, str]:
    """Create an IAM user allowed everything and return its (access key id, secret key).

    Makes three IAM calls, so run it while auth is off or within an initial no-auth count
    of at least 3; switch auth on afterwards and sign with the returned key.
    """
    iam = moto_client(endpoint, "iam", _ANY_KEY[0], _ANY_KEY[1])
    try:
        iam.create_user(UserName=user_name)
        iam.put_user_policy(
            UserName=user_name,
            PolicyName="admin",
            PolicyDocument=json.dumps(ADMIN_POLICY),
        )
        key = iam.create_access_key(UserName=user_name)["AccessKey"]
    finally:
        iam.close()
    return key["AccessKeyId"], key["SecretAccessKey"]


def root_config(endpoint: str, access_key: str, secret_key: str) -> list[str]:
    """The `config/root` fields of a mount that signs with `access_key` and sends its IAM and
    STS calls to moto at `endpoint`, as `key=value` arguments of `awsbroker write`."""
    return [
        f"access_key={access_key}",
        f"secret_key={secret_key}",
        f"region={REGION}",
        f"iam_endpoint={endpoint}",
        f"sts_endpoint={endpoint}",
    ]
