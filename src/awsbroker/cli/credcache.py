"""The cache of `aws credential-process`: one file per (address, mount, role, options, token).

A credential is handed back only to the token that fetched it: another token, or a bogus one,
has its own file, and asks the server (which checks it). The file's name holds a hash of the
token, never the token, and the file holds only the credential.

A credential is reused until it nears its expiry: the refresh margin is a quarter of its
lifetime, at most 15 minutes. At 15 minutes, AWS SDKs (botocore's advisory window) ask again
exactly when the cached credential stops being handed out, so they get a fresh one at once.

The cache lives in `AWSBROKER_CACHE_DIR`, else `$XDG_CACHE_HOME/awsbroker`, else
`~/.cache/awsbroker`. The directory is made 0700 and each file 0600; a directory that another
user owns, or a file that others can read, is not used (the credential is fetched each time).
A lock file serialises processes that would fetch the same credential at once.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import stat
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from awsbroker.cli.settings import home

MAX_MARGIN = 15 * 60


def refresh_margin(lifetime: float) -> float:
    return min(MAX_MARGIN, max(lifetime, 0) / 4)


def fresh_enough(record: Mapping[str, Any], now: float) -> bool:
    issued, expires = record.get("issued_at"), record.get("expires_at")
    if not isinstance(issued, int | float) or not isinstance(expires, int | float):
        return False
    return expires - now > refresh_margin(expires - issued)


def cache_dir(env: Mapping[str, str]) -> Path:
    if env.get("AWSBROKER_CACHE_DIR"):
        return Path(env["AWSBROKER_CACHE_DIR"])
    base = Path(env["XDG_CACHE_HOME"]) if env.get("XDG_CACHE_HOME") else home(env) / ".cache"
    return base / "awsbroker"


class CacheUnsafe(Exception):
    """The cache directory cannot be used safely; the reason is the message."""


class CredentialCache:
    def __init__(self, directory: Path, key: Sequence[str], token: str) -> None:
        """`key` names the credential (address, mount, role, options); `token` fetches it."""
        self.directory = directory
        token_hash = hashlib.sha256(token.encode()).hexdigest()
        digest = hashlib.sha256(json.dumps([*key, token_hash]).encode()).hexdigest()[:32]
        self.path = directory / f"{digest}.json"
        self._lock_path = directory / f"{digest}.lock"

    def prepare(self) -> None:
        """Make the directory (0700) or check it; raise CacheUnsafe if it cannot be trusted."""
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        info = self.directory.lstat()
        if not stat.S_ISDIR(info.st_mode):
            raise CacheUnsafe(f"{self.directory} is not a directory")
        if info.st_uid != os.getuid():
            raise CacheUnsafe(f"{self.directory} belongs to another user")
        if info.st_mode & 0o077:
            os.chmod(self.directory, 0o700)

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        fd = os.open(self._lock_path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing releases the lock

    def load(self) -> dict[str, Any] | None:
        try:
            fd = os.open(self.path, os.O_RDONLY | os.O_NOFOLLOW)
        except OSError:
            return None
        with os.fdopen(fd, "rb") as handle:
            info = os.fstat(handle.fileno())
            if info.st_uid != os.getuid() or info.st_mode & 0o077:
                return None  # not ours, or readable by others: do not trust it
            try:
                record = json.loads(handle.read())
            except ValueError:
                return None
        return record if isinstance(record, dict) else None

    def store(self, record: Mapping[str, Any]) -> None:
        temporary = self.directory / f".{self.path.name}.{os.getpid()}.tmp"
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(record, handle)
            os.replace(temporary, self.path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                temporary.unlink()
            raise
