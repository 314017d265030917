"""The `awsbroker` console script: `server` starts a server; everything else is the client CLI."""

from __future__ import annotations

import signal
import sys


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args and args[0] == "server":
        from awsbroker.server.run import main as server_main  # noqa: PLC0415 - CLI starts fast

        return server_main(args[1:])
    from awsbroker.cli.main import main as cli_main  # noqa: PLC0415 - CLI starts fast

    if argv is None and hasattr(signal, "SIGPIPE"):
        # The command as a program: a reader that stops early (`awsbroker read ... | head`)
        # ends it quietly, as it does `vault` and coreutils, not with a BrokenPipeError.
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    return cli_main(args)


if __name__ == "__main__":
    sys.exit(main())
