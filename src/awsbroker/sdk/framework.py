"""Declarative backends, after Vault's `sdk/framework`.

A backend is a list of `Path` specs. Each spec names a URL pattern (a regular expression matched
against the whole path below the mount, with named groups for path parameters), the fields it
takes, and a handler per operation. `FrameworkBackend.handle_request` finds the spec, decodes the
fields and calls the handler; the specs double as the source of the OpenAPI description.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Generic, Protocol, TypeVar

from awsbroker.sdk import path_help
from awsbroker.sdk.clock import Clock
from awsbroker.sdk.errors import InvalidRequest, NotFound, UnsupportedOperation
from awsbroker.sdk.fields import FieldData
from awsbroker.sdk.logical import Auth, JSONObject, Operation, Request, Response, Secret
from awsbroker.sdk.path_spec import Handler, Path
from awsbroker.sdk.storage import Storage
from awsbroker.sdk.telemetry import NullTelemetry, Telemetry

# `Path` lives in path_spec (below openapi and path_help, which help requests use); it is
# named here too, where backends have always found it.
__all__ = [
    "AuthRenewHook",
    "Backend",
    "BackendConfig",
    "BackendFactory",
    "FrameworkBackend",
    "JobHook",
    "JobType",
    "Path",
    "SecretHook",
    "SecretType",
    "SystemView",
    "list_response",
]

B = TypeVar("B")


def list_response(keys: Sequence[str]) -> Response:
    """A LIST's answer: the keys, or 404 when there are none, as Vault answers an empty list."""
    if not keys:
        raise NotFound()
    return Response(data={"keys": list(keys)})


SecretHook = Callable[[B, Request, Secret], Response | None]


@dataclass(frozen=True)
class SecretType(Generic[B]):
    """A kind of leased secret a backend hands out, with the hooks the lease manager calls."""

    name: str
    revoke: SecretHook[B]
    renew: SecretHook[B] | None = None


AuthRenewHook = Callable[[B, Request, Auth], Auth | None]
JobHook = Callable[[B, str], float | None]


@dataclass(frozen=True)
class JobType(Generic[B]):
    """A kind of scheduled job: a job whose name starts with `prefix` runs `run(backend, the
    rest of the name)`, which returns the Unix time to run it next, or None for never."""

    prefix: str
    run: JobHook[B]


class SystemView(Protocol):
    """What a backend may ask of the core: effective TTLs for its mount, the time, which
    processes are alive (to tell work left by a dead process from work still in flight), and
    durable jobs (run once, on one process, at or after their time)."""

    def default_lease_ttl(self) -> int: ...

    def max_lease_ttl(self) -> int: ...

    @property
    def clock(self) -> Clock: ...

    @property
    def boot_id(self) -> str:
        """This process's random ID, fresh at every start."""
        ...

    def node_alive(self, boot_id: str) -> bool: ...

    def lease_exists(self, lease_id: str) -> bool:
        """Whether the core has stored a lease with this ID (see `Request.lease_id`)."""
        ...

    def revoke_leases(
        self, prefix: str, issued_before: float, which: Callable[[JSONObject], bool]
    ) -> list[str]:
        """Revoke now, through the lease manager (the backend's `revoke_secret`, then the lease
        is deleted), every stored lease of this mount under `prefix` (relative to the mount)
        issued before `issued_before` whose internal data `which` accepts. Returns the IDs
        revoked; raises after trying them all if any failed (those stay, as any failed
        revocation). Leases are in shared storage: this reaches those issued on every node."""
        ...

    def schedule_job(self, name: str, at: float) -> None:
        """Run the mount's job `name` (its backend's `run_job(name)`) at or after `at`,
        replacing any earlier time. The schedule is durable and shared by every process."""
        ...

    def cancel_job(self, name: str) -> None:
        """Forget the job `name`; a missing one is fine."""
        ...


@dataclass(frozen=True)
class BackendConfig:
    storage: Storage
    system: SystemView
    mount_path: str
    options: Mapping[str, str] = field(default_factory=dict)
    # Where the backend reports measurements (credentials issued, AWS calls, rotations).
    telemetry: Telemetry = field(default_factory=NullTelemetry)


class Backend(Protocol):
    """What the core needs from any mounted backend."""

    def handle_request(self, request: Request) -> Response | None: ...

    def exists(self, request: Request) -> bool | None:
        """True/False when the path has an existence check (create vs update); None otherwise."""
        ...

    def renew_secret(self, request: Request, secret: Secret) -> Response | None: ...

    def renew_auth(self, request: Request, auth: Auth) -> Auth | None:
        """An auth method's say on renewing a token its login made (`auth`: the token's
        policies, metadata and the login's `internal_data`); raise to refuse. Return `auth`
        with `ttl`, `max_ttl` and `period` set from the role as it is now to have the renewal
        use them (as Vault's methods do); None keeps the token's own."""
        ...

    def revoke_secret(self, request: Request, secret: Secret) -> Response | None: ...

    @property
    def root_paths(self) -> Sequence[str]:
        """Path globs (relative to the mount) that need `sudo` on top of the usual capability."""
        ...

    @property
    def unauthenticated_paths(self) -> Sequence[str]: ...

    def accepts_bare_authorization(self, path: str) -> bool:
        """Whether a read of `path` (relative to the mount) may carry its token as a bare
        `Authorization` header."""
        ...

    def checks_credential(self, path: str) -> bool:
        """Whether `path` (relative to the mount) checks a credential the caller presents, as a
        login does: its failures are throttled (core/login_limits.py)."""
        ...

    def audit_clear_keys(self, path: str) -> tuple[str, ...]:
        """Request data keys of `path` (relative to the mount) that the audit log keeps in
        clear whatever the mount's tuning (`Path.audit_clear`)."""
        ...

    def periodic(self) -> None:
        """Called every few seconds by the core on every process: rollbacks, recoveries."""
        ...

    def run_job(self, name: str) -> float | None:
        """Run a due job scheduled with `SystemView.schedule_job`; return the time to run it
        next, or None to drop it. Raising means "retry later": the core reschedules it with
        backoff and never drops it."""
        ...


