"""`aws console ROLE`: an AWS console sign-in URL of a role (issue 19 section 2), opened in the
browser (Python's `webbrowser`, which honours `BROWSER`) or printed with `-print`.

The URL signs whoever opens it in as the role's session for 15 minutes, so it is printed only
when asked for (or when no browser could be started), and never to the log.

`-reason` is sent as the read's `reason`, as `aws exec` and `aws credential-process` send it
(a role with `reason_required` needs it).
"""

from __future__ import annotations

import webbrowser

from awsbroker.cli.cmd_aws import reason_flag
from awsbroker.cli.command import Command, Context
from awsbroker.cli.errors import CLIError
from awsbroker.cli.flags import Flag
from awsbroker.cli.output import human_duration


def commands() -> list[Command]:
    return [
        Command(
            "aws console",
            "aws console [flags] ROLE",
            "Open the AWS console signed in as ROLE (an assumed_role or federation_token "
            "role), through the broker's aws/console/ROLE. -print prints the sign-in URL "
            "instead; whoever has it can sign in with it for 15 minutes.",
            open_console,
            [
                Flag("mount", "Where the AWS secrets engine is mounted", "aws", "PATH"),
                Flag("ttl", "Length of the console session (e.g. 4h; empty: the role's)", ""),
                Flag("destination", "Console URL to land on (e.g. https://...console/s3/)", ""),
                Flag("role-arn", "assumed_role with several ARNs: which one", "", "ARN"),
                reason_flag(),
                Flag("print", "Print the URL instead of opening a browser", False),
            ],
            prints=False,
            min_args=1,
            max_args=1,
        )
    ]


def open_console(ctx: Context) -> int:
    role = ctx.args[0]
    params = {
        name: ctx.opts.get_str(flag)
        for name, flag in (
            ("ttl", "ttl"),
            ("destination", "destination"),
            ("role_arn", "role-arn"),
            ("reason", "reason"),
        )
        if ctx.opts.get_str(flag)
    }
    mount = ctx.opts.get_str("mount").strip("/")
    body = ctx.client().request("GET", f"{mount}/console/{role}", params=params or None) or {}
    url = (body.get("data") or {}).get("url")
    if not isinstance(url, str) or not url:
        raise CLIError(f"{mount}/console/{role} answered without a sign-in URL")
    lease = (
        f"lease {body.get('lease_id', '')}, {human_duration(int(body.get('lease_duration') or 0))}"
    )
    if ctx.opts.get_bool("print"):
        ctx.io.stdout.write(url + "\n")
        ctx.io.stderr.write(f"awsbroker: console session of {role} ({lease})\n")
        return 0
    if webbrowser.open(url):
        ctx.io.stderr.write(f"awsbroker: opened the AWS console as {role} ({lease})\n")
        return 0
    ctx.io.stderr.write("awsbroker: no browser could be started; open this URL yourself:\n")
    ctx.io.stdout.write(url + "\n")
    return 0
