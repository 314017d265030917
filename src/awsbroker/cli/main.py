"""`awsbroker <command>`: find the command, parse its flags, run it, turn errors into exit codes.

Exit codes are Vault's: 0 success, 1 a local error (flags, arguments, files), 2 a remote error
(the server could not be reached or answered an error). `status` says otherwise, as Vault's:
0 unsealed, 2 sealed, 1 on any error (an unreachable server included).
"""

from __future__ import annotations

from collections.abc import Sequence

from awsbroker.cli import (
    cmd_audit,
    cmd_auth,
    cmd_aws,
    cmd_aws_console,
    cmd_aws_revoke_sessions,
    cmd_generate_root,
    cmd_lease,
    cmd_operator,
    cmd_paths,
    cmd_policy,
    cmd_rekey,
    cmd_secrets,
    cmd_token,
)
from awsbroker.cli.command import IO, Command, Context
from awsbroker.cli.errors import LOCAL, CLIError, UsageError
from awsbroker.cli.flags import parse, usage

HELP = frozenset({"-h", "-help", "--help"})


def commands() -> dict[str, Command]:
    table: dict[str, Command] = {}
    for module in (
        cmd_paths,
        cmd_operator,
        cmd_generate_root,
        cmd_rekey,
        cmd_lease,
        cmd_token,
        cmd_policy,
        cmd_secrets,
        cmd_auth,
        cmd_audit,
        cmd_aws,
        cmd_aws_console,
        cmd_aws_revoke_sessions,
    ):
        for command in module.commands():
            table[command.name] = command
    return table


def overview(table: dict[str, Command]) -> str:
    lines = ["Usage: awsbroker <command> [flags] [args]", "", "Commands:"]
    lines.append(f"  {'server':<22} Start a server (--dev for a throwaway one)")
    for name, command in table.items():
        summary = command.description.strip().splitlines()[0]
        lines.append(f"  {name:<22} {summary}")
    lines += ["", "Run `awsbroker <command> -h` for a command's flags."]
    return "\n".join(lines) + "\n"


def _find(table: dict[str, Command], argv: Sequence[str]) -> tuple[Command | None, list[str]]:
    if len(argv) >= 2 and f"{argv[0]} {argv[1]}" in table:
        return table[f"{argv[0]} {argv[1]}"], list(argv[2:])
    if argv and argv[0] in table:
        return table[argv[0]], list(argv[1:])
    return None, list(argv)


def _wants_help(command: Command, rest: list[str]) -> bool:
    if command.stop_after is not None:  # `aws exec ROLE cmd -h`: the -h is the command's
        return bool(rest) and rest[0] in HELP
    before_dashes = rest[: rest.index("--")] if "--" in rest else rest
    return any(a in HELP for a in before_dashes)


def main(argv: Sequence[str], io: IO | None = None) -> int:
    io = io or IO()
    table = commands()
    if not argv or argv[0] in HELP or argv[0] == "help":
        io.stdout.write(overview(table)) if argv else io.stderr.write(overview(table))
        return 0 if argv else LOCAL
    command, rest = _find(table, argv)
    if command is None:
        subs = [name.split()[1] for name in table if name.startswith(argv[0] + " ")]
        if subs:
            io.stderr.write(f"Usage: awsbroker {argv[0]} <{'|'.join(subs)}> [flags] [args]\n")
        else:
            io.stderr.write(f"Unknown command: {argv[0]!r}\n\n{overview(table)}")
        return LOCAL
    flags = command.all_flags()
    help_text = usage(command.synopsis, command.description, flags)
    if _wants_help(command, rest):
        io.stdout.write(help_text)
        return 0
    context: Context | None = None
    try:
        opts = parse(rest, flags, stop_after=command.stop_after)
        count = len(opts.args)
        if count < command.min_args or (command.max_args is not None and count > command.max_args):
            raise UsageError(_count_message(command, count))
        context = Context(io, opts)
        return command.run(context)
    except UsageError as exc:
        io.stderr.write(f"{exc}\n\n{help_text}")
        return exc.exit_code
    except CLIError as exc:
        io.stderr.write(f"{exc}\n")
        return exc.exit_code
    finally:
        if context is not None:
            context.close()


def _count_message(command: Command, count: int) -> str:
    wanted = command.min_args
    if command.max_args == wanted:
        return (
            f"Too {'few' if count < wanted else 'many'} arguments (expected {wanted}, got {count})"
        )
    if count < wanted:
        return f"Not enough arguments (expected at least {wanted}, got {count})"
    return f"Too many arguments (expected at most {command.max_args}, got {count})"
