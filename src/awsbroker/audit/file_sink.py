"""The `file` device's sink: append lines to a file, or to stdout, or nowhere (`discard`).

The file is opened on first use with `mode` (default 0600) and kept open. `reopen()` (SIGHUP)
makes the next write open the path again, so a rotated file is let go. A file that was deleted
while open is never written to (the lines would be lost without an error): the next write
opens the path again, and fails if it cannot. The directory must exist; nothing is created
but the file.
"""

from __future__ import annotations

import os
import stat
import sys
import threading
from collections.abc import Mapping

from awsbroker.sdk.errors import InvalidRequest

STDOUT = "stdout"
DISCARD = "discard"
DEFAULT_MODE = 0o600


class FileSink:
    def __init__(self, path: str, mode: int = DEFAULT_MODE) -> None:
        self.path = path
        self.mode = mode
        self._fd: int | None = None
        self._reopen = False
        self._lock = threading.Lock()

    @classmethod
    def from_options(cls, options: Mapping[str, str]) -> FileSink:
        path = options.get("file_path") or options.get("path") or ""
        if not path:
            raise InvalidRequest("file_path is required")
        raw_mode = options.get("mode", "")
        try:
            mode = int(raw_mode, 8) if raw_mode else DEFAULT_MODE
        except ValueError:
            raise InvalidRequest(
                f"unable to parse 'mode': {raw_mode!r} (octal, e.g. 0600)"
            ) from None
        if not 0 <= mode <= 0o777:
            raise InvalidRequest(f"'mode' {raw_mode!r} is not a file mode (e.g. 0600)")
        return cls(path, mode)

    def write(self, line: bytes) -> None:
        if self.path == DISCARD:
            return
        if self.path == STDOUT:
            sys.stdout.write(line.decode("utf-8", "replace"))
            sys.stdout.flush()
            return
        with self._lock:
            fd = self._open()
            written = os.write(fd, line)
            if written != len(line):
                raise OSError(f"short write to {self.path}: {written} of {len(line)} bytes")

    def reopen(self) -> None:
        self._reopen = True

    def close(self) -> None:
        with self._lock:
            self._close()

    def _open(self) -> int:
        if self._fd is not None and (self._reopen or os.fstat(self._fd).st_nlink == 0):
            self._close()
        self._reopen = False
        if self._fd is None:
            flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC
            fd = os.open(self.path, flags, self.mode)
            try:
                # An existing file gets the device's mode; a device node (/dev/...) is not ours.
                if self.mode and stat.S_ISREG(os.fstat(fd).st_mode):
                    os.fchmod(fd, self.mode)
            except OSError:
                os.close(fd)
                raise
            self._fd = fd
        return self._fd

    def _close(self) -> None:
        if self._fd is not None:
            fd, self._fd = self._fd, None
            os.close(fd)
