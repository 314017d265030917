"""The console's files as `http/ui.py` serves them: from the package, each under the CSP,
the page for any other path under /ui/, nothing that is not GET or HEAD."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from awsbroker.http import ui
from awsbroker.http.sites import SitePolicy

SCRIPTS = (
    "app.js",
    "api.js",
    "aws.js",
    "credentials.js",
    "dom.js",
    "leases.js",
    "mounts.js",
    "operator.js",
    "session.js",
    "signin.js",
)
SHIPPED = ("index.html", "style.css", "favicon.svg", *SCRIPTS)


@pytest.mark.parametrize(
    ("name", "media_type"),
    [
        ("index.html", "text/html"),
        *((name, "text/javascript") for name in SCRIPTS),
        ("style.css", "text/css"),
        ("favicon.svg", "image/svg+xml"),
    ],
)
def test_each_file_is_served_with_its_type_and_the_csp(name: str, media_type: str) -> None:
    answer = ui.serve("GET", f"/ui/{name}")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith(media_type)
    assert answer.headers["content-security-policy"] == ui.CSP
    assert answer.headers["cache-control"] == "no-store"


def test_other_paths_get_the_page_and_other_methods_a_405() -> None:
    page = ui.serve("GET", "/ui/")
    assert ui.serve("GET", "/ui/oidc/callback").body == page.body
    assert ui.serve("GET", "/ui/../v1/sys/health").body == page.body
    head = ui.serve("HEAD", "/ui/app.js")
    assert head.body == b""
    assert head.headers["content-length"] == str(len(ui.serve("GET", "/ui/app.js").body))
    refused = ui.serve("POST", "/ui/")
    assert refused.status_code == 405
    assert refused.headers["content-security-policy"] == ui.CSP
    assert ui.is_ui("/ui")
    assert ui.is_ui("/ui/x")
    assert not ui.is_ui("/uix")


def test_the_page_loads_nothing_from_elsewhere_and_runs_no_inline_code() -> None:
    html = ui.serve("GET", "/ui/").body.decode()
    assert "<script>" not in html  # only <script type="module" src="/ui/app.js">
    assert re.findall(r'(?:src|href)="([^"#]+)"', html) == [
        "/ui/style.css",
        "/ui/favicon.svg",
        "/ui/app.js",
    ]
    assert not re.search(r"\son\w+=", html)  # no inline event handlers
    for name in SCRIPTS:
        script = ui.serve("GET", f"/ui/{name}").body.decode()
        assert "innerHTML" not in script, name
        assert "outerHTML" not in script, name
        assert "insertAdjacentHTML" not in script, name
        assert not re.search(r"https?://", script), name
        assert "localStorage" not in script, name
        assert "document.cookie" not in script, name
        # Each module imports only its neighbours, by a relative path the page's origin serves.
        for imported in re.findall(r'from "([^"]+)"', script):
            assert imported.startswith("./"), (name, imported)
            assert imported[2:] in SCRIPTS, (name, imported)


def test_the_files_ship_in_the_package() -> None:
    """pyproject's package-data names the folder, so a wheel carries the console."""
    pyproject = tomllib.loads((Path(__file__).parents[3] / "pyproject.toml").read_text())
    assert "http/ui/*" in pyproject["tool"]["setuptools"]["package-data"]["awsbroker"]
    folder = Path(ui.__file__).parent / "ui"
    assert sorted(p.name for p in folder.iterdir()) == sorted(SHIPPED)


def test_the_console_answers_only_the_hosts_the_listener_answers_to() -> None:
    sites = SitePolicy(hosts=["broker.example"])

    def scope(host: str) -> dict[str, object]:
        headers = [(b"host", host.encode())]
        return {"type": "http", "method": "GET", "path": "/ui/", "headers": headers}

    assert ui.answer(scope("broker.example:8200"), sites).status_code == 200
    refused = ui.answer(scope("rebound.example"), sites)
    assert refused.status_code == 421
    assert refused.headers["content-security-policy"] == ui.CSP


def test_the_page_carries_the_configured_idle_time_and_no_marker() -> None:
    """`ui_idle_timeout` reaches the page in a <meta> (no inline script: the CSP holds)."""
    default = ui.serve("GET", "/ui/").body.decode()
    assert '<meta name="awsbroker-idle-seconds" content="900">' in default
    tuned = ui.serve("GET", "/ui/leases", ui.Console(idle_seconds=300)).body.decode()
    assert '<meta name="awsbroker-idle-seconds" content="300">' in tuned
    assert ui.IDLE_MARKER.decode() not in tuned
    head = ui.serve("HEAD", "/ui/", ui.Console(idle_seconds=300))
    assert head.headers["content-length"] == str(len(tuned.encode()))


def test_a_console_turned_off_answers_404_everywhere_under_ui() -> None:
    off = ui.Console(enabled=False)
    sites = SitePolicy()
    for path in ("/ui", "/ui/", "/ui/app.js", "/ui/oidc/callback"):
        scope = {"type": "http", "method": "GET", "path": path, "headers": []}
        answer = ui.answer(scope, sites, off)
        assert answer.status_code == 404, path
        assert b"awsbroker" not in answer.body
        for name, value in ui.SECURITY_HEADERS.items():
            assert answer.headers[name] == value, (path, name)