BackendFactory = Callable[[BackendConfig], Backend]


class FrameworkBackend(Generic[B]):
    """Dispatches requests to a list of `Path` specs. Subclasses pass themselves as `owner`."""

    def __init__(
        self,
        owner: B,
        paths: Sequence[Path[B]],
        *,
        secrets: Sequence[SecretType[B]] = (),
        root_paths: Sequence[str] = (),
        unauthenticated_paths: Sequence[str] = (),
        periodic: Callable[[B], None] | None = None,
        jobs: Sequence[JobType[B]] = (),
        renew_auth: AuthRenewHook[B] | None = None,
    ) -> None:
        self._owner = owner
        self._renew_auth = renew_auth
        self._periodic = periodic
        self._jobs = list(jobs)
        self.paths = list(paths)
        self._compiled = [(p.compiled(), p) for p in self.paths]
        self._secrets = {s.name: s for s in secrets}
        self._root_paths = list(root_paths)
        self._unauth_paths = list(unauthenticated_paths)

    @property
    def root_paths(self) -> Sequence[str]:
        return self._root_paths

    @property
    def unauthenticated_paths(self) -> Sequence[str]:
        return self._unauth_paths

    def accepts_bare_authorization(self, path: str) -> bool:
        found = self.match(path)
        return found is not None and found[0].bare_authorization

    def checks_credential(self, path: str) -> bool:
        found = self.match(path)
        return found is not None and found[0].checks_credential

    def audit_clear_keys(self, path: str) -> tuple[str, ...]:
        found = self.match(path)
        return () if found is None else found[0].audit_clear

    def periodic(self) -> None:
        if self._periodic is not None:
            self._periodic(self._owner)

    def run_job(self, name: str) -> float | None:
        for job in self._jobs:
            if name.startswith(job.prefix):
                return job.run(self._owner, name[len(job.prefix) :])
        return None  # nobody runs it: drop it

    def match(self, path: str) -> tuple[Path[B], dict[str, str]] | None:
        for regex, spec in self._compiled:
            m = regex.fullmatch(path)
            if m is not None:
                return spec, {k: v for k, v in m.groupdict().items() if v is not None}
        return None

    def handle_request(self, request: Request) -> Response | None:
        if request.operation is Operation.HELP:
            return self._help(request)
        spec, captures, handler = self._route(request)
        fields = self._field_data(spec, request, captures)
        response = handler(self._owner, request, fields)
        if (
            response is not None
            and fields.unknown
            and response.raw is None
            and not spec.takes_any_data
        ):
            names = " ".join(fields.unknown)
            response.add_warning(f"Endpoint ignored these unrecognized parameters: [{names}]")
        return response

    def _help(self, request: Request) -> Response:
        """The path's help (`path_help.py`), from its spec: the handler never runs."""
        if request.path == "":
            return path_help.root_response(self.paths, request.mount_type)
        found = self.match(request.path)
        if found is None:
            raise NotFound("unsupported path")
        return path_help.response(found[0], request.path, request.mount_type)

    def exists(self, request: Request) -> bool | None:
        found = self.match(request.path)
        if found is None or found[0].existence_check is None:
            return None
        spec, captures = found
        check = spec.existence_check
        assert check is not None
        return check(self._owner, request, self._field_data(spec, request, captures))

    def renew_secret(self, request: Request, secret: Secret) -> Response | None:
        hook = self._secret_type(secret).renew
        if hook is None:
            raise InvalidRequest("lease is not renewable")
        return hook(self._owner, request, secret)

    def renew_auth(self, request: Request, auth: Auth) -> Auth | None:
        if self._renew_auth is None:
            return None
        return self._renew_auth(self._owner, request, auth)

    def revoke_secret(self, request: Request, secret: Secret) -> Response | None:
        return self._secret_type(secret).revoke(self._owner, request, secret)

    def _secret_type(self, secret: Secret) -> SecretType[B]:
        try:
            return self._secrets[secret.secret_type]
        except KeyError:
            raise InvalidRequest(f"unknown secret type {secret.secret_type!r}") from None

    def _route(self, request: Request) -> tuple[Path[B], dict[str, str], Handler[B]]:
        found = self.match(request.path)
        if found is None:
            raise NotFound("unsupported path")
        spec, captures = found
        op = request.operation
        handler = spec.operations.get(op)
        if handler is None and op is Operation.CREATE:
            handler = spec.operations.get(Operation.UPDATE)
        if handler is None and op is Operation.UPDATE:
            handler = spec.operations.get(Operation.CREATE)
        if handler is None:
            raise UnsupportedOperation("unsupported operation")
        return spec, captures, handler

    @staticmethod
    def _field_data(spec: Path[B], request: Request, captures: dict[str, str]) -> FieldData:
        raw: JSONObject = dict(request.data)
        raw.update(captures)
        return FieldData(spec.fields, raw)
