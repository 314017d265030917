"""What every command is: a name, its usage, its flags and a function of a `Context`."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TextIO

from awsbroker.cli.client import Client
from awsbroker.cli.flags import Flag, Parsed
from awsbroker.cli.output import Output, output_flags
from awsbroker.cli.settings import Settings, connection_flags, resolve


@dataclass
class IO:
    """The process's environment and streams; tests pass their own."""

    env: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    stdin: TextIO = field(default_factory=lambda: sys.stdin)
    stdout: TextIO = field(default_factory=lambda: sys.stdout)
    stderr: TextIO = field(default_factory=lambda: sys.stderr)


@dataclass
class Context:
    io: IO
    opts: Parsed
    _client: Client | None = None

    @property
    def args(self) -> list[str]:
        return self.opts.args

    @property
    def settings(self) -> Settings:
        return resolve(self.io.env, self.opts)

    def client(self) -> Client:
        if self._client is None:
            self._client = Client(self.settings)
        return self._client

    def output(self) -> Output:
        fmt = self.opts.values.get("format") or ""
        if not fmt:
            fmt = self.io.env.get("AWSBROKER_FORMAT") or self.io.env.get("VAULT_FORMAT") or ""
        field_name = self.opts.values.get("field") or ""
        return Output(str(fmt or "table").lower(), str(field_name), self.io.stdout, self.io.stderr)

    def close(self) -> None:
        if self._client is not None:
            self._client.close()


Run = Callable[[Context], int]


@dataclass(frozen=True)
class Command:
    name: str  # "read", "lease renew"
    synopsis: str  # what follows "awsbroker "
    description: str
    run: Run
    flags: Sequence[Flag] = ()
    # API commands get -address, -ca-cert and -tls-skip-verify; printing ones -format, -field.
    api: bool = True
    prints: bool = True
    min_args: int = 0
    max_args: int | None = None
    # Everything after this many positional arguments is positional too (`aws exec`).
    stop_after: int | None = None

    def all_flags(self) -> list[Flag]:
        connection = connection_flags() if self.api else []
        printing = output_flags() if self.prints else []
        return [*self.flags, *connection, *printing]
