"""A fake AWS IAM and STS endpoint for load: answers after a fixed latency, for almost no CPU.

Benchmarks point awsbroker (and a direct boto3 baseline) at it, so that what they measure is
awsbroker's own cost and not an emulator's: moto spends about 10 ms of CPU per call, this
spends a few tens of microseconds. It speaks the AWS Query protocol over HTTP/1.1 with
keep-alive, on 127.0.0.1 only:

* a request is `Action=...&Version=...&...` (form body or query string); signatures are not
  checked, and the service is told by the action's name, so one endpoint serves IAM and STS;
* each answer is the XML botocore expects (`<CreateUserResponse><CreateUserResult>...`, the
  shapes of botocore's `data/iam` and `data/sts` models) or a Query error document
  (`NoSuchEntity` 404, `EntityAlreadyExists`/`DeleteConflict`/`LimitExceeded` 409,
  `InvalidAction` 400), sent after `latency` seconds (`asyncio.sleep`, default 50 ms);
* state is only what consistent answers need: users, with their access keys, inline and
  attached policies and groups. Groups exist when named and have no policies; nobody has a
  login profile, MFA device, signing certificate, SSH key or service-specific credential.
  `GetUser` without a name and `GetCallerIdentity` answer for the owner of the signing key
  when it is a key made here, else for the user `fake-admin`.

In tests: `with FakeAWS(latency=0) as aws: boto3.client("iam", endpoint_url=aws.endpoint)`;
the server runs in a background thread and `calls` counts the requests answered. Benchmarks
run it in a process of its own (`python -m tests.support.fake_aws --latency 0.05`, which
prints the endpoint), so that it does not share their interpreter lock; there,
`GET /fake-aws/calls` answers the counts as JSON and `POST /fake-aws/reset` forgets all state.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import secrets
import signal
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import parse_qsl
from xml.sax.saxutils import escape

from tests.support.lifecycle import Service

ACCOUNT = "123456789012"
ADMIN_USER = "fake-admin"
IAM_XMLNS = "https://iam.amazonaws.com/doc/2010-05-08/"
STS_XMLNS = "https://sts.amazonaws.com/doc/2011-06-15/"
STS_ACTIONS = frozenset(
    {"AssumeRole", "GetFederationToken", "GetSessionToken", "GetCallerIdentity"}
)
KEY_LIMIT = 2
MAX_HEADER = 64 * 1024
_REASONS = {200: "OK", 400: "Bad Request", 404: "Not Found", 409: "Conflict", 500: "Error"}


class AWSError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def _no_such_user(name: str) -> AWSError:
    return AWSError(404, "NoSuchEntity", f"The user with name {name} cannot be found.")


def _iso(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


def _tag(name: str, value: object) -> str:
    return f"<{name}>{escape(str(value))}</{name}>"


def _members(name: str, items: list[str]) -> str:
    return f"<{name}>" + "".join(f"<member>{item}</member>" for item in items) + f"</{name}>"


def _key_id(prefix: str) -> str:
    return prefix + secrets.token_hex(8).upper()


@dataclass
class _User:
    name: str
    path: str
    user_id: str
    created: float
    boundary: str = ""
    tags: list[tuple[str, str]] = field(default_factory=list)
    keys: dict[str, float] = field(default_factory=dict)  # access key ID -> creation time
    inline: dict[str, str] = field(default_factory=dict)  # policy name -> document
    attached: list[str] = field(default_factory=list)  # policy ARNs
    groups: list[str] = field(default_factory=list)

    @property
    def arn(self) -> str:
        return f"arn:aws:iam::{ACCOUNT}:user{self.path}{self.name}"

    def xml(self) -> str:
        body = (
            _tag("Path", self.path) + _tag("UserName", self.name) + _tag("UserId", self.user_id)
            + _tag("Arn", self.arn) + _tag("CreateDate", _iso(self.created))
        )  # fmt: skip
        if self.boundary:
            body += (
                "<PermissionsBoundary><PermissionsBoundaryType>Policy</PermissionsBoundaryType>"
                + _tag("PermissionsBoundaryArn", self.boundary)
                + "</PermissionsBoundary>"
            )
        if self.tags:
            body += _members("Tags", [_tag("Key", k) + _tag("Value", v) for k, v in self.tags])
        return f"<User>{body}</User>"


Params = dict[str, str]


class FakeState:
    """The IAM users and keys the fake has made, and the answers to every action."""

    def __init__(self) -> None:
        self.users: dict[str, _User] = {}
        self.key_owner: dict[str, str] = {}  # access key ID -> user name
        self._actions: dict[str, Callable[[Params, str], str]] = {
            name[len("do_") :]: getattr(self, name) for name in dir(self) if name.startswith("do_")
        }

    def answer(self, action: str, params: Params, caller_key: str) -> str:
        """The `<Result>` body of `action` (the wrapper is the caller's), or AWSError."""
        handler = self._actions.get(action)
        if handler is None:
            raise AWSError(400, "InvalidAction", f"Could not find operation {action}")
        return handler(params, caller_key)

    def _user(self, params: Params) -> _User:
        name = _required(params, "UserName")
        user = self.users.get(name)
        if user is None:
            raise _no_such_user(name)
        return user

    # ---- IAM: users and what hangs on them ---------------------------------------------------

    def do_CreateUser(self, p: Params, caller: str) -> str:
        name = _required(p, "UserName")
        if name in self.users:
            raise AWSError(409, "EntityAlreadyExists", f"User with name {name} already exists.")
        tags = [
            (p[f"Tags.member.{i}.Key"], p.get(f"Tags.member.{i}.Value", ""))
            for i in range(1, 51)
            if f"Tags.member.{i}.Key" in p
        ]
        user = _User(
            name=name,
            path=p.get("Path", "/"),
            user_id=_key_id("AIDA"),
            created=time.time(),
            boundary=p.get("PermissionsBoundary", ""),
            tags=tags,
        )
        self.users[name] = user
        return user.xml()

    def do_GetUser(self, p: Params, caller: str) -> str:
        if "UserName" in p:
            return self._user(p).xml()
        owner = self.key_owner.get(caller)
        if owner is not None and owner in self.users:
            return self.users[owner].xml()
        return _User(ADMIN_USER, "/", "AIDAFAKEADMIN0000000", 0.0).xml()

    def do_DeleteUser(self, p: Params, caller: str) -> str:
        user = self._user(p)
        if user.keys or user.inline or user.attached or user.groups:
            raise AWSError(
                409, "DeleteConflict", "Cannot delete entity, must remove attachments first."
            )
        del self.users[user.name]
        return ""

    def do_PutUserPolicy(self, p: Params, caller: str) -> str:
        user = self._user(p)
        user.inline[_required(p, "PolicyName")] = _required(p, "PolicyDocument")
        return ""

    def do_DeleteUserPolicy(self, p: Params, caller: str) -> str:
        user, name = self._user(p), _required(p, "PolicyName")
        if user.inline.pop(name, None) is None:
            raise AWSError(
                404, "NoSuchEntity", f"The user policy with name {name} cannot be found."
            )
        return ""

    def do_ListUserPolicies(self, p: Params, caller: str) -> str:
        names = [escape(n) for n in self._user(p).inline]
        return _members("PolicyNames", names) + "<IsTruncated>false</IsTruncated>"

    def do_AttachUserPolicy(self, p: Params, caller: str) -> str:
        user, arn = self._user(p), _required(p, "PolicyArn")
        if arn not in user.attached:
            user.attached.append(arn)
        return ""

    def do_DetachUserPolicy(self, p: Params, caller: str) -> str:
        user, arn = self._user(p), _required(p, "PolicyArn")
        if arn not in user.attached:
            raise AWSError(404, "NoSuchEntity", f"Policy {arn} was not found.")
        user.attached.remove(arn)
        return ""

    def do_ListAttachedUserPolicies(self, p: Params, caller: str) -> str:
        items = [
            _tag("PolicyName", arn.rsplit("/", 1)[-1]) + _tag("PolicyArn", arn)
            for arn in self._user(p).attached
        ]
        return _members("AttachedPolicies", items) + "<IsTruncated>false</IsTruncated>"

    def do_AddUserToGroup(self, p: Params, caller: str) -> str:
        user, group = self._user(p), _required(p, "GroupName")
        if group not in user.groups:
            user.groups.append(group)
        return ""

    def do_RemoveUserFromGroup(self, p: Params, caller: str) -> str:
        user, group = self._user(p), _required(p, "GroupName")
        if group not in user.groups:
            raise AWSError(404, "NoSuchEntity", f"User {user.name} is not in group {group}.")
        user.groups.remove(group)
        return ""

    def do_ListGroupsForUser(self, p: Params, caller: str) -> str:
        items = [
            _tag("Path", "/") + _tag("GroupName", g) + _tag("GroupId", "AGPA" + g.upper()[:16])
            + _tag("Arn", f"arn:aws:iam::{ACCOUNT}:group/{g}") + _tag("CreateDate", _iso(0))
            for g in self._user(p).groups
        ]  # fmt: skip
        return _members("Groups", items) + "<IsTruncated>false</IsTruncated>"

    # ---- IAM: access keys --------------------------------------------------------------------

    def do_CreateAccessKey(self, p: Params, caller: str) -> str:
        user = self._user(p)
        if len(user.keys) >= KEY_LIMIT:
            raise AWSError(
                409, "LimitExceeded", f"Cannot exceed quota for AccessKeysPerUser: {KEY_LIMIT}"
            )
        key_id, now = _key_id("AKIA"), time.time()
        user.keys[key_id] = now
        self.key_owner[key_id] = user.name
        return (
            "<AccessKey>" + _tag("UserName", user.name) + _tag("AccessKeyId", key_id)
            + "<Status>Active</Status>" + _tag("SecretAccessKey", secrets.token_urlsafe(30))
            + _tag("CreateDate", _iso(now)) + "</AccessKey>"
        )  # fmt: skip

    def do_DeleteAccessKey(self, p: Params, caller: str) -> str:
        user, key_id = self._user(p), _required(p, "AccessKeyId")
        if user.keys.pop(key_id, None) is None:
            raise AWSError(404, "NoSuchEntity", f"The Access Key with id {key_id} cannot be found")
        self.key_owner.pop(key_id, None)
        return ""

    def do_ListAccessKeys(self, p: Params, caller: str) -> str:
        user = self._user(p)
        items = [
            _tag("UserName", user.name) + _tag("AccessKeyId", key_id) + "<Status>Active</Status>"
            + _tag("CreateDate", _iso(created))
            for key_id, created in user.keys.items()
        ]  # fmt: skip
        return _members("AccessKeyMetadata", items) + "<IsTruncated>false</IsTruncated>"

    # ---- IAM: what nobody has here -----------------------------------------------------------

    def do_GetLoginProfile(self, p: Params, caller: str) -> str:
        user = self._user(p)
        raise AWSError(404, "NoSuchEntity", f"Login Profile for User {user.name} cannot be found.")

    do_DeleteLoginProfile = do_GetLoginProfile

    def do_ListMFADevices(self, p: Params, caller: str) -> str:
        self._user(p)
        return "<MFADevices/><IsTruncated>false</IsTruncated>"

    def do_ListSigningCertificates(self, p: Params, caller: str) -> str:
        self._user(p)
        return "<Certificates/><IsTruncated>false</IsTruncated>"

    def do_ListSSHPublicKeys(self, p: Params, caller: str) -> str:
        self._user(p)
        return "<SSHPublicKeys/><IsTruncated>false</IsTruncated>"

    def do_ListServiceSpecificCredentials(self, p: Params, caller: str) -> str:
        self._user(p)
        return "<ServiceSpecificCredentials/><IsTruncated>false</IsTruncated>"

    # ---- IAM: groups (any name exists, without policies) --------------------------------------

    def do_ListAttachedGroupPolicies(self, p: Params, caller: str) -> str:
        _required(p, "GroupName")
        return "<AttachedPolicies/><IsTruncated>false</IsTruncated>"

    def do_ListGroupPolicies(self, p: Params, caller: str) -> str:
        _required(p, "GroupName")
        return "<PolicyNames/><IsTruncated>false</IsTruncated>"

    def do_GetGroupPolicy(self, p: Params, caller: str) -> str:
        group, name = _required(p, "GroupName"), _required(p, "PolicyName")
        raise AWSError(
            404, "NoSuchEntity", f"The group policy with name {name} cannot be found in {group}."
        )

    # ---- STS ---------------------------------------------------------------------------------

    def do_AssumeRole(self, p: Params, caller: str) -> str:
        arn, session = _required(p, "RoleArn"), _required(p, "RoleSessionName")
        role = arn.rsplit("/", 1)[-1]
        return _credentials(p) + (
            "<AssumedRoleUser>" + _tag("AssumedRoleId", f"AROAFAKEROLE00000000:{session}")
            + _tag("Arn", f"arn:aws:sts::{ACCOUNT}:assumed-role/{role}/{session}")
            + "</AssumedRoleUser>"
        )  # fmt: skip

    def do_GetFederationToken(self, p: Params, caller: str) -> str:
        name = _required(p, "Name")
        return _credentials(p) + (
            "<FederatedUser>" + _tag("FederatedUserId", f"{ACCOUNT}:{name}")
            + _tag("Arn", f"arn:aws:sts::{ACCOUNT}:federated-user/{name}")
            + "</FederatedUser>"
        )  # fmt: skip

    def do_GetSessionToken(self, p: Params, caller: str) -> str:
        return _credentials(p)

    def do_GetCallerIdentity(self, p: Params, caller: str) -> str:
        owner = self.key_owner.get(caller)
        user = self.users.get(owner) if owner is not None else None
        arn = user.arn if user is not None else f"arn:aws:iam::{ACCOUNT}:user/{ADMIN_USER}"
        user_id = user.user_id if user is not None else "AIDAFAKEADMIN0000000"
        return _tag("UserId", user_id) + _tag("Account", ACCOUNT) + _tag("Arn", arn)


def _required(params: Params, name: str) -> str:
    value = params.get(name)
    if value is None:
        raise AWSError(400, "ValidationError", f"1 validation error detected: {name} is null")
    return value


def _credentials(p: Params) -> str:
    duration = int(p.get("DurationSeconds", "3600") or 3600)
    return (
        "<Credentials>" + _tag("AccessKeyId", _key_id("ASIA"))
        + _tag("SecretAccessKey", secrets.token_urlsafe(30))
        + _tag("SessionToken", "FwoGZXIvYXdzE" + secrets.token_urlsafe(96))
        + _tag("Expiration", _iso(time.time() + duration)) + "</Credentials>"
    )  # fmt: skip


def success_body(action: str, result: str) -> bytes:
    xmlns = STS_XMLNS if action in STS_ACTIONS else IAM_XMLNS
    result_xml = f"<{action}Result>{result}</{action}Result>" if result else ""
    return (
        f'<{action}Response xmlns="{xmlns}">{result_xml}'
        f"<ResponseMetadata><RequestId>{uuid.uuid4()}</RequestId></ResponseMetadata>"
        f"</{action}Response>"
    ).encode()


def error_body(error: AWSError) -> bytes:
    kind = "Receiver" if error.status >= 500 else "Sender"
    return (
        f"<ErrorResponse><Error><Type>{kind}</Type>{_tag('Code', error.code)}"
        f"{_tag('Message', error.message)}</Error><RequestId>{uuid.uuid4()}</RequestId>"
        "</ErrorResponse>"
    ).encode()


def _caller_key(authorization: str) -> str:
    # AWS4-HMAC-SHA256 Credential=AKID/20240101/us-east-1/iam/aws4_request, SignedHeaders=...
    return authorization.partition("Credential=")[2].partition("/")[0]


class FakeAWS(Service):
    """The fake endpoint, served by an asyncio loop in a background thread."""

    def __init__(self, latency: float = 0.05, host: str = "127.0.0.1", port: int = 0) -> None:
        self.latency = latency
        self.calls = 0  # requests answered (AWS actions, errors included)
        self.received = 0  # requests read, answered or not yet (their latency still running)
        self.calls_by_action: Counter[str] = Counter()
        self.state = FakeState()
        self._host, self._port = host, port
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.Server | None = None
        self._thread: threading.Thread | None = None
        self._connections: set[asyncio.Task[None]] = set()

    @property
    def endpoint(self) -> str:
        if self._server is None:
            raise RuntimeError("FakeAWS is not started")
        host, port = self._server.sockets[0].getsockname()[:2]
        return f"http://{host}:{port}"

    def reset(self) -> None:
        """Forget every user and key (from another thread: between benchmark phases)."""
        self.state = FakeState()

    # ---- lifecycle ---------------------------------------------------------------------------

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError("FakeAWS is already started")
        ready = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            try:
                self._server = loop.run_until_complete(self._listen())
            except BaseException as exc:
                failure.append(exc)
                ready.set()
                loop.close()
                return
            ready.set()
            try:
                loop.run_forever()
            finally:
                loop.run_until_complete(self._close())
                loop.close()

        self._thread = threading.Thread(target=run, name="fake-aws", daemon=True)
        self._thread.start()
        ready.wait()
        if failure:
            self._thread.join()
            self._thread = None
            raise failure[0]

    def stop(self) -> None:
        if self._thread is None or self._loop is None:
            return
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._thread = self._loop = self._server = None

    async def _listen(self) -> asyncio.Server:
        return await asyncio.start_server(self._serve, self._host, self._port, backlog=1024)

    async def _close(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._connections):
            task.cancel()
        if self._connections:
            await asyncio.gather(*self._connections, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()

    # ---- HTTP --------------------------------------------------------------------------------

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        try:
            while await self._one(reader, writer):
                pass
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            pass
        except asyncio.CancelledError:
            pass
        finally:
            self._connections.discard(task)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _one(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        """Answer one request; False when the connection is to be closed."""
        head = await reader.readuntil(b"\r\n\r\n")
        if len(head) > MAX_HEADER:
            return False
        lines = head.decode("latin-1").split("\r\n")
        method, target, _ = [*lines[0].split(" "), "", ""][:3]
        headers: dict[str, str] = {}
        for line in lines[1:]:
            name, sep, value = line.partition(":")
            if sep:
                headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length", "0") or 0)
        body = await reader.readexactly(length) if length else b""
        path, _, query = target.partition("?")
        keep_alive = headers.get("connection", "").lower() != "close"
        if path.startswith("/fake-aws/"):
            status, payload, content_type = self._control(method, path)
        else:
            status, payload = self._aws(query, body, headers.get("authorization", ""))
            content_type = "text/xml"
            self.received += 1
            if self.latency > 0:
                await asyncio.sleep(self.latency)
            self.calls += 1
        writer.write(
            (
                f"HTTP/1.1 {status} {_REASONS.get(status, 'Error')}\r\n"
                f"Content-Type: {content_type}\r\nContent-Length: {len(payload)}\r\n"
                f"Connection: {'keep-alive' if keep_alive else 'close'}\r\n\r\n"
            ).encode()
            + payload
        )
        await writer.drain()
        return keep_alive

    def _aws(self, query: str, body: bytes, authorization: str) -> tuple[int, bytes]:
        params = dict(parse_qsl(query, keep_blank_values=True))
        if body:
            params.update(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
        action = params.get("Action", "")
        self.calls_by_action[action] += 1
        try:
            result = self.state.answer(action, params, _caller_key(authorization))
        except AWSError as exc:
            return exc.status, error_body(exc)
        return 200, success_body(action, result)

    def _control(self, method: str, path: str) -> tuple[int, bytes, str]:
        if path == "/fake-aws/calls":
            counts = {"calls": self.calls, "by_action": dict(self.calls_by_action)}
            return 200, json.dumps(counts).encode(), "application/json"
        if path == "/fake-aws/reset" and method == "POST":
            self.reset()
            return 200, b"{}", "application/json"
        return 404, b"{}", "application/json"


def main(argv: list[str] | None = None) -> int:
    """Serve until SIGTERM or SIGINT; print the endpoint on the first line of stdout."""
    p = argparse.ArgumentParser(prog="python -m tests.support.fake_aws", description=__doc__)
    p.add_argument("--latency", type=float, default=0.05, help="seconds before each answer")
    p.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0: any free one)")
    args = p.parse_args(argv)
    done = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: done.set())
    with FakeAWS(latency=args.latency, port=args.port) as fake:
        print(fake.endpoint, flush=True)
        done.wait()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
