"""The core: seal state, mounts, tokens, policies, and the request pipeline.

`Core.handle` is the one way in: seal check, sync, route, authenticate, authorise, dispatch.
The HTTP layer turns HTTP into `Request`s and calls it; nothing else reaches a backend.

Several processes (nodes) may share one storage and each serves every request. What a node
keeps in memory (the mount table and its backends, audit devices, policies, the keyring) is a
view of storage that `sync` brings up to date at the start of every request and background
tick; every change to it goes through a method here that stores it, counts it
(`changes.py`), and syncs. Tokens and leases are read from storage on every use.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from awsbroker.audit.broker import AuditBroker, AuditFailed
from awsbroker.audit.device import builtin_sinks
from awsbroker.barrier.aes_gcm import AESGCMBarrier
from awsbroker.barrier.seal import SealStatus, ShamirSeal
from awsbroker.core import cluster_info
from awsbroker.core.audit_table import AuditTable
from awsbroker.core.audit_trail import UNAUDITED, AuditTrail, withdraw
from awsbroker.core.caller import caller_identity
from awsbroker.core.changes import ChangeCounter
from awsbroker.core.cubbyhole import CUBBYHOLE_ENTRY, STORAGE_PREFIX, CubbyholeBackend
from awsbroker.core.expiration import ExpirationManager, RevocationPolicy
from awsbroker.core.login import Limits, login_auth, token_from_login
from awsbroker.core.login_limits import LoginRateLimit, LoginThrottle
from awsbroker.core.metrics import Metrics, StateCollector
from awsbroker.core.mounts import (
    AUTH_TABLE_KEY,
    Entries,
    MountEntry,
    MountTable,
    conflict,
)
from awsbroker.core.nodes import NodeRegistry
from awsbroker.core.path_token import AUTHORIZED, LoginTerms, TokenBackend
from awsbroker.core.policy_store import PolicyStore, acl_path
from awsbroker.core.remount import Migration, Migrations, refuse_while_moving
from awsbroker.core.remount import resume as resume_migrations
from awsbroker.core.remount import start as start_migration
from awsbroker.core.router import Route, Router
from awsbroker.core.system_view import MountSystemView
from awsbroker.core.tokens import ROOT_PATH, TokenEntry, TokenStore, random_id
from awsbroker.core.unauthed import Unauthed
from awsbroker.core.upgrade import STEPS, Steps, StorageFormat
from awsbroker.core.views import BUILT_IN, Views
from awsbroker.core.wrapping import VALIDATED_PATHS, Wrapping
from awsbroker.core.wrapping_jwt import WrappingKey
from awsbroker.policy.builtin import is_root_path
from awsbroker.sdk.clock import Clock, SystemClock
from awsbroker.sdk.errors import (
    InternalError,
    InvalidRequest,
    NotFound,
    PermissionDenied,
    RateLimited,
    Sealed,
    StorageUnavailable,
)
from awsbroker.sdk.expiry import PhysicalStore
from awsbroker.sdk.framework import Backend, BackendConfig, BackendFactory
from awsbroker.sdk.logical import Auth, Operation, Request, Response
from awsbroker.sdk.storage import View, list_recursive
from awsbroker.sdk.telemetry import LOGIN_FAILURES, LOGIN_THROTTLED
from awsbroker.sdk.token_fields import address_in

log = logging.getLogger("awsbroker.core")
DEFAULT_TTL = 768 * 3600
SEAL_EXEMPT = frozenset({"sys/init", "sys/seal-status", "sys/unseal", "sys/health", "sys/leader"})
TOKEN_MOUNT = "auth/token/"  # noqa: S105 - a mount path, not a secret
SYS_MOUNT = "sys/"
METRICS_PATH = "sys/metrics"
SEAL_PATH = "sys/seal"


@dataclass(frozen=True)
class CoreConfig:
    default_lease_ttl: int = DEFAULT_TTL
    max_lease_ttl: int = DEFAULT_TTL
    storage_type: str = "inmem"
    cluster_name: str = "awsbroker"
    clock: Clock = field(default_factory=SystemClock)
    revocation: RevocationPolicy = field(default_factory=RevocationPolicy)
    # `sys/metrics` without a token (and while sealed, and unaudited), as Vault's listener
    # `telemetry { unauthenticated_metrics_access = true }`.
    unauthenticated_metrics_access: bool = False
    # Which token-less rekey and generate-root paths the listener serves (unauthed.py): none
    # unless its `disable_unauthed_*` switches say false.
    unauthed_paths: Unauthed = field(default_factory=Unauthed)
    # This node in `sys/ha-status` and `sys/leader` (nodes.py), and how long another node may
    # be silent before it counts as dead (None: nodes.DEAD_AFTER).
    api_addr: str = ""
    cluster_addr: str = ""
    node_dead_after: float | None = None
    # The storage format's upgrade steps (upgrade.py); tests bring their own.
    upgrade_steps: Steps = field(default_factory=lambda: STEPS)
    # How fast failed logins from one address may go on, per auth mount (login_limits.py).
    login_rate_limit: LoginRateLimit = field(default_factory=LoginRateLimit)


class Core:
    def __init__(
        self,
        physical: PhysicalStore,
        engines: Mapping[str, BackendFactory],
        config: CoreConfig | None = None,
        system_backend: Callable[[Core], Backend] | None = None,
        auth_methods: Mapping[str, BackendFactory] | None = None,
    ) -> None:
        self.config = config or CoreConfig()
        self.physical = physical
        self.engines = dict(engines)
        # Auth method types (`approle`...), each a factory the composition root passes in.
        self.auth_methods = dict(auth_methods or {})
        self.barrier = AESGCMBarrier(physical, self.config.clock)
        self.seal = ShamirSeal(self.barrier, physical, self.config.clock)
        self.cluster_id = ""  # read at unseal (cluster_info.py)
        self.router = Router()
        self.mounts = MountTable(self.barrier)
        self.auth_mounts = MountTable(self.barrier, AUTH_TABLE_KEY)
        self.migrations = Migrations(self.barrier)  # mounts moved by `sys/remount`
        self.tokens = TokenStore(View(self.barrier, "sys/token/"), self.config.clock)
        self.nodes = NodeRegistry(View(self.barrier, "sys/nodes/"), self.config)
        self.storage_format = StorageFormat(
            physical,
            self.barrier,
            self.nodes,
            self.seal_vault,
            self.config.upgrade_steps,
            changed=physical.count_change,
        )
        self.policies = PolicyStore(View(self.barrier, "sys/policy/"))
        self.token_backend = TokenBackend(
            self.tokens, self._token_ttls, self.policies.exists, self._renew_check
        )
        self.tokens.index = physical
        self.expiration = ExpirationManager(
            View(self.barrier, "sys/expire/"),
            physical,
            self.config.clock,
            self._backend_at,
            self.tokens,
            policy=self.config.revocation,
            mount_exists=self._mount_stored,
        )
        self.tokens.revoke_hooks.append(self.expiration.expire_token_leases)
        # Per-token storage, gone with its token; wrapped responses live there.
        self.cubbyhole = CubbyholeBackend(View(self.barrier, STORAGE_PREFIX), self.tokens)
        self.tokens.revoke_hooks.append(self.cubbyhole.destroy)
        self.wrapping = Wrapping(
            self.tokens,
            self.cubbyhole,
            self.config.clock,
            WrappingKey(self.barrier),
            self.config.api_addr,
        )
        self.metrics = Metrics(self.config.clock)
        self.login_throttle = LoginThrottle(self.config.login_rate_limit, self.config.clock)
        self.metrics.registry.register(StateCollector(lambda: self.sealed, physical, self.metrics))
        self.expiration.telemetry = self.metrics
        self.audit = AuditTable(
            self.barrier, builtin_sinks(), self.config.clock, AuditBroker(self.metrics)
        )
        self.views = Views(
            changes=ChangeCounter(physical),
            barrier=self.barrier,
            policies=self.policies,
            audit=self.audit,
            mounts=self.mounts,
            auth=self.auth_mounts,
            router=self.router,
            make_backend=self._make_backend,
        )
        self.unmount_hooks: list[Callable[[MountEntry], object]] = [
            lambda entry: self.expiration.revoke_prefix(entry.path)
        ]
        self._last_periodic = 0.0
        self._lock = threading.RLock()
        self._sys_entry = MountEntry(SYS_MOUNT, "system", "system_00000000", "sys")
        self.token_entry = MountEntry(TOKEN_MOUNT, "token", "auth_token_00000000", "token")
        if system_backend is not None:
            self.router.mount(self._sys_entry, system_backend(self))

    # ---- seal lifecycle -------------------------------------------------------------------

    @property
    def sealed(self) -> bool:
        return self.barrier.sealed

    def seal_status(self) -> SealStatus:
        return self.seal.status()

    def initialize(
        self, shares: int, threshold: int, root_token_id: str = ""
    ) -> tuple[list[bytes], str]:
        """Create the barrier's keys and the root token. The server is sealed afterwards."""
        with self._lock:
            keys = self.seal.initialize(shares, threshold)
            for key in keys[:threshold]:
                self.seal.submit(key)
            self._post_unseal()
            root_token = self.create_root_token(root_token_id)
            self.seal_vault()
            return keys, root_token

    def submit_unseal_key(self, key: bytes) -> SealStatus:
        with self._lock:
            was_sealed = self.sealed
            if was_sealed:
                self.storage_format.check()  # before a share counts: this build may be too old
            status = self.seal.submit(key)
            if was_sealed and not self.sealed:
                self._post_unseal()
                self.storage_format.after_unseal()
            return self.seal.status() if status.sealed != self.sealed else status

    def seal_vault(self) -> None:
        with self._lock:
            self.views.drop(self._unload)

    def _unload(self) -> None:
        self.audit.unload()
        self.router.unmount(TOKEN_MOUNT)
        self.router.unmount(CUBBYHOLE_ENTRY.path)
        for route in self.router.routes():
            if route.mount_path != SYS_MOUNT:
                self.router.unmount(route.mount_path)
        self.seal.seal()

    def _post_unseal(self) -> None:
        self.cluster_id = cluster_info.cluster_id(self.barrier)
        self.nodes.heartbeat(force=True)
        self.tokens.setup()
        self.policies.setup()
        self.router.mount(self.token_entry, self.token_backend)
        self.router.mount(CUBBYHOLE_ENTRY, self.cubbyhole)
        self.sync()
        resume_migrations(self)

    def sync(self) -> None:
        """Bring this node's views of storage up to date (`views.py`)."""
        self.views.sync()

    def create_root_token(self, token: str = "") -> str:
        token = token or self.tokens.new_token()
        entry = TokenEntry(
            hash=self.tokens.hash(token),
            accessor=random_id(24),
            policies=["root"],
            path=ROOT_PATH,
            display_name="root",
            creation_time=self.config.clock.now(),
            renewable=False,
        )
        self.tokens.create(entry)
        return token

    # ---- mounts -----------------------------------------------------------------------------

    def _make_backend(self, entry: MountEntry) -> Backend:
        factory = (self.auth_methods if entry.is_auth else self.engines)[entry.type]
        storage = View(self.barrier, entry.storage_prefix)
        return factory(
            BackendConfig(
                storage,
                MountSystemView(self, entry),
                entry.path,
                dict(entry.options),
                telemetry=self.metrics,
            )
        )

    def enable_mount(self, entry: MountEntry) -> None:
        if entry.type not in self.engines:
            raise InvalidRequest(f"plugin not found in the catalog: {entry.type}")
        reserved = conflict({}, entry.path)
        if reserved is not None:
            raise InvalidRequest(f"path is already in use at {reserved}")
        refuse_while_moving(self, entry.path)
        # Built first, so that what the engine refuses is refused before anything is stored.
        backend = self._make_backend(entry)

        def add(entries: Entries) -> None:
            taken = conflict(entries, entry.path)
            if taken is not None:
                raise InvalidRequest(f"path is already in use at {taken}")
            entries[entry.path] = entry

        with self._lock:
            self.mounts.change(add)
            self.router.mount(entry, backend)  # the sync keeps it: same mount, same uuid
            self.views.changed()

    def tune_mount(self, path: str, edit: Callable[[MountEntry], None]) -> None:
        """Apply `edit` to the stored entry of the mount at `path` (it may raise to refuse)."""

        def apply(entries: Entries) -> None:
            entry = entries.get(path)
            if entry is None:
                raise InvalidRequest(f"no mount at {path}")
            edit(entry)

        with self._lock:
            self.mounts.change(apply)
            self.views.changed()

    # ---- auth methods (the auth table, `auth/<path>/`) -----------------------------------------

    def enable_auth(self, entry: MountEntry) -> None:
        if entry.type == "token":
            raise InvalidRequest("token credential backend cannot be enabled: it is built in")
        if entry.type not in self.auth_methods:
            raise InvalidRequest(f"unknown auth method type {entry.type!r}")
        refuse_while_moving(self, entry.path)
        backend = self._make_backend(entry)

        def add(entries: Entries) -> None:
            taken = conflict(entries, entry.path, (TOKEN_MOUNT,))
            if taken is not None:
                raise InvalidRequest(f"path is already in use at {taken}")
            entries[entry.path] = entry

        with self._lock:
            self.auth_mounts.change(add)
            self.router.mount(entry, backend)
            self.views.changed()

    def tune_auth(self, path: str, edit: Callable[[MountEntry], None]) -> None:
        """Apply `edit` to the stored entry of the auth mount at `path` (`auth/...`). The
        built-in token method's entry is stored the first time it is tuned."""

        def apply(entries: Entries) -> None:
            entry = entries.get(path)
            if entry is None and path == TOKEN_MOUNT:
                entry = entries[path] = MountEntry.from_record(self.token_entry.to_record())
            if entry is None:
                raise InvalidRequest(f"no auth method at {path}")
            edit(entry)

        with self._lock:
            self.auth_mounts.change(apply)
            self.views.changed()

    def disable_auth(self, path: str) -> None:
        """Remove the auth mount and revoke every token created through it (and their leases).
        Tokens are revoked before the entry goes (so a failure leaves the mount, to disable
        again) and once more after: a login that was creating one meanwhile either sees the
        mount gone (`_login`) or indexed its token before the second sweep."""
        if path == TOKEN_MOUNT:
            raise InvalidRequest("token credential backend cannot be disabled")
        with self._lock:
            entry = self.auth_mounts.stored().get(path)
            if entry is None:
                return
            refuse_while_moving(self, path)
            self.tokens.revoke_mount(entry.uuid)
            self.expiration.revoke_prefix(entry.path)

            def remove(entries: Entries) -> None:
                if path in entries and entries[path].uuid == entry.uuid:
                    del entries[path]

            self.auth_mounts.change(remove)
            self.views.changed()
            self.tokens.revoke_mount(entry.uuid)
            for key in list_recursive(self.barrier, entry.storage_prefix):
                self.barrier.delete(key)

    def auth_limits(self, entry: MountEntry) -> Limits:
        return Limits(
            entry.config.default_lease_ttl or self.config.default_lease_ttl,
            entry.config.max_lease_ttl or self.config.max_lease_ttl,
        )

    def disable_mount(self, path: str) -> None:
        with self._lock:
            entry = self.mounts.stored().get(path)
            if entry is None:
                return
            refuse_while_moving(self, path)
            for hook in self.unmount_hooks:
                hook(entry)

            def remove(entries: Entries) -> None:
                if path in entries and entries[path].uuid == entry.uuid:
                    del entries[path]

            self.mounts.change(remove)
            self.views.changed()
            for key in list_recursive(self.barrier, entry.storage_prefix):
                self.barrier.delete(key)

    def remount(self, source: str, target: str) -> Migration:
        """Move the mount (or auth method) at `source` to `target`, with its leases, jobs and
        tokens (remount.py)."""
        return start_migration(self, source, target)

    def enable_audit(
        self, path: str, device_type: str, description: str, options: dict[str, str], local: bool
    ) -> None:
        with self._lock:
            self.audit.enable(path, device_type, description, options, local)
            self.views.changed()

    def disable_audit(self, path: str) -> None:
        with self._lock:
            if self.audit.disable(path):
                self.views.changed()

    def write_policy(self, name: str, text: str) -> None:
        self.policies.put(name, text)
        self.views.changed()

    def delete_policy(self, name: str) -> None:
        self.policies.delete(name)
        self.views.changed()

    def rotate_keyring(self) -> int:
        term = self.barrier.rotate()
        self.views.changed()
        return term

    def close(self) -> None:
        """Stop background work. The server calls it at shutdown."""
        self.expiration.close()

    def mount_entry(self, mount_path: str) -> MountEntry | None:
        """The entry of the mount (secrets engine or auth method) at `mount_path` in this
        node's view."""
        return self.mounts.entries.get(mount_path) or self.auth_mounts.entries.get(mount_path)

    def mount_accessor(self, mount_path: str) -> str:
        entry = self.mount_entry(mount_path)
        return entry.accessor if entry is not None else mount_path

    def _mount_stored(self, mount_path: str) -> bool:
        """Whether the stored tables (perhaps newer than this process's) have the path."""
        table = self.auth_mounts if mount_path.startswith("auth/") else self.mounts
        return mount_path in table.stored()

    def _backend_at(self, mount_path: str) -> Backend | None:
        route = self.router.match(mount_path)
        return route.backend if route is not None and route.mount_path == mount_path else None

    def beat(self) -> None:
        """This node's heartbeat, if one is due, and nothing else. The server beats from a
        thread of its own (server/ticker.py), so a long tick (a periodic job waiting on slow AWS
        calls) never lets this live node pass for dead, which would have its write-ahead entries
        rolled back and its claims taken over while its requests still run."""
        if not self.sealed:
            self.nodes.heartbeat()

    def tick(self, periodic_every: float = 15.0, *, wait: bool = True) -> int:
        """Background work: revoke due leases, and run each mount's periodic job about once a
        `periodic_every` seconds. The server calls it from a thread; tests call it directly."""
        self.storage_format.tick()
        if self.sealed:
            return 0
        self.nodes.heartbeat()
        self.sync()
        revoked = self.expiration.tick(wait=wait)
        now = self.config.clock.now()
        if now - self._last_periodic >= periodic_every:
            self._last_periodic = now
            self.nodes.forget_dead()
            # A node that stored a change and died before counting it: reload anyway, so
            # nothing stays stale past this period.
            self.views.reload(unless=lambda: self.sealed)
            resume_migrations(self)
            for route in self.router.routes():
                if route.entry.type not in BUILT_IN:
                    try:
                        route.backend.periodic()
                    except Sealed:
                        raise  # sealed: the other jobs wait for the first period after the unseal
                    except Exception:
                        log.exception("periodic job of %s failed", route.mount_path)
        return revoked

    def _renew_check(self, token: TokenEntry) -> LoginTerms | None:
        """A login's token is renewed only if the auth method that made it agrees (AppRole: the
        role still exists, with the same policies), as Vault asks the method at renewal; the
        method may answer its role's TTLs as they are now, which the renewal then applies,
        capped by the mount's max TTL as tuned now (Vault's `framework.CalculateTTL`)."""
        if not token.mount_uuid:
            return None
        entry = next(
            (e for e in self.auth_mounts.entries.values() if e.uuid == token.mount_uuid), None
        )
        route = self.router.get(entry.path) if entry is not None else None
        if entry is None or route is None or route.entry.uuid != entry.uuid:
            raise PermissionDenied("the auth method that issued this token is gone")
        auth = Auth(
            policies=list(token.policies),
            token_policies=list(token.policies),
            metadata=dict(token.meta) if token.meta else None,
            display_name=token.display_name,
            internal_data=dict(token.internal or {}),
        )
        request = Request(
            Operation.UPDATE,
            token.path.removeprefix(entry.path),
            mount_point=entry.path,
            mount_type=entry.type,
            mount_accessor=entry.accessor,
        )
        terms = route.backend.renew_auth(request, auth)
        if terms is None:
            return None
        limits = self.auth_limits(entry)  # the mount's table entry: tuned as it is now
        max_ttl = limits.max_ttl
        if terms.max_ttl and (not max_ttl or terms.max_ttl < max_ttl):
            max_ttl = terms.max_ttl
        return LoginTerms(terms.ttl or limits.default_ttl, max_ttl, terms.period)

    def _token_ttls(self) -> tuple[int, int]:
        """`auth/token`'s default and max TTL: tuned (`sys/auth/token/tune`), else the server's."""
        tuned = self.auth_mounts.entries.get(TOKEN_MOUNT)
        limits = self.auth_limits(tuned or self.token_entry)
        return limits.default_ttl, limits.max_ttl

    # ---- the request pipeline ------------------------------------------------------------

    def handle(self, request: Request) -> Response | None:
        path = request.path
        open_metrics = path == METRICS_PATH and self.config.unauthenticated_metrics_access
        if path not in SEAL_EXEMPT and not open_metrics:
            if self.sealed:
                raise Sealed("Vault is sealed")
            self.sync()
        self.config.unauthed_paths.check(path)
        self._take_bare_authorization(request)
        if not self.audit.broker.enabled or path in UNAUDITED or open_metrics:
            return self._handle(request, None)
        # Audited: see `audit_trail.py` for the fail-closed rule.
        trail = AuditTrail(self.audit.broker, self.config.clock, request)
        try:
            response = self._handle(request, trail)
        except Exception as exc:
            trail.log_error(exc)
            raise
        try:
            trail.log_response(response)
        except AuditFailed:
            withdraw(trail, response, self.expiration, self.tokens)
            raise InternalError("internal error") from None
        return response

    def _take_bare_authorization(self, request: Request) -> None:
        """A bare `Authorization` header is the token only for a read of a path whose backend
        accepts it (the AWS engine's `container-creds/`); it leaves the request either way."""
        bare, request.bare_authorization = request.bare_authorization, ""
        if not bare or request.client_token or request.operation is not Operation.READ:
            return
        route = self.router.match(request.path)
        if route is not None:
            relative = request.path[len(route.mount_path) :]
            if route.backend.accepts_bare_authorization(relative):
                request.client_token = bare

    def _handle(self, request: Request, trail: AuditTrail | None) -> Response | None:
        path = request.path
        route = self.router.match(path)
        if route is None:
            # As Vault: the ACL answers first, so a caller that may not reach a path learns
            # nothing about which mounts exist.
            entry = self._caller(request)
            if request.operation is not Operation.HELP:
                self._check_acl(entry, request)
            raise NotFound(f'no handler for route "{path}". route entry not found.')
        internal = route.entry.type in BUILT_IN
        if path in VALIDATED_PATHS and request.operation is not Operation.HELP:
            self.wrapping.validate(request)  # before the ACL, as Vault
        request.mount_point, request.mount_type = route.mount_path, route.entry.type
        request.mount_accessor = route.entry.accessor
        relative = path[len(route.mount_path) :] if path.startswith(route.mount_path) else ""
        inner = dataclasses.replace(
            request,
            path=relative,
            mount_point=route.mount_path,
            mount_type=route.entry.type,
            mount_accessor=route.entry.accessor,
            # Engines never see the token, not even in their existence check.
            client_token=request.client_token if internal else "",
            token_hash="",
            sudo=False,
            caller=None,  # only the core sets it, from the token it authorized
            lease_id="" if internal else f"{route.mount_path}{relative}/{random_id(24)}",
        )
        last_use: TokenEntry | None = None
        caller: TokenEntry | None = None
        if not is_root_path(relative, route.backend.unauthenticated_paths):
            caller, last = self._authorize(request, inner, route, trail)
            last_use = caller if last else None
            if not internal:
                inner.token_hash = ""
        if last_use is not None and path == SEAL_PATH:
            # Sealing closes the storage the revocation needs: spend the last use first, as
            # Vault does.
            self.tokens.revoke_tree(last_use)
            last_use = None
        guarded = route.entry.is_auth and not internal and self._guarded(route, relative)
        if guarded:
            self._check_throttle(request, route)
        authorized = AUTHORIZED.set(caller if internal else None)
        try:
            if trail is not None:
                # before the backend, or not at all
                trail.log_request(inner, route.entry, route.backend.audit_clear_keys(relative))
            response = route.backend.handle_request(inner)
            if guarded and inner.refused_credential:
                self._login_failed(request, route)
            elif guarded and inner.spent_attempt:
                self.login_throttle.failed(route.entry.accessor, request.remote_address)
        except (InvalidRequest, PermissionDenied):
            if guarded:
                self._login_failed(request, route)
            raise
        finally:
            AUTHORIZED.reset(authorized)
            if last_use is not None:
                self.tokens.revoke_tree(last_use)
        if response is not None:
            self._complete(
                request, inner, response, route, relative, last_use=last_use, caller=caller
            )
        return response

    def _complete(
        self,
        request: Request,
        inner: Request,
        response: Response,
        route: Route,
        relative: str,
        *,
        last_use: TokenEntry | None,
        caller: TokenEntry | None,
    ) -> None:
        """What the core adds to a backend's answer: a login's token, a secret's lease, and,
        last, the wrapping, so whatever the answer made is registered for the caller as it
        would be unwrapped."""
        response.mount_type = route.entry.type
        if response.auth is not None and route.entry.is_auth and route.entry.type not in BUILT_IN:
            self._login(request, route, relative, response)
        if response.secret is not None:
            token_hash = self.tokens.hash(request.client_token) if request.client_token else ""
            self._register_lease(inner, token_hash, response, route, last_use)
        wrap_ttl = self.wrapping.ttl(request, response)
        if wrap_ttl and request.path not in SEAL_EXEMPT:
            name = caller.display_name if caller is not None else ""
            self.wrapping.wrap(request, response, wrap_ttl, name)

    @staticmethod
    def _guarded(route: Route, relative: str) -> bool:
        """A login (an auth mount's unauthenticated path) or another credential check."""
        backend = route.backend
        return is_root_path(relative, backend.unauthenticated_paths) or backend.checks_credential(
            relative
        )

    def _check_throttle(self, request: Request, route: Route) -> None:
        """Refuse a guess from an address whose failures emptied its bucket on this mount
        (login_limits.py), before the method runs: a right answer would be an answer too."""
        wait = self.login_throttle.retry_after(
            route.entry.accessor, request.remote_address, route.mount_path
        )
        if wait:
            self.metrics.count(LOGIN_THROTTLED, {"mount": route.mount_path})
            raise RateLimited(f"too many failed login attempts; retry in {wait}s", retry_after=wait)

    def _login_failed(self, request: Request, route: Route) -> None:
        self.metrics.count(LOGIN_FAILURES, {"mount": route.mount_path})
        self.login_throttle.failed(route.entry.accessor, request.remote_address)

    def _login(self, request: Request, route: Route, relative: str, response: Response) -> None:
        """Create the token a login's `Auth` asks for (`login.py`). Only an unauthenticated
        path (a login) may answer one. The mount is looked up once the token is stored: if it
        was disabled meanwhile, on any node, the token is revoked and the login fails."""
        auth = response.auth
        assert auth is not None
        if not is_root_path(relative, route.backend.unauthenticated_paths):
            raise InternalError("an auth method answered a token outside its login paths")
        entry, token, warnings = token_from_login(
            self.tokens, route.entry, request.path, auth, self.auth_limits(route.entry)
        )
        stored = self.auth_mounts.stored().get(route.mount_path)
        if stored is None or stored.uuid != route.entry.uuid:
            self.tokens.revoke_tree(entry)
            raise PermissionDenied("permission denied")
        response.auth = login_auth(entry, token)
        response.warnings.extend(warnings)

    def _register_lease(
        self,
        inner: Request,
        token_hash: str,
        response: Response,
        route: Route,
        last_use: TokenEntry | None,
    ) -> None:
        system = MountSystemView(self, route.entry)
        inner.token_hash = token_hash
        lease = self.expiration.register(
            inner, response, system.default_lease_ttl(), system.max_lease_ttl()
        )
        for hook in response.on_registered:
            try:
                hook()
            except StorageUnavailable as exc:
                # The storage went away just after the lease was stored: the answer stands, and
                # a hook's storage work must be safe to leave for later (a write-ahead entry of
                # a stored lease is cleared by the engine's rollback). Expected, so no traceback.
                log.warning("post-lease hook of %s failed: %s", route.mount_path, exc)
            except Exception:
                log.exception("post-lease hook of %s failed", route.mount_path)
        if last_use is not None:
            # The token's last use produced a secret that would outlive it: revoke, and fail.
            self._undo_lease(lease.lease_id, "a token's last use")
            raise InvalidRequest("the token's last use cannot create a lease")
        if token_hash and self.tokens.get_by_hash(token_hash) is None:
            # The token was revoked (or expired), on some node, while this request ran, and its
            # leases may already have been swept: this one must not outlive it. Looked up only
            # now that the lease is stored; `TokenStore._revoke_one` says why that is enough.
            self._undo_lease(lease.lease_id, "a token revoked during its request")
            raise PermissionDenied("permission denied")

    def _undo_lease(self, lease_id: str, whose: str) -> None:
        """Revoke a lease just registered. If the backend cannot revoke it now, the lease stays
        queued for the worker: a forced revocation would forget a secret that still exists."""
        try:
            self.expiration.revoke(lease_id)
        except Exception:
            log.exception("revoking the lease of %s failed; queued", whose)
            self.expiration.expire_now(lease_id)

    def _caller(self, request: Request) -> TokenEntry:
        entry = self.tokens.lookup(request.client_token)
        if entry is None:
            raise PermissionDenied("permission denied")
        if entry.bound_cidrs and not address_in(request.remote_address, entry.bound_cidrs):
            # Vault's answer to a token used from outside its `token_bound_cidrs`.
            raise PermissionDenied("permission denied")
        return entry

    def _check_acl(
        self, entry: TokenEntry, request: Request, operation: Operation | None = None
    ) -> bool:
        """Raise unless the token's policies allow `operation` (by default the request's) on
        the request's path with its data; True with sudo. The data is what the handler reads:
        the body, or the query of a read (the HTTP layer decoded either into `data`). A policy
        name in the path is checked as the store will use it (`acl_path`)."""
        acl = self.policies.acl(entry.policies)
        path = acl_path(request.path)
        decision = acl.allowed(path, operation or request.operation, request.data, request.wrap_ttl)
        if not decision.allowed:
            raise PermissionDenied("permission denied")
        return decision.is_root or decision.sudo

    def _authorize(
        self, request: Request, inner: Request, route: Route, trail: AuditTrail | None
    ) -> tuple[TokenEntry, bool]:
        """Check the token and the ACL, and spend one of its uses. Returns the token as
        authorized, and whether this was its last use."""
        entry = self._caller(request)
        if trail is not None:
            trail.authenticated(entry)
        if inner.operation is Operation.UPDATE and route.backend.exists(inner) is False:
            inner.operation = Operation.CREATE
        if inner.operation is Operation.HELP:
            # As Vault's ACL: help is always allowed to a valid token, sudo paths included (it
            # describes the path; the handler never runs).
            sudo = False
        else:
            sudo = self._check_acl(entry, request, inner.operation)
            if not sudo and is_root_path(inner.path, route.backend.root_paths):
                raise PermissionDenied("permission denied")
        inner.sudo = sudo
        inner.token_hash = entry.hash
        inner.display_name = entry.display_name
        inner.caller = caller_identity(entry, self.router)
        return entry, self.tokens.use(entry)
