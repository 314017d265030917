"""The token store: token records, their accessors and their parent/child tree.

A token is never stored. Its record lives at `id/<hmac>` where the HMAC is keyed by a random
salt that itself lives behind the barrier; accessors are indexed the same way. Lookups compare
hashes with `hmac.compare_digest`. Revoking a token revokes its subtree, leaves first; each token
is ended (expired now) first, then the revocation hooks (the lease manager's) run, then its
record goes (`_revoke_one` says why in that order).

Nothing about a token is kept in memory: every lookup reads its record, so a token revoked or
changed on one node is revoked or changed for the next request on every node. A change to a
stored token (a use, a renewal, a new parent) is a compare-and-set of its record (`update`):
two nodes spending uses of one token at once both count, and a change never brings back a
token revoked meanwhile.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import secrets
import string
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import cast

from awsbroker.core.token_roles import TokenRoles
from awsbroker.sdk.clock import Clock
from awsbroker.sdk.errors import InternalError, PermissionDenied
from awsbroker.sdk.expiry import KIND_TOKEN, ExpiryIndex
from awsbroker.sdk.logical import JSONObject
from awsbroker.sdk.records import change_existing, dump, get_record, put_record
from awsbroker.sdk.storage import Storage, list_recursive

_ALPHABET = string.ascii_letters + string.digits
SALT_KEY = "salt"
ROOT_PATH = "auth/token/root"
# `num_uses` of a token whose last use is being served; it is revoked when that request ends.
USES_EXHAUSTED = -1
# Expiring tokens indexed by the path that created them (`path/<token path>/<hash>`), for
# revocation by prefix (`sys/leases/revoke-prefix/auth/token/create/<role>`), as Vault's token
# leases allow.
PATH_INDEX = "path/"


def random_id(length: int = 24) -> str:
    """`length` characters drawn uniformly from `_ALPHABET` (62) by the OS's CSPRNG, in one read
    of it rather than one per character: a byte under 248 (4 x 62) picks one, the rest are
    dropped."""
    out: list[str] = []
    while len(out) < length:
        out += [_ALPHABET[b % 62] for b in secrets.token_bytes(length - len(out) + 8) if b < 248]
    return "".join(out[:length])


@dataclass
class TokenEntry:
    hash: str
    accessor: str
    policies: list[str]
    path: str
    display_name: str
    creation_time: float
    ttl: int = 0
    creation_ttl: int = 0
    explicit_max_ttl: int = 0
    period: int = 0
    renewable: bool = True
    num_uses: int = 0
    parent: str = ""
    meta: dict[str, str] | None = None
    last_renewal: float = 0.0
    expire_time: float = 0.0
    type: str = "service"
    # Of a token from an auth method's login: the uuid of the auth mount (indexed, so that
    # disabling the mount revokes it), the most its renewals may reach (seconds from creation;
    # 0: the server's max) and the client addresses it may be used from.
    mount_uuid: str = ""
    max_ttl: int = 0
    bound_cidrs: list[str] | None = None
    # What the login's method keeps for itself (`Auth.internal_data`), handed back at renewal.
    internal: JSONObject | None = None
    # The token role it was created against (`auth/token/create/<role>`), if any.
    role: str = ""

    @property
    def orphan(self) -> bool:
        return not self.parent

    @property
    def is_root(self) -> bool:
        return self.policies == ["root"]

    def remaining(self, now: float) -> int:
        return 0 if not self.expire_time else max(0, int(self.expire_time - now))

    def to_record(self) -> JSONObject:
        # Every field holds a JSON value and the record is encoded at once: no deep copy.
        return cast(JSONObject, dict(vars(self)))

    @classmethod
    def from_record(cls, record: JSONObject) -> TokenEntry:
        return cls(**record)  # type: ignore[arg-type]


RevokeHook = Callable[[TokenEntry], None]


def path_key(entry: TokenEntry) -> str:
    return f"{PATH_INDEX}{entry.path.strip('/')}/{entry.hash}"


def _orphan(entry: TokenEntry) -> None:
    entry.parent = ""


class TokenStore:
    """Persistence and tree logic for tokens. Policy and TTL rules live in `path_token.py`."""

    def __init__(self, storage: Storage, clock: Clock) -> None:
        self._storage = storage
        self.clock = clock
        self._salt = b""
        self._lock = threading.RLock()
        # Token roles live beside the tokens, in the same storage (`role/<name>`).
        self.roles = TokenRoles(storage)
        self.revoke_hooks: list[RevokeHook] = []
        # Expiring tokens are scheduled here so the expiry worker revokes them on time.
        self.index: ExpiryIndex | None = None

    def setup(self) -> None:
        """Load (or make, the first time) the salt. Called at every unseal. Of several nodes
        unsealed at once for the first time, one makes it and the others load it."""
        self._storage.compare_and_set(SALT_KEY, None, secrets.token_bytes(32))
        salt = self._storage.get(SALT_KEY)
        if salt is None:
            raise InternalError("the token salt vanished from storage")
        self._salt = salt

    def hash(self, value: str) -> str:
        return hmac.new(self._salt, value.encode(), hashlib.sha256).hexdigest()

    def new_token(self) -> str:
        return "hvs." + random_id(24)

    def _schedule(self, entry: TokenEntry) -> None:
        if self.index is not None and entry.expire_time:
            self.index.schedule(entry.hash, KIND_TOKEN, entry.expire_time)

    def create(self, entry: TokenEntry) -> None:
        key = f"id/{entry.hash}"
        if self._storage.get(key) is not None:
            raise ValueError("token already exists")
        # The expiry entry goes first: one without a token is dropped when due, while a token
        # without one would be revoked only when next looked up. So does the mount's index
        # entry: disabling the mount must find every token it created.
        self._schedule(entry)
        if entry.mount_uuid:
            self._storage.put(f"mount/{entry.mount_uuid}/{entry.hash}", b"")
        if entry.expire_time:
            # As Vault, where only a token with a TTL has a lease: a non-expiring (root) token
            # is not revoked by prefix.
            self._storage.put(path_key(entry), b"")
        if not self._storage.compare_and_set(key, None, dump(entry.to_record())):
            raise ValueError("token already exists")
        put_record(
            self._storage,
            f"accessor/{self.hash(entry.accessor)}",
            {"hash": entry.hash, "accessor": entry.accessor},
        )
        if entry.parent:
            self._storage.put(f"parent/{entry.parent}/{entry.hash}", b"")

    def update(self, token_hash: str, change: Callable[[TokenEntry], None]) -> TokenEntry | None:
        """Apply `change` to the stored token and store it, by compare-and-set. None if the
        token is gone: revoked, on any node, before or while this ran. `change` may raise to
        abort."""
        changed = change_existing(
            self._storage, f"id/{token_hash}", TokenEntry.from_record, TokenEntry.to_record, change
        )
        if changed is not None:
            self._schedule(changed)
        return changed

    def get_by_hash(self, token_hash: str) -> TokenEntry | None:
        """The live token with this hash. An expired token, or one whose parent is gone or
        expired, is revoked (with its subtree) and reads as None: children die with the parent.
        """
        record = get_record(self._storage, f"id/{token_hash}")
        if record is None:
            return None
        entry = TokenEntry.from_record(record)
        if entry.expire_time and entry.expire_time <= self.clock.now():
            self.revoke_tree(entry)
            return None
        if entry.parent and self.get_by_hash(entry.parent) is None:
            if self._storage.get(f"id/{entry.hash}") is not None:
                self.revoke_tree(entry)
            return None
        return entry

    def lookup(self, token: str) -> TokenEntry | None:
        if not token or not self._salt:
            return None
        token_hash = self.hash(token)
        entry = self.get_by_hash(token_hash)
        if entry is None or not hmac.compare_digest(entry.hash, token_hash):
            return None
        return entry

    def lookup_accessor(self, accessor: str) -> TokenEntry | None:
        if not accessor:
            return None
        record = get_record(self._storage, f"accessor/{self.hash(accessor)}")
        if record is None:
            return None
        return self.get_by_hash(str(record["hash"]))

    def accessors(self) -> list[str]:
        found: list[str] = []
        for key in self._storage.list("accessor/"):
            record = get_record(self._storage, f"accessor/{key}")
            if record is not None:
                found.append(str(record["accessor"]))
        return sorted(found)

    def use(self, entry: TokenEntry) -> bool:
        """Spend one use of a limited token. True when that was its last use.

        The count is spent by compare-and-set, so requests racing for a token's uses, on any
        nodes, are served exactly `num_uses` times in all: the others are refused.
        """
        if entry.num_uses == 0:
            return False

        def spend(current: TokenEntry) -> None:
            if current.num_uses <= 0:
                raise PermissionDenied("permission denied")
            current.num_uses -= 1
            if current.num_uses == 0:
                current.num_uses = USES_EXHAUSTED

        spent = self.update(entry.hash, spend)
        if spent is None:
            raise PermissionDenied("permission denied")
        last = spent.num_uses == USES_EXHAUSTED
        entry.num_uses = 0 if last else spent.num_uses
        return last

    def revoke_tree(self, entry: TokenEntry) -> None:
        """Revoke `entry` and every descendant, depth first, children before parents."""
        with self._lock:
            for child_hash in self._storage.list(f"parent/{entry.hash}/"):
                record = get_record(self._storage, f"id/{child_hash}")
                if record is not None:
                    self.revoke_tree(TokenEntry.from_record(record))
                self._storage.delete(f"parent/{entry.hash}/{child_hash}")
            self._revoke_one(entry)

    def revoke_orphan(self, entry: TokenEntry) -> None:
        """Revoke only `entry`; its children become orphans."""
        with self._lock:
            for child_hash in self._storage.list(f"parent/{entry.hash}/"):
                self.update(child_hash, _orphan)
                self._storage.delete(f"parent/{entry.hash}/{child_hash}")
            self._revoke_one(entry)

    def _revoke_one(self, entry: TokenEntry) -> None:
        """End the token, then revoke what it holds, then forget it.

        Ending it first (its expiry set to now, by compare-and-set, and scheduled) is what makes
        a request that registers a lease for it at the same moment, on any node, safe: such a
        request stores its lease and then looks the token up (`Core._register_lease`). If that
        look-up came before the end, the lease was stored before the end too, so the hooks
        below (which run after it) find it; if it came after, the request sees the token gone
        and revokes its own lease. A crash after the end leaves the token expired and due in
        the expiry index, so the worker finishes the revocation."""
        now = self.clock.now()

        def end(current: TokenEntry) -> None:
            if not current.expire_time or current.expire_time > now:
                current.expire_time = now

        self.update(entry.hash, end)
        for hook in self.revoke_hooks:
            hook(entry)
        self._storage.delete(f"accessor/{self.hash(entry.accessor)}")
        if entry.parent:
            self._storage.delete(f"parent/{entry.parent}/{entry.hash}")
        self._storage.delete(f"id/{entry.hash}")
        if entry.mount_uuid:
            self._storage.delete(f"mount/{entry.mount_uuid}/{entry.hash}")
        self._storage.delete(path_key(entry))
        if self.index is not None:
            self.index.unschedule(entry.hash)

    def revoke_mount(self, mount_uuid: str) -> int:
        """Revoke every token created through the auth mount `mount_uuid` (with its subtree and
        leases), as Vault revokes by the login path's prefix. Returns how many."""
        revoked = 0
        for token_hash in self._storage.list(f"mount/{mount_uuid}/"):
            record = get_record(self._storage, f"id/{token_hash}")
            if record is not None:
                self.revoke_tree(TokenEntry.from_record(record))
                revoked += 1
            self._storage.delete(f"mount/{mount_uuid}/{token_hash}")
        return revoked

    def _under(self, prefix: str) -> list[str]:
        """Index keys of the tokens created at `prefix` or below it (whole path segments: a
        role `r` is not a prefix of a role `r2`, as in Vault)."""
        base = prefix.strip("/")
        return list_recursive(self._storage, f"{PATH_INDEX}{base}/") if base else []

    def revoke_prefix(self, prefix: str) -> int:
        """Revoke (with subtrees and leases) every token created at a path under `prefix`.
        Returns how many."""
        revoked = 0
        for key in self._under(prefix):
            record = get_record(self._storage, f"id/{key.rsplit('/', 1)[1]}")
            if record is not None:
                self.revoke_tree(TokenEntry.from_record(record))
                revoked += 1
            self._storage.delete(key)
        return revoked

    def expire_prefix_now(self, prefix: str) -> None:
        """End every token created under `prefix` now: each reads as gone from this moment on
        every node, and the expiry worker revokes it and what it holds (`sync=false`)."""
        now = self.clock.now()

        def end(current: TokenEntry) -> None:
            if not current.expire_time or current.expire_time > now:
                current.expire_time = now

        for key in self._under(prefix):
            self.update(key.rsplit("/", 1)[1], end)

    def expire_now(self, entry: TokenEntry) -> None:
        """End one token now (a revocation with `sync=false`): it reads as gone from this
        moment on every node, and the expiry worker revokes it and what it holds."""
        now = self.clock.now()

        def end(current: TokenEntry) -> None:
            if not current.expire_time or current.expire_time > now:
                current.expire_time = now

        self.update(entry.hash, end)

    def list_path(self, prefix: str) -> list[str]:
        """What the path index holds right under `prefix` (a path ending in '/', or ''):
        deeper paths (ending in '/') and token hashes. Only expiring tokens are indexed."""
        return self._storage.list(f"{PATH_INDEX}{prefix}")

    def move_mount(self, mount_uuid: str, source: str, target: str) -> int:
        """The tokens of the auth mount `mount_uuid`, moved from the path `source` to `target`
        (`sys/remount`): each token's creation path (`auth/<source>login` becomes
        `auth/<target>login`), and its place in the path index. Safe to repeat after an
        interruption: each token is changed by compare-and-set, and the index follows it."""

        def move(current: TokenEntry) -> None:
            if current.path.startswith(source):
                current.path = target + current.path[len(source) :]

        def move_one(token_hash: str) -> bool:
            entry = self.update(token_hash, move)
            if entry is None or not entry.path.startswith(target):
                return False
            old = dataclasses.replace(entry, path=source + entry.path[len(target) :])
            if entry.expire_time:
                self._storage.put(path_key(entry), b"")
            self._storage.delete(path_key(old))
            return True

        # A few storage round trips a token: several at once (as the lease manager's renames).
        with ThreadPoolExecutor(8, thread_name_prefix="awsbroker-move") as pool:
            return sum(pool.map(move_one, self._storage.list(f"mount/{mount_uuid}/")))

    def tidy(self) -> int:
        """Drop index entries that point at tokens which no longer exist. Returns how many."""
        removed = 0
        for parent in self._storage.list("parent/"):
            for child in self._storage.list(f"parent/{parent}"):
                if self._storage.get(f"id/{child}") is None:
                    self._storage.delete(f"parent/{parent}{child}")
                    removed += 1
        for mount in self._storage.list("mount/"):
            for child in self._storage.list(f"mount/{mount}"):
                if self._storage.get(f"id/{child}") is None:
                    self._storage.delete(f"mount/{mount}{child}")
                    removed += 1
        for key in list_recursive(self._storage, PATH_INDEX):
            if self._storage.get(f"id/{key.rsplit('/', 1)[1]}") is None:
                self._storage.delete(key)
                removed += 1
        for key in self._storage.list("accessor/"):
            record = get_record(self._storage, f"accessor/{key}")
            if record is None or self._storage.get(f"id/{record['hash']}") is None:
                self._storage.delete(f"accessor/{key}")
                removed += 1
        return removed
