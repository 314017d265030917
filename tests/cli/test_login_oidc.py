"""`awsbroker login -method=oidc` end to end, with no person: the real command against a real
dev server whose `oidc` mount trusts a real OpenID provider on loopback (npm `oidc-provider`,
tests/support/oidc_provider.py, whose login and consent answer at once). BROWSER names a small
script that plays the browser: it fetches the URL the command opens and follows the provider's
redirects, which end at the command's own listener on loopback."""

from __future__ import annotations

import json
import re
import shlex
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import hvac
import pytest
from tests.support.cli import CLI
from tests.support.guide import ROOT
from tests.support.oidc_provider import OidcProvider
from tests.support.server import ROOT_TOKEN, ServerProcess, free_port

from awsbroker.cli import oidc_login

MOUNT = "oidc"
PORT = free_port()  # the command's listener in these tests (never Vault's 8250)
REDIRECT = f"http://localhost:{PORT}/oidc/callback"
WEB = {
    "client_id": "broker-cli",
    "client_secret": "broker-cli-secret",
    "redirect_uris": [REDIRECT],
    "account": "alice",
    "claims": {"email": "alice@example.com", "groups": ["admins", "ops"]},
}
BROWSER_SCRIPT = """\
#!{python}
import pathlib, sys, httpx
answer = httpx.get(sys.argv[1], follow_redirects=True, timeout=20)
pathlib.Path(sys.argv[0]).with_suffix(".page").write_text(f"{answer.status_code} {answer.text}")
"""


@pytest.fixture(scope="module")
def provider() -> Iterator[OidcProvider]:
    with OidcProvider(web=WEB) as p:
        yield p


