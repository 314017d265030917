"""A real `Core` in memory, with a manual clock and a small recording engine, for unit tests.

`Harness.call` sends one logical request through `Core.handle`, exactly as the HTTP layer does,
so tests see the whole pipeline (seal check, routing, token, ACL, sudo, dispatch) without a
socket. The `RecordingEngine` is mounted at `test/` and keeps every request it receives, so a
test can check what an engine is (and is not) shown.

The engine also hands out leased secrets at `creds/<name>` (secret type `test`), records every
renewal and revocation the lease manager asks of it, and can be told to fail revocations. The
lease manager's jitter source is fixed (`rand`, 0.5 by default: backoff delays are exact).
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from awsbroker.core.core import DEFAULT_TTL, Core, CoreConfig
from awsbroker.core.expiration import RevocationPolicy
from awsbroker.core.mounts import new_entry
from awsbroker.core.system.backend import SystemBackend
from awsbroker.physical.inmem import InmemStorage
from awsbroker.sdk.clock import ManualClock
from awsbroker.sdk.errors import UpstreamError
from awsbroker.sdk.fields import Field, FieldData, FieldType
from awsbroker.sdk.framework import (
    Backend,
    BackendConfig,
    BackendFactory,
    FrameworkBackend,
    Path,
    SecretType,
)
from awsbroker.sdk.logical import (
    Auth,
    JSONObject,
    JSONValue,
    Operation,
    Request,
    Response,
    Secret,
)

R, U, D, L = Operation.READ, Operation.UPDATE, Operation.DELETE, Operation.LIST
ENGINE_TYPE = "test"
ENGINE_MOUNT = "test/"
SECRET_TYPE = "test"


class RecordingEngine(FrameworkBackend["RecordingEngine"]):
    """`items/<name>` (with an existence check), `items/` (list), `echo`, `bare-echo` (whose
    reads may carry a bare Authorization header), `admin` (a root path) and `public`
    (unauthenticated). Every request it sees is kept in `requests`, and every
    request its existence check sees in `exists_requests`.

    `creds/<name>` (read or write; fields `ttl`, `max_ttl`, `renewable`) returns a leased
    secret whose internal data names it (`name`, `serial`). Renewals are kept in `renewed`
    and answer with `renew_ttl`/`renew_max_ttl` (0: propose nothing); every revocation attempt
    is kept in `revoke_attempts`, the successful ones in `revoked`. `fail_revocations` makes
    the next N attempts (or all) raise."""

    def __init__(self, config: BackendConfig) -> None:
        super().__init__(
            self,
            [
                Path(
                    r"items/(?P<name>\w+)",
                    {R: read_item, U: write_item, D: delete_item},
                    {"name": Field(FieldType.STRING), "value": Field(FieldType.STRING)},
                    existence_check=item_exists,
                ),
                Path("items/?", {L: list_items}),
                Path("echo", {R: echo, U: echo}, {"msg": Field(FieldType.STRING)}),
                # As the AWS engine's `container-creds/`: a bare Authorization header is the token.
                Path(
                    "bare-echo",
                    {R: echo, U: echo},
                    {"msg": Field(FieldType.STRING)},
                    bare_authorization=True,
                ),
                Path("admin", {U: echo}, {"msg": Field(FieldType.STRING)}),
                Path("public", {R: echo}, {"msg": Field(FieldType.STRING)}),
                Path(
                    r"creds/(?P<name>[\w-]+)",
                    {R: issue_creds, U: issue_creds},
                    {
                        "name": Field(FieldType.STRING),
                        "ttl": Field(FieldType.DURATION),
                        "max_ttl": Field(FieldType.DURATION),
                        "renewable": Field(FieldType.BOOL, default=True),
                    },
                ),
            ],
            secrets=[SecretType(SECRET_TYPE, revoke=revoke_creds, renew=renew_creds)],
            root_paths=["admin"],
            unauthenticated_paths=["public"],
        )
        self.config = config
        self.requests: list[Request] = []
        self.exists_requests: list[Request] = []
        self.issued: list[Secret] = []
        self.renewed: list[Secret] = []
        self.revoke_attempts: list[Secret] = []
        self.revoked: list[Secret] = []
        self.renew_ttl = 0
        self.renew_max_ttl = 0
        # Run inside each renewal (after the lease manager read the lease) and each issuance
        # (after the core checked the token): a race's other side.
        self.during_renew: Callable[[], object] = lambda: None
        self.during_issue: Callable[[], object] = lambda: None
        # Run inside each revocation, before it succeeds (an engine that revokes more leases).
        self.during_revoke: Callable[[Secret], object] = lambda secret: None
        self._lock = threading.Lock()  # the expiry worker revokes from several threads
        self._failures_left = 0  # -1: always
        self._failure: Callable[[], Exception] = lambda: UpstreamError("upstream is down")

    def fail_revocations(
        self, times: int | None = None, error: Callable[[], Exception] | None = None
    ) -> None:
        """Make the next `times` revocations (all, if None) raise `error()` (an UpstreamError
        by default)."""
        with self._lock:
            self._failures_left = -1 if times is None else times
            if error is not None:
                self._failure = error

    def recover(self) -> None:
        with self._lock:
            self._failures_left = 0

    def revoked_serials(self) -> list[JSONValue]:
        return [secret.internal_data["serial"] for secret in self.revoked]

    def handle_request(self, request: Request) -> Response | None:
        self.requests.append(dataclasses.replace(request))  # a snapshot: the core may mutate
        return super().handle_request(request)

    def exists(self, request: Request) -> bool | None:
        self.exists_requests.append(dataclasses.replace(request))
        return super().exists(request)


def read_item(b: RecordingEngine, req: Request, fd: FieldData) -> Response | None:
    blob = b.config.storage.get(f"items/{fd.get_str('name')}")
    return None if blob is None else Response(data={"value": blob.decode()})


def write_item(b: RecordingEngine, req: Request, fd: FieldData) -> Response | None:
    b.config.storage.put(f"items/{fd.get_str('name')}", fd.get_str("value").encode())
    return None


def delete_item(b: RecordingEngine, req: Request, fd: FieldData) -> Response | None:
    b.config.storage.delete(f"items/{fd.get_str('name')}")
    return None


def item_exists(b: RecordingEngine, req: Request, fd: FieldData) -> bool:
    return b.config.storage.get(f"items/{fd.get_str('name')}") is not None


def list_items(b: RecordingEngine, req: Request, fd: FieldData) -> Response | None:
    keys: list[JSONValue] = [*b.config.storage.list("items/")]
    return Response(data={"keys": keys})


def echo(b: RecordingEngine, req: Request, fd: FieldData) -> Response | None:
    return Response(
        data={
            "msg": fd.get_str("msg"),
            "sudo": req.sudo,
            "default_lease_ttl": b.config.system.default_lease_ttl(),
            "max_lease_ttl": b.config.system.max_lease_ttl(),
        }
    )


def issue_creds(b: RecordingEngine, req: Request, fd: FieldData) -> Response | None:
    b.during_issue()
    with b._lock:
        serial = len(b.issued) + 1
        secret = Secret(
            SECRET_TYPE,
            ttl=fd.get_duration("ttl"),
            max_ttl=fd.get_duration("max_ttl"),
            renewable=fd.get_bool("renewable"),
            internal_data={"name": fd.get_str("name"), "serial": serial},
        )
        b.issued.append(secret)
    return Response(data={"username": f"{fd.get_str('name')}-{serial}"}, secret=secret)


def renew_creds(b: RecordingEngine, req: Request, secret: Secret) -> Response | None:
    b.during_renew()
    with b._lock:
        b.renewed.append(dataclasses.replace(secret))
    proposed = Secret(secret.secret_type, ttl=b.renew_ttl, max_ttl=b.renew_max_ttl)
    return Response(data={"renewed": True}, secret=proposed)


def revoke_creds(b: RecordingEngine, req: Request, secret: Secret) -> Response | None:
    with b._lock:
        b.revoke_attempts.append(dataclasses.replace(secret))
        if b._failures_left != 0:
            if b._failures_left > 0:
                b._failures_left -= 1
            raise b._failure()
        b.revoked.append(dataclasses.replace(secret))
    b.during_revoke(secret)
    return None


def recording_factory(created: list[RecordingEngine]) -> BackendFactory:
    def factory(config: BackendConfig) -> Backend:
        engine = RecordingEngine(config)
        created.append(engine)
        return engine

    return factory


@dataclass
class Harness:
    core: Core
    clock: ManualClock
    physical: InmemStorage
    root: str
    key: bytes
    engines: list[RecordingEngine] = field(default_factory=list)

    @property
    def engine(self) -> RecordingEngine:
        """The engine now serving `test/` (a new one after every unseal)."""
        return self.engines[-1]

    def call(
        self,
        operation: Operation,
        path: str,
        data: JSONObject | None = None,
        token: str | None = None,
    ) -> Response | None:
        request = Request(
            operation, path, dict(data or {}), client_token=self.root if token is None else token
        )
        return self.core.handle(request)

    def ok(
        self,
        operation: Operation,
        path: str,
        data: JSONObject | None = None,
        token: str | None = None,
    ) -> Response:
        response = self.call(operation, path, data, token)
        assert response is not None, f"{operation} {path} answered nothing"
        return response

    def create_token(self, data: JSONObject | None = None, token: str | None = None) -> Auth:
        response = self.ok(U, "auth/token/create", data, token)
        assert response.auth is not None
        return response.auth

    def token(self, data: JSONObject | None = None, parent: str | None = None) -> str:
        return self.create_token(data, parent).client_token

    def creds(
        self, name: str = "a", data: JSONObject | None = None, token: str | None = None
    ) -> Response:
        """Read `test/creds/<name>`: a leased secret. Returns the response (with `lease_id`)."""
        response = self.ok(R, f"{ENGINE_MOUNT}creds/{name}", data, token)
        assert response.lease_id, "no lease was registered"
        return response

    def lookup(self, token: str) -> JSONObject:
        data = self.ok(U, "auth/token/lookup", {"token": token}).data
        assert data is not None
        return data

    def policy(self, name: str, text: str) -> None:
        self.core.write_policy(name, text)

    def reseal(self) -> None:
        self.core.seal_vault()
        self.core.submit_unseal_key(self.key)

    def close(self) -> None:
        self.core.close()


def rule(path: str, *capabilities: str) -> str:
    caps = ", ".join(f'"{c}"' for c in capabilities)
    return f'path "{path}" {{\n  capabilities = [{caps}]\n}}\n'


def another_node(h: Harness) -> Harness:
    """A second core on the same storage (another node), unsealed with the same key, with
    engines of its own."""
    engines: list[RecordingEngine] = []
    core = Core(
        h.physical,
        {ENGINE_TYPE: recording_factory(engines)},
        h.core.config,
        system_backend=SystemBackend,
    )
    core.expiration.rand = h.core.expiration.rand
    core.submit_unseal_key(h.key)
    return Harness(core, h.clock, h.physical, h.root, h.key, engines)


def make_harness(
    default_ttl: int = DEFAULT_TTL,
    max_ttl: int = DEFAULT_TTL,
    *,
    revocation: RevocationPolicy | None = None,
    rand: Callable[[], float] = lambda: 0.5,
    base: CoreConfig | None = None,
) -> Harness:
    """A core over `InmemStorage`, initialised, unsealed, with the test engine at `test/`.
    `rand` is the lease manager's jitter source: 0.5 makes every backoff exactly 2^n x base.
    `base` gives the rest of the core's configuration (its clock is replaced)."""
    clock = ManualClock()
    physical = InmemStorage()
    engines: list[RecordingEngine] = []
    config = dataclasses.replace(
        base or CoreConfig(), default_lease_ttl=default_ttl, max_lease_ttl=max_ttl, clock=clock
    )
    if revocation is not None:
        config = dataclasses.replace(config, revocation=revocation)
    core = Core(
        physical,
        {ENGINE_TYPE: recording_factory(engines)},
        config,
        system_backend=SystemBackend,
    )
    core.expiration.rand = rand
    keys, root = core.initialize(1, 1)
    core.submit_unseal_key(keys[0])
    core.enable_mount(new_entry(ENGINE_MOUNT, ENGINE_TYPE))
    return Harness(core, clock, physical, root, keys[0], engines)
