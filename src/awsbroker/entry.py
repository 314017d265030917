"""The `awsbroker` console script: `server` starts a server; everything else is the client CLI."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args and args[0] == "server":
        from awsbroker.server.run import main as server_main

        return server_main(args[1:])
    from awsbroker.cli.main import main as cli_main

    return cli_main(args)


if __name__ == "__main__":
    sys.exit(main())
