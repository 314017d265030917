"""The console's files as `http/ui.py` serves them: from the package, each under the CSP,
the page for any other path under /ui/, nothing that is not GET or HEAD."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from awsbroker.http import ui
from awsbroker.http.sites import SitePolicy

SHIPPED = ("index.html", "app.js", "style.css", "favicon.svg")


@pytest.mark.parametrize(
    ("name", "media_type"),
    [
        ("index.html", "text/html"),
        ("app.js", "text/javascript"),
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
    script = ui.serve("GET", "/ui/app.js").body.decode()
    assert "innerHTML" not in script
    assert not re.search(r"https?://", script)
    assert "localStorage" not in script
    assert "document.cookie" not in script


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
