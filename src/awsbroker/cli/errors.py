"""What can go wrong in the CLI, and the exit status each gives (Vault's convention).

CLIError                 exit 1: a local problem (a file, an argument, the cache)
├── UsageError           exit 1: wrong flags or arguments; the command's usage follows
└── RemoteError          exit 2: the server could not be reached or answered an error
    ├── Unreachable      connection refused, TLS failure, timeout
    └── APIError         an HTTP status >= 400, with the server's `errors`
"""

from __future__ import annotations

LOCAL = 1
REMOTE = 2


class CLIError(Exception):
    exit_code = LOCAL

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message}\n\n{self.hint}" if self.hint else self.message


class UsageError(CLIError):
    pass


class RemoteError(CLIError):
    exit_code = REMOTE


class Unreachable(RemoteError):
    pass


class APIError(RemoteError):
    def __init__(
        self, method: str, url: str, status: int, errors: list[str], hint: str = ""
    ) -> None:
        lines = [f"Error making API request.\n\nURL: {method} {url}\nCode: {status}."]
        if errors:
            lines.append(" Errors:\n\n" + "\n".join(f"* {e}" for e in errors))
        super().__init__("".join(lines), hint)
        self.status = status
        self.errors = errors
