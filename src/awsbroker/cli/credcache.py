"""The cache of `aws credential-process`: one file per (address, mount, role, options, token).

A credential is handed back only to the token that fetched it: another token, or a bogus one,
has its own file, and asks the server (which checks it). The file's name holds a hash of the
token, never the token, and the file holds only the credential.

A credential is handed out from the cache only while more than 15 minutes of it are left
(`SDK_REFRESH_WINDOW`): botocore asks again once under 15 minutes are left (10 mandatory; the
JS v3 and Go v2 SDKs at 5), so a credential handed out with less would be asked for again at
once, by every call, and the cache would run the command for nothing (docs/sdk-credentials.md).
A credential whose whole lifetime is 15 minutes or less is never stored.

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

# botocore's advisory refresh window (`_DEFAULT_ADVISORY_REFRESH_TIMEOUT`), the widest of the
# AWS SDKs'; the server's `engines/aws/sdk_windows.py` holds the same number.
SDK_REFRESH_WINDOW = 15 * 60


def fresh_enough(record: Mapping[str, Any], now: float) -> bool:
    """Whether a cached credential may be handed out: more than the SDKs' window left."""
    expires = record.get("expires_at")
    if not isinstance(expires, int | float):
        return False
    return expires - now > SDK_REFRESH_WINDOW


def worth_caching(record: Mapping[str, Any]) -> bool:
    """Whether a new credential would ever be handed out from the cache."""
    issued, expires = record.get("issued_at"), record.get("expires_at")
    if not isinstance(issued, int | float) or not isinstance(expires, int | float):
        return False
    return expires - issued > SDK_REFRESH_WINDOW


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
