"""The OS name of the calling thread (Linux `comm`, 15 bytes), as `top -H`, `ps -L` and
`/proc/<pid>/task/<tid>/comm` show it: Python 3.11 names its threads for Python only. The
server's own threads name themselves so that their CPU can be told apart from outside the
process (bench/issuance.py's breakdown by thread); a thread left unnamed keeps the process's."""

from __future__ import annotations

import ctypes
import sys

_PR_SET_NAME = 15


def name_os_thread(name: str) -> None:
    """Give the calling thread `name` (cut to 15 bytes) as its OS name; nothing off Linux or
    where libc cannot be loaded."""
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(None, use_errno=True)
    except OSError:
        return
    libc.prctl(_PR_SET_NAME, name.encode()[:15], 0, 0, 0)