@pytest.fixture(scope="module")
def oidc(
    dev: ServerProcess, provider: OidcProvider, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[hvac.Client]:
    home = tmp_path_factory.mktemp("admin")
    root = dev.client(ROOT_TOKEN)
    root.sys.enable_auth_method("oidc", path=MOUNT)
    try:
        root.auth.oidc.configure(
            oidc_discovery_url=provider.issuer,
            oidc_client_id=WEB["client_id"],
            oidc_client_secret=WEB["client_secret"],
            default_role="people",
            path=MOUNT,
        )
        # The guide's role, written with the command as the guide shows it.
        script = _fenced("oidc-cli-role").replace("\\\n", " ")
        admin = CLI(home, {"AWSBROKER_ADDR": dev.url, "AWSBROKER_TOKEN": ROOT_TOKEN})
        admin.ok(*shlex.split(script)[1:])
        # 127.0.0.1 too, for a test below (a loopback redirect may use any port).
        admin.ok(
            "write",
            f"auth/{MOUNT}/role/people",
            "allowed_redirect_uris=http://localhost:8250/oidc/callback,"
            "http://127.0.0.1:8250/oidc/callback",
        )
        yield root
    finally:
        root.sys.disable_auth_method(MOUNT)


@pytest.fixture
def person(dev: ServerProcess, tmp_path: Path) -> CLI:
    """The command for someone with no token yet, whose BROWSER is the script."""
    script = tmp_path / "browser.py"
    # One executable, no arguments: webbrowser runs BROWSER's value as a program name.
    script.write_text(BROWSER_SCRIPT.replace("{python}", sys.executable))
    script.chmod(0o755)
    return CLI(tmp_path / "home", {"AWSBROKER_ADDR": dev.url, "BROWSER": str(script)})


def test_a_person_logs_in_through_the_browser(
    oidc: hvac.Client, person: CLI, tmp_path: Path
) -> None:
    guide = shlex.split(_fenced("oidc-cli-login"))  # awsbroker login -method=oidc role=people
    result = person.run(*guide[1:], f"port={PORT}", "timeout=30s", "-format=json", timeout=60)
    assert result.returncode == 0, result.stderr
    assert "Launching browser to:" in result.stderr
    assert "Waiting for OIDC authentication to complete..." in result.stderr
    printed = json.loads(result.stdout)["auth"]
    token = Path(person.env["AWSBROKER_TOKEN_FILE"]).read_text().strip()
    assert printed["client_token"] == token
    assert printed["policies"] == ["default", "readers"]
    assert printed["metadata"] == {"groups": "admins,ops", "role": "people"}
    page = (tmp_path / "browser.page").read_text()
    assert page.startswith("200 ")
    assert "You may close this window" in page

    looked_up = json.loads(person.ok("token", "lookup", "-format=json"))["data"]  # the saved one
    assert looked_up["display_name"] == f"{MOUNT}-alice@example.com"
    assert looked_up["path"] == f"auth/{MOUNT}/oidc/callback"
    assert looked_up["policies"] == ["default", "readers"]


def test_the_table_output_is_the_token_logins(oidc: hvac.Client, person: CLI) -> None:
    result = person.run(
        "login", "-method=oidc", f"-path={MOUNT}", f"port={PORT}", "role=people", "timeout=30s"
    )
    assert result.returncode == 0, result.stderr
    assert "Success! You are now authenticated." in result.stdout
    assert "token_policies" in result.stdout
    assert "token_meta_groups" in result.stdout


def test_a_wrong_role_is_a_clear_error(oidc: hvac.Client, person: CLI) -> None:
    result = person.run("login", "-method=oidc", f"port={PORT}", "role=nobody")
    assert result.returncode == 2
    assert "role 'nobody' could not be found" in result.stderr
    assert "Traceback" not in result.stderr
    assert not Path(person.env["AWSBROKER_TOKEN_FILE"]).exists()


def test_a_person_who_never_returns_times_out_on_one_line(oidc: hvac.Client, person: CLI) -> None:
    """Also: while it waits, its listener is bound to 127.0.0.1 only (for `localhost`)."""
    port = free_port()
    process = _start(
        person, f"port={port}", "callbackhost=127.0.0.1", "skip_browser=true", "timeout=3s"
    )
    listening = _wait_listening(port, process)
    stdout, stderr = process.communicate(timeout=30)

    assert listening == ["127.0.0.1"]
    assert process.returncode == 2, stderr
    assert "Open the following link in your browser:" in stderr
    last = stderr.strip().splitlines()[-1]
    assert last == (
        f"timed out after 3s waiting for the OIDC provider to redirect to "
        f"http://127.0.0.1:{port}/oidc/callback"
    )
    assert "Traceback" not in stderr
    assert stdout == ""


def test_a_listener_on_another_address_is_refused(person: CLI) -> None:
    result = person.run("login", "-method=oidc", "listenaddress=0.0.0.0", f"port={PORT}")
    assert result.returncode == 1
    assert "listenaddress '0.0.0.0' is not a loopback address" in result.stderr


@pytest.mark.parametrize(
    ("argument", "message"),
    [
        ("port=http", "port must be a TCP port number (1-65535), not 'http'"),
        ("colour=blue", "unknown argument for -method=oidc: colour"),
        ("timeout=soon", "timeout must be a duration"),
        ("skip_browser=maybe", "invalid boolean value 'maybe' for skip_browser"),
    ],
)
def test_a_bad_argument_is_a_one_line_error(person: CLI, argument: str, message: str) -> None:
    result = person.run("login", "-method=oidc", argument)
    assert result.returncode == 1
    assert message in result.stderr


def _fenced(marker: str) -> str:
    """The guide's fenced block right after `<!-- marker -->`."""
    guide = (ROOT / "docs" / "auth-jwt.md").read_text()
    match = re.search(rf"<!-- {marker} -->\n```\w*\n(.*?)```\n", guide, re.S)
    assert match, marker
    return match[1]


def _wait_listening(port: int, process: subprocess.Popen[str]) -> list[str]:
    """The addresses with a TCP socket listening on `port` (Linux's /proc/net/tcp{,6})."""
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and process.poll() is None:
        found = _listening(port)
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError(f"nothing listened on port {port}")


def _listening(port: int) -> list[str]:
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        if not Path(table).exists():
            pytest.skip("no /proc/net/tcp: not Linux")
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, hex_port = local.split(":")
            if state == "0A" and int(hex_port, 16) == port:
                found.append(_address(address))
    return found


def _address(hex_address: str) -> str:
    if len(hex_address) == 8:
        return ".".join(str(b) for b in reversed(bytes.fromhex(hex_address)))
    return f"ipv6:{hex_address}"


def test_the_guide_lists_every_argument() -> None:
    """docs/auth-jwt.md's table of `key=value` arguments is the command's."""
    guide = (ROOT / "docs" / "auth-jwt.md").read_text()
    section = guide.split("### Logging in from a terminal", 1)[1].split("\n## ", 1)[0]
    documented = re.findall(r"^\| `(\w+)` \|", section, re.M)
    assert documented == list(oidc_login.KEYS)
    readme = (ROOT / "README.md").read_text()
    assert "#logging-in-from-a-terminal-awsbroker-login--methodoidc" in readme


def test_a_refusal_from_the_provider_ends_the_login(oidc: hvac.Client, person: CLI) -> None:
    """The provider redirects back with `error` (the person said no): the page says so, and
    the command exits 2 with the provider's words, saving nothing."""
    port = free_port()
    process = _start(person, f"port={port}", "skip_browser=true", "timeout=20s")
    _wait_listening(port, process)
    page = httpx.get(
        f"http://127.0.0.1:{port}/oidc/callback",
        params={"error": "access_denied", "error_description": "<b>no</b>"},
        timeout=10,
    )
    stdout, stderr = process.communicate(timeout=30)
    assert page.status_code == 400
    assert "&lt;b&gt;no&lt;/b&gt;" in page.text
    assert process.returncode == 2
    last = stderr.strip().splitlines()[-1]
    assert last == "the OIDC provider refused the login: access_denied: <b>no</b>"
    assert stdout == ""
    assert not Path(person.env["AWSBROKER_TOKEN_FILE"]).exists()


def test_a_port_in_use_is_a_one_line_error(person: CLI) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = person.run("login", "-method=oidc", f"port={port}", "listenaddress=127.0.0.1")
    assert result.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port} for the OIDC callback" in result.stderr
    assert "choose another with port=PORT" in result.stderr


def _start(person: CLI, *arguments: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [str(Path(sys.executable).parent / "awsbroker"), "login", "-method=oidc", *arguments],
        env=person.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
