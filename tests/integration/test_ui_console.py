"""The web console at `/ui/` in a real browser: Debian's Chromium driven by Playwright.

One dev server, one moto (behind the recording proxy), one OpenID provider and one browser for
the whole module; each test opens its own browser context (a fresh tab with empty storage).
Every request the browser makes is watched: one to anywhere but 127.0.0.1 is aborted and
fails the module. Screenshots of each page at desktop and phone width go to
`build/ui-screenshots/` (or `$AWSBROKER_UI_SCREENSHOTS`), and axe-core checks each page.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import hvac
import pytest
from tests.integration.aws.support import AWSWorld, configure, fresh_mount
from tests.support import browser as support
from tests.support.aws_proxy import AWSProxy
from tests.support.federation_stand_in import FederationStandIn
from tests.support.moto_server import MotoServer, bootstrap_admin
from tests.support.oidc_provider import OidcProvider
from tests.support.reliability import add_revocation_block
from tests.support.server import ServerFactory, ServerProcess

support.require_playwright()
from playwright.sync_api import (  # noqa: E402 - only once the package is known to be there
    Browser,
    BrowserContext,
    Page,
    Playwright,
    Route,
    expect,
    sync_playwright,
)
from playwright.sync_api import Error as PlaywrightError  # noqa: E402

DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
SHOTS = Path(os.environ.get("AWSBROKER_UI_SCREENSHOTS", "build/ui-screenshots"))
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; font-src 'self'; manifest-src 'self'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'; object-src 'none'"
)
S3_READ = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}],
    }
)
# Each credential type, by role name.
ROLES = {
    "dev-user": "iam_user",
    "deploy": "assumed_role",
    "fed": "federation_token",
    "session": "session_token",
}
STS_ACTIONS = {"federation_token": "GetFederationToken", "session_token": "GetSessionToken"}
USER_POLICY = """
path "aws/roles" { capabilities = ["list"] }
path "aws/roles/*" { capabilities = ["read"] }
path "aws/creds/*" { capabilities = ["read", "update"] }
path "aws/sts/*" { capabilities = ["read", "update"] }
"""
FED_ONLY = """
path "aws/sts/fed" { capabilities = ["update"] }
"""
OIDC_WEB = {
    "client_id": "console",
    "client_secret": "console-secret",
    "account": "alice",
    "claims": {"email": "alice@example.com"},
}


# ---- the world -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def aws(moto: MotoServer, proxy: AWSProxy, root_client: hvac.Client) -> Iterator[AWSWorld]:
    """`aws/` configured against moto (auth on), with one role of each credential type."""
    fresh_mount(root_client, "aws")
    moto.disable_auth()
    moto.reset()
    access_key, secret_key = bootstrap_admin(moto.endpoint)
    moto.enable_auth()
    world = AWSWorld(moto, proxy, access_key, secret_key)
    configure(root_client, world)
    arn = world.create_role("deployer")
    root_client.write("aws/roles/dev-user", credential_type="iam_user", policy_document=S3_READ)
    root_client.write("aws/roles/deploy", credential_type="assumed_role", role_arns=[arn])
    root_client.write("aws/roles/fed", credential_type="federation_token", policy_document=S3_READ)
    root_client.write("aws/roles/session", credential_type="session_token")
    root_client.sys.create_or_update_policy("aws-user", USER_POLICY)
    root_client.sys.create_or_update_policy("fed-only", FED_ONLY)
    try:
        yield world
    finally:
        world.close()


@pytest.fixture(scope="module")
def provider(dev_server: ServerProcess) -> Iterator[OidcProvider]:
    web = {**OIDC_WEB, "redirect_uris": [f"{dev_server.url}/ui/oidc/callback"]}
    with OidcProvider(web=web) as p:
        yield p


@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    support.require_chromium()
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="module")
def outside() -> list[str]:
    """Requests the browser tried to make to anywhere but loopback (aborted)."""
    return []


@pytest.fixture(scope="module")
def chromium(playwright: Playwright, outside: list[str]) -> Iterator[Browser]:
    browser = playwright.chromium.launch(
        executable_path=str(support.CHROMIUM), args=support.CHROMIUM_ARGS
    )
    try:
        yield browser
    finally:
        browser.close()
    assert outside == [], f"the console made requests off loopback: {outside}"


@pytest.fixture
def context(
    chromium: Browser, dev_server: ServerProcess, outside: list[str]
) -> Iterator[BrowserContext]:
    context = chromium.new_context(
        base_url=dev_server.url,
        viewport=DESKTOP,  # type: ignore[arg-type]
        permissions=["clipboard-read", "clipboard-write"],
    )

    def guard(route: Route) -> None:
        host = urlsplit(route.request.url).hostname
        if route.request.url.startswith(("data:", "blob:")) or host == "127.0.0.1":
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    context.route("**/*", guard)
    try:
        yield context
    finally:
        context.close()


@pytest.fixture
def page(context: BrowserContext) -> Page:
    page = context.new_page()
    page.set_default_timeout(15_000)
    return page


def token_for(root: hvac.Client, *policies: str, **options: Any) -> str:
    created = root.auth.token.create(policies=list(policies), **options)
    token: str = created["auth"]["client_token"]
    return token


def sign_in(page: Page, token: str, server: str = "") -> None:
    """Sign in with `token` at the module's dev server, or at the server whose URL is `server`."""
    page.goto(f"{server}/ui/")
    page.get_by_label("Token").fill(token)
    page.get_by_role("button", name="Sign in with a token").click()
    expect(page.get_by_role("heading", name="My credentials")).to_be_visible()


def card(page: Page, role: str) -> Any:
    return page.get_by_role("article", name=role, exact=True)


def issue(page: Page, role: str, ttl: str = "") -> dict[str, str]:
    """Press "Get credentials" on `role`'s card; the `export` lines, parsed."""
    box = card(page, role)
    if ttl:
        box.get_by_label("TTL (STS types)").fill(ttl)
    box.get_by_role("button", name="Get credentials").click()
    block = box.locator("pre[data-format=export]")
    expect(block).to_be_visible()
    values: dict[str, str] = {}
    for line in block.inner_text().splitlines():
        if line.startswith("export "):
            key, _, value = line.removeprefix("export ").partition("=")
            values[key] = value
    return values


def shoot(page: Page, name: str) -> None:
    """Screenshots at desktop and phone width; at phone width nothing scrolls sideways."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    for label, size in (("desktop", DESKTOP), ("phone", PHONE)):
        page.set_viewport_size(size)  # type: ignore[arg-type]
        page.screenshot(path=str(SHOTS / f"{name}-{label}.png"), full_page=True)
        if label == "phone":
            overflow = page.evaluate(
                "document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            assert overflow <= 0, f"{name} scrolls sideways at phone width by {overflow}px"
    page.set_viewport_size(DESKTOP)  # type: ignore[arg-type]


def check_accessibility(page: Page) -> None:
    """axe-core, injected by the test (the console never loads it): no serious violations."""
    # Evaluated through the DevTools protocol: the page's own CSP (rightly) refuses inline
    # scripts, which a <script> tag of it would be.
    page.evaluate(support.axe_script() + "\n;undefined")
    result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    serious = [
        (v["id"], v["help"], [n["target"] for n in v["nodes"]][:3])
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    assert serious == []


# ---- the page itself ----------------------------------------------------------------------


def test_the_page_is_served_with_a_strict_csp(page: Page, dev_server: ServerProcess) -> None:
    answer = page.goto("/ui/")
    assert answer is not None
    assert answer.status == 200
    headers = answer.headers
    assert headers["content-security-policy"] == CSP
    assert headers["x-frame-options"] == "DENY"
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "no-referrer"
    script = page.request.get("/ui/app.js")
    assert script.headers["content-security-policy"] == CSP
    assert script.headers["content-type"].startswith("text/javascript")
    # A deep link (the OIDC callback) is the page too; /ui without the slash redirects.
    assert page.request.get("/ui/some/where").text() == page.request.get("/ui/").text()
    moved = page.request.get("/ui", max_redirects=0)
    assert (moved.status, moved.headers["location"]) == (308, "/ui/")
    assert page.request.post("/ui/").status == 405
    with pytest.raises(PlaywrightError, match="Content Security Policy"):
        page.add_script_tag(content="window.injected = true")
    assert page.evaluate("window.injected") is None


def test_a_bad_token_is_refused_in_words(page: Page) -> None:
    page.goto("/ui/")
    page.get_by_label("Token").fill("not-a-token")
    page.get_by_role("button", name="Sign in with a token").click()
    expect(page.get_by_role("alert")).to_contain_text("That token is not valid")
    shoot(page, "sign-in")
    check_accessibility(page)


# ---- credentials -------------------------------------------------------------------------


def test_each_credential_type_works_against_aws(
    page: Page, aws: AWSWorld, root_client: hvac.Client
) -> None:
    sign_in(page, token_for(root_client, "aws-user"))
    for role, kind in ROLES.items():
        expect(card(page, role)).to_contain_text(kind)
        keys = issue(page, role, ttl="" if kind == "iam_user" else "15m")
        session = keys.get("AWS_SESSION_TOKEN")
        if kind == "iam_user":
            assert session is None
            assert keys["AWS_ACCESS_KEY_ID"].startswith("AKIA")
        else:
            assert session
        if kind in ("iam_user", "assumed_role"):
            identity = aws.sts(keys["AWS_ACCESS_KEY_ID"], keys["AWS_SECRET_ACCESS_KEY"], session)
            assert identity.get_caller_identity()["Account"] == "123456789012", role
        else:  # moto does not authenticate these: the broker's call to STS is the proof
            assert aws.calls(STS_ACTIONS[kind])[-1].status == 200
        box = card(page, role)
        process = json.loads(box.locator("pre[data-format=process]").inner_text())
        assert process["Version"] == 1
        assert process["AccessKeyId"] == keys["AWS_ACCESS_KEY_ID"]
        profile = box.locator("pre[data-format=profile]").inner_text().splitlines()
        assert profile[0] == f"[{role}]"
        assert f"aws_secret_access_key = {keys['AWS_SECRET_ACCESS_KEY']}" in profile
        expect(box).to_contain_text("Expires in")
        if kind != "iam_user":
            expect(box.locator(".issued .countdown")).to_have_text(re.compile(r"^1[45]m \d\ds$"))
    shoot(page, "credentials")
    check_accessibility(page)


def test_the_export_block_copies_to_the_clipboard(
    page: Page, aws: AWSWorld, root_client: hvac.Client
) -> None:
    sign_in(page, token_for(root_client, "aws-user"))
    issue(page, "fed", ttl="15m")
    box = card(page, "fed")
    box.get_by_role("button", name="Copy export lines").click()
    expect(page.get_by_role("status")).to_contain_text("copied")
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied == box.locator("pre[data-format=export]").inner_text()
    assert copied.startswith("export AWS_ACCESS_KEY_ID=")
    assert "\nexport AWS_SESSION_TOKEN=" in copied


def test_a_limited_token_sees_only_its_roles(
    page: Page, aws: AWSWorld, root_client: hvac.Client
) -> None:
    sign_in(page, token_for(root_client, "fed-only"))
    expect(card(page, "fed")).to_contain_text("settings are not shown")
    # The role may require a reason: the field is offered, not required.
    expect(card(page, "fed").get_by_label("Reason (optional)")).to_be_visible()
    expect(page.get_by_role("article")).to_have_count(1)
    expect(page.get_by_role("button", name="Operator")).to_have_count(0)
    keys = issue(page, "fed", ttl="15m")
    assert keys["AWS_SESSION_TOKEN"]


def test_the_page_works_from_the_keyboard_alone(
    page: Page, aws: AWSWorld, root_client: hvac.Client
) -> None:
    page.goto("/ui/")
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    tab_to(page, page.get_by_label("Token"))
    page.keyboard.type(token_for(root_client, "aws-user"))
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="My credentials")).to_be_visible()
    box = card(page, "fed")
    tab_to(page, box.get_by_role("button", name="Get credentials"))
    page.keyboard.press("Enter")
    expect(box.locator("pre[data-format=export]")).to_be_visible()
    # Focus moves to the first copy button, and the result is announced.
    expect(box.get_by_role("button", name="Copy export lines")).to_be_focused()
    expect(page.get_by_role("status")).to_contain_text("Credentials for fed issued")


def tab_to(page: Page, target: Any, limit: int = 60) -> None:
    for _ in range(limit):
        if target.evaluate("node => node === document.activeElement"):
            return
        page.keyboard.press("Tab")
    pytest.fail(f"{target} is not reachable with Tab")


# ---- leases -----------------------------------------------------------------------------------


def test_a_lease_is_renewed_and_revoked_from_the_page(
    page: Page, aws: AWSWorld, root_client: hvac.Client, dev_server: ServerProcess
) -> None:
    token = token_for(root_client, "aws-user")
    lease_id = dev_server.client(token).read("aws/creds/dev-user")["lease_id"]
    sign_in(page, token)
    page.get_by_role("button", name="Leases").click()
    row = page.get_by_role("row").filter(has_text=lease_id)
    expect(row).to_contain_text("not given")  # the reason column: none was sent
    shoot(page, "leases")
    check_accessibility(page)

    other = token_for(root_client, "aws-user")  # another token sees and revokes none of it
    assert dev_server.client(other).read("sys/leases/self")["data"]["leases"] == []
    refused = dev_server.request(
        "POST", "sys/leases/self/revoke", other, json={"lease_id": lease_id}
    )
    assert refused.status_code == 400

    before = root_client.sys.read_lease(lease_id)["data"]["last_renewal"]
    row.get_by_role("button", name=f"Renew {lease_id}").click()
    expect(page.get_by_role("status")).to_contain_text("Renewed")
    assert root_client.sys.read_lease(lease_id)["data"]["last_renewal"] != before

    row.get_by_role("button", name=f"Revoke {lease_id}").click()
    expect(page.get_by_text("This token holds no leases.")).to_be_visible()
    with pytest.raises(hvac.exceptions.InvalidRequest):
        root_client.sys.read_lease(lease_id)


def test_an_operator_filters_every_lease_by_mount_role_and_prefix(
    page: Page, aws: AWSWorld, root_client: hvac.Client, dev_server: ServerProcess
) -> None:
    other = dev_server.client(token_for(root_client, "aws-user"))
    user_lease = other.read("aws/creds/dev-user")["lease_id"]
    fed_lease = other.write("aws/sts/fed", ttl="15m")["lease_id"]
    root_client.sys.enable_secrets_engine("aws", path="ui-leases")
    try:
        configure(root_client, aws, mount="ui-leases")
        root_client.write(
            "ui-leases/roles/elsewhere",
            credential_type="federation_token",
            policy_document=S3_READ,
        )
        elsewhere = root_client.write("ui-leases/sts/elsewhere", ttl="15m")["lease_id"]
        sign_in(page, token_for(root_client, "root"))
        page.get_by_role("button", name="Operator").click()
        leases = page.get_by_role("region", name="All leases")
        rows = leases.get_by_role("row")
        # aws/ first: both roles' leases (creds/ and sts/), none of the other mount's.
        expect(leases.get_by_label("Mount")).to_have_value("aws/")
        expect(rows.filter(has_text=user_lease)).to_contain_text("dev-user (creds)")
        expect(rows.filter(has_text=fed_lease)).to_contain_text("fed (sts)")
        expect(rows.filter(has_text=elsewhere)).to_have_count(0)
        # The role filter: fed's leases only.
        leases.get_by_label("Role").select_option("fed")
        expect(rows.filter(has_text=user_lease)).to_have_count(0)
        expect(rows.filter(has_text=fed_lease)).to_be_visible()
        assert all("aws/sts/fed/" in text for text in rows.all_inner_texts()[1:])
        # The prefix filter, over every role again.
        leases.get_by_label("Role").select_option("")
        leases.get_by_label("Lease ID prefix").fill("aws/creds/")
        expect(rows.filter(has_text=fed_lease)).to_have_count(0)
        expect(rows.filter(has_text=user_lease)).to_be_visible()
        assert all(text.startswith("aws/creds/") for text in rows.all_inner_texts()[1:])
        leases.get_by_label("Lease ID prefix").fill(user_lease)
        expect(rows).to_have_count(2)  # the header and the one lease
        leases.get_by_label("Lease ID prefix").fill("aws/nothing/")
        expect(leases).to_contain_text("No leases match these filters.")
        leases.get_by_label("Lease ID prefix").fill("")
        # The mount filter: the other mount's lease, and only its.
        leases.get_by_label("Mount").select_option("ui-leases/")
        expect(rows.filter(has_text=elsewhere)).to_contain_text("elsewhere (sts)")
        expect(rows.filter(has_text=user_lease)).to_have_count(0)
        expect(rows.filter(has_text=fed_lease)).to_have_count(0)
        leases.get_by_label("Mount").select_option("aws/")
        row = rows.filter(has_text=user_lease)
        row.get_by_role("button", name=f"Look up {user_lease}").click()
        looked_up = page.get_by_label(f"Lease {user_lease}")
        expect(looked_up).to_contain_text("Renewable")
        expect(looked_up).to_contain_text("not given")  # no reason was sent for this one
        expect(page.get_by_text("No irrevocable leases.")).to_be_visible()
        shoot(page, "operator")
        check_accessibility(page)
        row.get_by_role("button", name=f"Revoke {user_lease}").click()
        expect(rows.filter(has_text=user_lease)).to_have_count(0)
        expect(rows.filter(has_text=fed_lease)).to_be_visible()
    finally:
        root_client.sys.revoke_lease(fed_lease)
        root_client.sys.disable_secrets_engine("ui-leases")


def test_an_irrevocable_lease_is_listed_with_its_last_error(
    page: Page, aws: AWSWorld, servers: ServerFactory
) -> None:
    """A server of its own, whose expiry worker gives up after one failed revocation: an
    `iam_user` lease of one second, and IAM answering every DeleteUser with a 503."""
    server = servers.sqlite(start=False)
    add_revocation_block(server, max_attempts=1, initial_backoff="1s", max_backoff="1s")
    server.start()
    root_token = server.init_and_unseal().root_token
    root = server.client(root_token)
    root.sys.enable_secrets_engine("aws", path="aws")
    configure(root, aws)
    root.write("aws/config/lease", lease="1s", lease_max="5s")
    root.write("aws/roles/doomed", credential_type="iam_user", policy_document=S3_READ)
    aws.proxy.inject("DeleteUser", 503, "ServiceUnavailable", "Service is unavailable.")
    try:
        lease_id = root.read("aws/creds/doomed")["lease_id"]
        listed: list[dict[str, Any]] = []
        deadline = time.monotonic() + 30
        while not listed and time.monotonic() < deadline:
            time.sleep(0.5)
            answer = server.request("GET", "sys/leases", root_token, params={"type": "irrevocable"})
            listed = answer.json()["data"]["leases"]
        assert [lease["lease_id"] for lease in listed] == [lease_id]
        error = listed[0]["error"]
        assert "ServiceUnavailable" in error
        sign_in(page, root_token, server.url)
        page.get_by_role("button", name="Operator").click()
        irrevocable = page.get_by_role("region", name="Irrevocable leases")
        expect(irrevocable.get_by_role("columnheader", name="Last error")).to_be_visible()
        expect(irrevocable.get_by_role("row").filter(has_text=lease_id)).to_contain_text(error)
        shoot(page, "operator-irrevocable")
        check_accessibility(page)
    finally:
        aws.proxy.clear_faults()
    server.request("PUT", "sys/leases/revoke", root_token, json={"lease_id": lease_id})


# ---- the session -------------------------------------------------------------------------------


def test_idle_sign_out_clears_every_secret(
    page: Page, aws: AWSWorld, root_client: hvac.Client
) -> None:
    page.goto("/ui/")
    page.evaluate("sessionStorage.setItem('awsbroker.idle-seconds', '6')")
    token = token_for(root_client, "aws-user")
    sign_in(page, token)
    keys = issue(page, "fed", ttl="15m")
    assert page.evaluate("sessionStorage.getItem('awsbroker.token')") == token
    assert page.evaluate("document.cookie") == ""
    assert token not in page.url
    expect(page.get_by_role("alert")).to_contain_text("without activity", timeout=15_000)
    content = page.content()
    assert keys["AWS_SECRET_ACCESS_KEY"] not in content
    assert keys["AWS_SESSION_TOKEN"] not in content
    assert page.evaluate("sessionStorage.getItem('awsbroker.token')") is None
    # Signing out revoked nothing.
    assert root_client.auth.token.lookup(token)["data"]["id"] == token


def test_the_idle_time_is_the_one_the_server_serves(page: Page) -> None:
    """`ui_idle_timeout` (15 minutes unless configured) is what the session counts down;
    the tests' sessionStorage override may shorten it, never lengthen it."""
    page.goto("/ui/")
    meta = page.locator('meta[name="awsbroker-idle-seconds"]')
    assert meta.get_attribute("content") == "900"
    idle = "import('/ui/session.js').then((m) => m.idleSeconds())"
    assert page.evaluate(idle) == 900
    page.evaluate("sessionStorage.setItem('awsbroker.idle-seconds', '6')")
    assert page.evaluate(idle) == 6
    page.evaluate("sessionStorage.setItem('awsbroker.idle-seconds', '86400')")
    assert page.evaluate(idle) == 900


def test_the_page_renews_a_token_in_use(page: Page, root_client: hvac.Client) -> None:
    token = token_for(root_client, "default", ttl="6s", explicit_max_ttl="1h")
    sign_in(page, token)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        page.mouse.move(10 + int(time.monotonic() * 10) % 50, 10)
        looked_up = root_client.auth.token.lookup(token)["data"]
        if looked_up.get("last_renewal_time"):
            break
        page.wait_for_timeout(500)
    else:
        pytest.fail("the page never renewed its token")
    page.wait_for_timeout(4000)  # past the first TTL: still signed in
    page.mouse.move(5, 5)
    expect(page.get_by_role("button", name="Sign out", exact=True)).to_be_visible()


def test_a_renewal_answered_after_sign_out_leaves_nothing_signed_in(
    page: Page, root_client: hvac.Client
) -> None:
    """The page's renewal reads the token back (`lookup-self`, whose `id` is the token); an
    answer that arrives after the person signed out is dropped, not adopted."""
    token = token_for(root_client, "default", ttl="6s", explicit_max_ttl="1h")
    held: list[Route] = []

    def hold(route: Route) -> None:  # Playwright wants a Python function, not a builtin
        held.append(route)

    page.route("**/v1/auth/token/lookup-self", hold)
    page.goto("/ui/")
    page.get_by_label("Token").fill(token)
    page.get_by_role("button", name="Sign in with a token").click()
    deadline = time.monotonic() + 5
    while not held and time.monotonic() < deadline:
        page.wait_for_timeout(100)
    held.pop().continue_()  # the sign-in's own lookup
    expect(page.get_by_role("heading", name="My credentials")).to_be_visible()
    deadline = time.monotonic() + 10
    while not held and time.monotonic() < deadline:  # the renewal's lookup, held
        page.mouse.move(10 + int(time.monotonic() * 10) % 50, 10)
        page.wait_for_timeout(200)
    assert held, "the page never renewed its token"
    page.get_by_role("button", name="Sign out", exact=True).click()
    held.pop().continue_()
    page.wait_for_timeout(500)
    state = page.evaluate(
        "import('/ui/session.js').then((m) => JSON.stringify([m.state.self, m.state.expiresAt]))"
    )
    assert token not in state
    assert json.loads(state) == [None, 0]


def test_an_expired_token_signs_the_page_out(
    page: Page, aws: AWSWorld, root_client: hvac.Client
) -> None:
    token = token_for(root_client, "aws-user", ttl="8s", renewable=False)
    sign_in(page, token)
    expect(page.locator("#token-left")).to_have_text(re.compile(r"^0m 0[0-8]s$"))
    keys = issue(page, "fed", ttl="15m")
    expect(page.get_by_role("alert")).to_contain_text("Your token expired", timeout=12_000)
    expect(page.get_by_label("Token")).to_be_visible()
    # Every secret on display is gone with it, and the token from the tab's storage.
    content = page.content()
    assert keys["AWS_SECRET_ACCESS_KEY"] not in content
    assert keys["AWS_SESSION_TOKEN"] not in content
    assert token not in content
    assert page.evaluate("sessionStorage.getItem('awsbroker.token')") is None
    state = page.evaluate(
        "import('/ui/session.js').then((m) => JSON.stringify([m.state.self, m.state.expiresAt]))"
    )
    assert json.loads(state) == [None, 0]


def test_sign_out_and_revoke_revokes_the_token(page: Page, root_client: hvac.Client) -> None:
    token = token_for(root_client, "default")
    sign_in(page, token)
    page.get_by_role("button", name="Sign out and revoke token").click()
    expect(page.get_by_role("alert")).to_contain_text("revoked")
    with pytest.raises(hvac.exceptions.Forbidden):
        root_client.auth.token.lookup(token)


def test_a_person_signs_in_with_oidc(
    page: Page, root_client: hvac.Client, provider: OidcProvider, dev_server: ServerProcess
) -> None:
    root_client.sys.enable_auth_method("oidc", path="sso", description="Example SSO")
    try:
        root_client.sys.tune_auth_method("sso", listing_visibility="unauth")
        root_client.auth.oidc.configure(
            oidc_discovery_url=provider.issuer,
            oidc_client_id=OIDC_WEB["client_id"],
            oidc_client_secret=OIDC_WEB["client_secret"],
            default_role="people",
            path="sso",
        )
        root_client.auth.oidc.create_role(
            "people",
            user_claim="email",
            allowed_redirect_uris=[f"{dev_server.url}/ui/oidc/callback"],
            oidc_scopes=["profile"],
            token_policies=["aws-user"],
            role_type="oidc",
            path="sso",
        )
        page.goto("/ui/")
        expect(page.get_by_role("button", name="Sign in with sso")).to_be_visible()
        shoot(page, "sign-in-oidc")
        check_accessibility(page)
        page.get_by_role("button", name="Sign in with sso").click()
        expect(page.get_by_role("heading", name="My credentials")).to_be_visible()
        expect(page.locator("#session")).to_contain_text("sso-alice@example.com")
        assert urlsplit(page.url).path == "/ui/"
        assert urlsplit(page.url).query == ""
        token = page.evaluate("sessionStorage.getItem('awsbroker.token')")
        assert root_client.auth.token.lookup(token)["data"]["policies"] == ["aws-user", "default"]
        assert page.evaluate("document.cookie") == ""
    finally:
        root_client.sys.disable_auth_method("sso")


# ---- operator pages ------------------------------------------------------------------------------


def test_an_operator_reads_and_edits_a_policy(page: Page, root_client: hvac.Client) -> None:
    root_client.sys.create_or_update_policy(
        "ui-demo", 'path "aws/creds/a" {\n  capabilities = ["read"]\n}\n'
    )
    sign_in(page, token_for(root_client, "root"))
    page.get_by_role("button", name="Operator").click()
    page.get_by_role("button", name="ui-demo", exact=True).click()
    expect(page.get_by_label("HCL of ui-demo")).to_contain_text('path "aws/creds/a"')
    editor = page.get_by_label("Edit ui-demo")
    editor.fill('path "aws/creds/a" {')
    page.get_by_role("button", name="Save policy").click()
    expect(page.get_by_role("alert")).to_contain_text("failed to parse policy")
    editor.fill('path "aws/creds/b" {\n  capabilities = ["read"]\n}\n')
    page.get_by_role("button", name="Save policy").click()
    expect(page.get_by_label("HCL of ui-demo")).to_contain_text('path "aws/creds/b"')
    assert "aws/creds/b" in root_client.sys.read_acl_policy("ui-demo")["data"]["policy"]
    shoot(page, "operator-policy")
    check_accessibility(page)


def test_an_operator_creates_and_deletes_a_policy(
    page: Page, root_client: hvac.Client, dev_server: ServerProcess
) -> None:
    sign_in(page, token_for(root_client, "root"))
    page.get_by_role("button", name="Operator").click()
    policies = page.get_by_role("region", name="Policies")
    create = policies.get_by_role("form", name="New policy")
    create.get_by_label("Policy name").fill("ui-new")
    create.get_by_label("Policy (HCL)").fill('path "aws/creds/x" {')
    create.get_by_role("button", name="Create policy").click()
    # A bad HCL: the API's own words for the same request.
    same = dev_server.request(
        "PUT", "sys/policies/acl/ui-new", "root", json={"policy": 'path "aws/creds/x" {'}
    )
    assert same.status_code == 400
    expect(create.get_by_role("alert")).to_have_text(same.json()["errors"][0])
    assert "ui-new" not in root_client.sys.list_acl_policies()["data"]["keys"]
    create.get_by_label("Policy (HCL)").fill('path "aws/creds/x" {\n  capabilities = ["read"]\n}\n')
    create.get_by_role("button", name="Create policy").click()
    expect(policies.get_by_label("HCL of ui-new")).to_contain_text('path "aws/creds/x"')
    try:
        assert "aws/creds/x" in root_client.sys.read_acl_policy("ui-new")["data"]["policy"]
        expect(policies.get_by_role("button", name="ui-new", exact=True)).to_be_visible()
        shoot(page, "operator-policy-new")
        check_accessibility(page)
        # `default` and `root` cannot be deleted: the API's message, word for word.
        for name, message in (
            ("default", "cannot delete default policy"),
            ("root", 'cannot delete "root" policy'),
        ):
            policies.get_by_role("button", name=name, exact=True).click()
            policies.get_by_role("button", name=f"Delete policy {name}…").click()
            policies.get_by_role("button", name=f"Delete policy {name} now").click()
            expect(policies.get_by_role("alert")).to_have_text(message)
            refused = dev_server.request("DELETE", f"sys/policies/acl/{name}", "root")
            assert refused.json()["errors"] == [message]
        policies.get_by_role("button", name="ui-new", exact=True).click()
        policies.get_by_role("button", name="Delete policy ui-new…").click()
        assert "ui-new" in root_client.sys.list_acl_policies()["data"]["keys"]
        policies.get_by_role("button", name="Delete policy ui-new now").click()
        expect(policies.get_by_role("button", name="ui-new", exact=True)).to_have_count(0)
        assert "ui-new" not in root_client.sys.list_acl_policies()["data"]["keys"]
    finally:
        root_client.sys.delete_policy("ui-new")


def test_an_operator_sees_nodes_mounts_and_audit_and_edits_a_role(
    page: Page, aws: AWSWorld, root_client: hvac.Client, dev_server: ServerProcess
) -> None:
    sign_in(page, token_for(root_client, "root"))
    page.get_by_role("button", name="Operator").click()
    nodes = page.get_by_role("region", name="Nodes")
    expect(nodes.get_by_role("row").filter(has_text=dev_server.url)).to_contain_text("active")
    page.get_by_role("button", name="Mounts", exact=True).click()
    auth = page.get_by_role("region", name="Auth methods")
    expect(auth.get_by_role("row").filter(has_text="auth/token/")).to_contain_text("token")
    secrets = page.get_by_role("region", name="Secrets engines")
    expect(secrets.get_by_role("row").filter(has_text="aws/")).to_contain_text("aws")
    expect(page.get_by_role("region", name="Audit devices")).to_contain_text("No audit device")

    page.get_by_role("button", name="AWS engine").click()
    roles = page.get_by_role("region", name="Roles of aws/")
    roles.get_by_role("button", name="New role").click()
    roles.get_by_label("Name").fill("ui-made")
    roles.get_by_label("Credential type").select_option("federation_token")
    roles.get_by_label("Inline policy document (JSON)").fill("{not json")
    roles.get_by_role("button", name="Save role").click()
    # The API's own words for the same request.
    same = dev_server.request(
        "POST",
        "aws/roles/ui-made",
        "root",
        json={"credential_type": "federation_token", "policy_document": "{not json"},
    ).json()["errors"][0]
    expect(roles.get_by_role("alert")).to_have_text(same)
    roles.get_by_label("Inline policy document (JSON)").fill(S3_READ)
    roles.get_by_role("button", name="Save role").click()
    expect(roles.get_by_role("button", name="Edit role ui-made")).to_be_visible()
    stored = root_client.read("aws/roles/ui-made")["data"]
    assert stored["credential_type"] == "federation_token"
    assert json.loads(stored["policy_document"]) == json.loads(S3_READ)
    roles.get_by_label("Longest STS TTL (e.g. 12h)").fill("2h")
    roles.get_by_role("button", name="Save role").click()
    expect(roles.get_by_label("Longest STS TTL (e.g. 12h)")).to_have_value("7200")
    assert root_client.read("aws/roles/ui-made")["data"]["max_sts_ttl"] == 7200
    roles.get_by_label("Require a reason for each credential").check()
    roles.get_by_label("Shortest reason (characters)").fill("12")
    with page.expect_response(
        lambda r: r.request.method == "POST" and r.url.endswith("/v1/aws/roles/ui-made")
    ):
        roles.get_by_role("button", name="Save role").click()
    expect(roles.get_by_label("Require a reason for each credential")).to_be_checked()
    stored = root_client.read("aws/roles/ui-made")["data"]
    assert (stored["reason_required"], stored["reason_min_length"]) == (True, 12)
    shoot(page, "operator-roles")
    check_accessibility(page)
    # Deleting takes a second click.
    roles.get_by_role("button", name="Delete role ui-made…").click()
    assert "ui-made" in root_client.list("aws/roles")["data"]["keys"]
    roles.get_by_role("button", name="Delete role ui-made now").click()
    expect(roles.get_by_role("button", name="Edit role ui-made")).to_have_count(0)
    assert "ui-made" not in root_client.list("aws/roles")["data"]["keys"]


def test_the_nodes_section_shows_both_nodes_and_this_ones_health(
    page: Page, servers: ServerFactory
) -> None:
    """Two server processes on one SQLite file: a cluster of two nodes, each listed."""
    a = servers.sqlite()
    b = servers.sqlite_file(str(a.workdir / "storage.db"))
    init = a.init_and_unseal()
    b.unseal(init.keys)
    deadline = time.monotonic() + 20
    listed: list[dict[str, Any]] = []
    while len(listed) < 2 and time.monotonic() < deadline:
        listed = a.request("GET", "sys/ha-status", init.root_token).json()["nodes"]
        time.sleep(0.3)
    assert sorted(n["api_address"] for n in listed) == sorted([a.url, b.url])
    sign_in(page, init.root_token, a.url)
    page.get_by_role("button", name="Operator").click()
    nodes = page.get_by_role("region", name="Nodes")
    health = a.request("GET", "sys/health").json()
    here = nodes.get_by_label("Health of this node")
    for text in ("Initialized", "yes", "Sealed", "no", health["version"], health["cluster_id"]):
        expect(here).to_contain_text(text)
    this = nodes.get_by_role("row").filter(has_text=a.url)
    other = nodes.get_by_role("row").filter(has_text=b.url)
    expect(this).to_contain_text("(this node)")
    expect(this.get_by_role("cell").nth(3)).to_have_text("no")
    expect(other).not_to_contain_text("(this node)")
    expect(other).to_contain_text("no, at its last heartbeat")
    for row in (this, other):
        expect(row).to_contain_text("active")
        expect(row.get_by_role("cell").nth(4)).to_have_text(re.compile(r"^\d+s ago$"))
        expect(row).to_contain_text(health["version"])
    shoot(page, "operator-nodes")
    check_accessibility(page)


def operator_view(page: Page, root_client: hvac.Client, view: str) -> None:
    sign_in(page, token_for(root_client, "root"))
    page.get_by_role("button", name=view, exact=True).click()


def test_an_operator_enables_tunes_and_disables_a_secrets_engine(
    page: Page, root_client: hvac.Client, dev_server: ServerProcess
) -> None:
    operator_view(page, root_client, "Mounts")
    secrets = page.get_by_role("region", name="Secrets engines")
    enable = secrets.get_by_role("form", name="Enable a secrets engine")
    enable.get_by_label("Path").fill("ui-aws")
    enable.get_by_label("Type").fill("aws")
    enable.get_by_label("Description").fill("made in the console")
    enable.get_by_label("Max lease TTL").fill("2h")
    enable.get_by_role("button", name="Enable secrets engine").click()
    row = secrets.get_by_role("row").filter(has_text="ui-aws/")
    expect(row).to_contain_text("made in the console")
    expect(row).to_contain_text("2h 00m 00s")
    assert root_client.sys.read_mount_configuration("ui-aws")["data"]["max_lease_ttl"] == 7200
    try:
        # A tune the API refuses shows the API's own words.
        row.get_by_role("button", name="Tune ui-aws/").click()
        tune = secrets.get_by_role("form", name="Tune ui-aws/")
        tune.get_by_label("Default lease TTL").fill("3h")
        tune.get_by_label("Max lease TTL").fill("1h")
        tune.get_by_role("button", name="Save tuning").click()
        same = dev_server.request(
            "POST",
            "sys/mounts/ui-aws/tune",
            "root",
            json={"default_lease_ttl": "3h", "max_lease_ttl": "1h"},
        )
        assert same.status_code == 400
        expect(tune.get_by_role("alert")).to_have_text(same.json()["errors"][0])
        tune.get_by_label("Default lease TTL").fill("30m")
        tune.get_by_label("Listing visibility").select_option("hidden")
        tune.get_by_role("button", name="Save tuning").click()
        expect(row).to_contain_text("30m 00s")
        tuned = root_client.sys.read_mount_configuration("ui-aws")["data"]
        assert (tuned["default_lease_ttl"], tuned["max_lease_ttl"]) == (1800, 3600)
        assert tuned["listing_visibility"] == "hidden"
        # A path already in use: the API's words again.
        enable.get_by_label("Path").fill("ui-aws")
        enable.get_by_label("Type").fill("aws")
        enable.get_by_role("button", name="Enable secrets engine").click()
        expect(enable.get_by_role("alert")).to_contain_text("path is already in use")
        shoot(page, "mounts")
        check_accessibility(page)
        # Disabling takes a second click.
        row.get_by_role("button", name="Disable ui-aws/…").click()
        assert "ui-aws/" in root_client.sys.list_mounted_secrets_engines()["data"]
        row.get_by_role("button", name="Disable ui-aws/ now").click()
        expect(secrets.get_by_role("row").filter(has_text="ui-aws/")).to_have_count(0)
        assert "ui-aws/" not in root_client.sys.list_mounted_secrets_engines()["data"]
    finally:
        if "ui-aws/" in root_client.sys.list_mounted_secrets_engines()["data"]:
            root_client.sys.disable_secrets_engine("ui-aws")


def test_an_operator_enables_and_disables_an_auth_method(
    page: Page, root_client: hvac.Client
) -> None:
    operator_view(page, root_client, "Mounts")
    auth = page.get_by_role("region", name="Auth methods")
    enable = auth.get_by_role("form", name="Enable an auth method")
    enable.get_by_label("Path").fill("ui-approle")
    enable.get_by_label("Type").fill("no-such-method")
    enable.get_by_role("button", name="Enable auth method").click()
    expect(enable.get_by_role("alert")).to_be_visible()
    assert "ui-approle/" not in root_client.sys.list_auth_methods()["data"]
    enable.get_by_label("Type").fill("approle")
    enable.get_by_role("button", name="Enable auth method").click()
    row = auth.get_by_role("row").filter(has_text="auth/ui-approle/")
    expect(row).to_contain_text("approle")
    try:
        row.get_by_role("button", name="Tune auth/ui-approle/").click()
        tune = auth.get_by_role("form", name="Tune auth/ui-approle/")
        tune.get_by_label("Listing visibility").select_option("unauth")
        tune.get_by_role("button", name="Save tuning").click()
        expect(row).to_contain_text("unauth")
        assert (
            root_client.sys.read_auth_method_tuning("ui-approle")["data"]["listing_visibility"]
            == "unauth"
        )
        row.get_by_role("button", name="Disable auth/ui-approle/…").click()
        row.get_by_role("button", name="Disable auth/ui-approle/ now").click()
        expect(auth.get_by_role("row").filter(has_text="auth/ui-approle/")).to_have_count(0)
        assert "ui-approle/" not in root_client.sys.list_auth_methods()["data"]
    finally:
        if "ui-approle/" in root_client.sys.list_auth_methods()["data"]:
            root_client.sys.disable_auth_method("ui-approle")


def test_an_operator_enables_and_disables_an_audit_device(
    page: Page, root_client: hvac.Client, tmp_path: Path
) -> None:
    log = tmp_path / "audit.log"
    operator_view(page, root_client, "Mounts")
    audit = page.get_by_role("region", name="Audit devices")
    enable = audit.get_by_role("form", name="Enable an audit device")
    enable.get_by_label("Path").fill("ui-file")
    enable.get_by_label("Type").fill("nope")
    enable.get_by_role("button", name="Enable audit device").click()
    expect(enable.get_by_role("alert")).to_have_text('unknown backend type: "nope"')
    enable.get_by_label("Type").fill("file")
    enable.get_by_label("Options (one key=value a line)").fill(f"file_path={log}\nmode=0600")
    enable.get_by_role("button", name="Enable audit device").click()
    row = audit.get_by_role("row").filter(has_text="ui-file/")
    expect(row).to_contain_text(f"file_path={log}")
    try:
        devices = root_client.sys.list_enabled_audit_devices()["data"]
        assert devices["ui-file/"]["options"]["file_path"] == str(log)
        assert log.exists()
        shoot(page, "audit")
        check_accessibility(page)
        row.get_by_role("button", name="Disable audit device ui-file/…").click()
        row.get_by_role("button", name="Disable audit device ui-file/ now").click()
        expect(audit).to_contain_text("No audit device")
        assert root_client.sys.list_enabled_audit_devices()["data"] == {}
    finally:
        if root_client.sys.list_enabled_audit_devices()["data"]:
            root_client.sys.disable_audit_device("ui-file")


def test_the_root_configuration_is_written_and_read_without_its_secret(
    page: Page, root_client: hvac.Client, aws: AWSWorld
) -> None:
    secret = "ui-secret-NEVER-SHOWN-0123456789"
    root_client.sys.enable_secrets_engine("aws", path="ui-cfg")
    try:
        operator_view(page, root_client, "AWS engine")
        config = page.get_by_role("region", name="Root configuration of ui-cfg/")
        expect(config).to_contain_text("Not configured yet.")
        config.get_by_label("Access key ID").fill("AKIAUICONSOLE0000001")
        config.get_by_label("Region", exact=True).fill("eu-west-1")
        config.get_by_label(
            "Secret access key (write-only: leave empty to keep the stored one)"
        ).fill(secret)
        config.get_by_role("button", name="Save root configuration").click()
        expect(config.locator("dl")).to_contain_text("AKIAUICONSOLE0000001")
        expect(config.locator("dl")).to_contain_text("eu-west-1")
        assert config.get_by_label(re.compile("^Secret access key")).input_value() == ""
        stored = root_client.read("ui-cfg/config/root")["data"]
        assert stored["access_key"] == "AKIAUICONSOLE0000001"
        assert "secret_key" not in stored
        # A write that leaves the secret empty keeps it (the engine still signs with it).
        config.get_by_label("Region", exact=True).fill("eu-central-1")
        config.get_by_role("button", name="Save root configuration").click()
        expect(config.locator("dl")).to_contain_text("eu-central-1")
        page.reload()
        page.get_by_role("button", name="AWS engine").click()
        config = page.get_by_role("region", name="Root configuration of ui-cfg/")
        expect(config.locator("dl")).to_contain_text("eu-central-1")
        assert secret not in page.content()
        refused = page.get_by_role("region", name="Root configuration of ui-cfg/")
        refused.get_by_label("Region", exact=True).fill("=bad")
        refused.get_by_role("button", name="Save root configuration").click()
        expect(refused.get_by_role("alert")).to_contain_text("invalid region")

        lease = page.get_by_role("region", name="Lease settings of ui-cfg/")
        lease.get_by_label("Lease (iam_user TTL)").fill("30m")
        lease.get_by_label("Lease max").fill("2h")
        lease.get_by_role("button", name="Save lease settings").click()
        expect(lease.locator("dl")).to_contain_text("2h")
        assert root_client.read("ui-cfg/config/lease")["data"] == {
            "lease": "30m0s",
            "lease_max": "2h0m0s",
        }
        shoot(page, "aws-engine")
        check_accessibility(page)
        assert secret not in page.content()
    finally:
        root_client.sys.disable_secrets_engine("ui-cfg")


def test_a_static_role_is_created_edited_and_deleted(
    page: Page, root_client: hvac.Client, aws: AWSWorld
) -> None:
    aws.iam().create_user(UserName="ui-static-user")
    operator_view(page, root_client, "AWS engine")
    static = page.get_by_role("region", name="Static roles of aws/")
    static.get_by_role("button", name="New static role").click()
    static.get_by_label("Static role name").fill("ui-static")
    static.get_by_label("IAM user name").fill("ui-static-user")
    static.get_by_label("Rotation period (e.g. 24h)").fill("24h")
    static.get_by_role("button", name="Save static role").click()
    expect(static.get_by_role("button", name="Edit static role ui-static")).to_be_visible()
    try:
        stored = root_client.read("aws/static-roles/ui-static")["data"]
        assert (stored["username"], stored["rotation_period"]) == ("ui-static-user", 86400)
        keys = aws.iam().list_access_keys(UserName="ui-static-user")["AccessKeyMetadata"]
        assert len(keys) == 1  # the broker made the key it now rotates
        static.get_by_label("Rotation period (e.g. 24h)").fill("48h")
        static.get_by_role("button", name="Save static role").click()
        expect(static.get_by_label("Rotation period (e.g. 24h)")).to_have_value("172800")
        assert root_client.read("aws/static-roles/ui-static")["data"]["rotation_period"] == 172800
        # A refusal in the API's words: no rotation period below the engine's minimum.
        static.get_by_label("Rotation period (e.g. 24h)").fill("1s")
        static.get_by_role("button", name="Save static role").click()
        expect(static.get_by_role("alert")).to_have_text(
            "role rotation period out of range: must be greater than 60.00 seconds"
        )
        shoot(page, "aws-static-roles")
        check_accessibility(page)
        static.get_by_role("button", name="Delete static role ui-static…").click()
        static.get_by_role("button", name="Delete static role ui-static now").click()
        expect(static.get_by_role("button", name="Edit static role ui-static")).to_have_count(0)
        assert root_client.list("aws/static-roles") is None
    finally:
        if root_client.list("aws/static-roles"):
            root_client.delete("aws/static-roles/ui-static")


def test_a_reason_is_asked_for_sent_and_shown_with_the_lease(
    page: Page, root_client: hvac.Client, aws: AWSWorld, dev_server: ServerProcess
) -> None:
    root_client.write(
        "aws/roles/why",
        credential_type="federation_token",
        policy_document=S3_READ,
        reason_required=True,
        reason_min_length=10,
    )
    try:
        sign_in(page, token_for(root_client, "aws-user"))
        box = card(page, "why")
        reason = box.get_by_label("Reason (required)")
        expect(box).to_contain_text("at least 10 characters")
        expect(card(page, "fed").get_by_label("Reason (required)")).to_have_count(0)
        reason.fill("INC-4711 reading the bucket")
        keys = issue(page, "why", ttl="15m")
        assert keys["AWS_SESSION_TOKEN"]
        lease_id = box.locator(".issued code").inner_text()
        looked_up = dev_server.request(
            "PUT", "sys/leases/lookup", "root", json={"lease_id": lease_id}
        ).json()["data"]
        assert looked_up["reason"] == "INC-4711 reading the bucket"
        page.get_by_role("button", name="Leases").click()
        row = page.get_by_role("row").filter(has_text=lease_id)
        expect(row).to_contain_text("INC-4711 reading the bucket")
        shoot(page, "leases-reason")
        check_accessibility(page)
        root_client.sys.revoke_lease(lease_id)
    finally:
        root_client.delete("aws/roles/why")


def test_the_aws_console_opens_from_a_role_card(
    page: Page, aws: AWSWorld, root_client: hvac.Client
) -> None:
    """Console sign-in (issue 19): "Open AWS console" on assumed_role and federation_token
    cards only; the link it shows opens, in a new tab, the loopback federation stand-in's
    login page as the role's session."""
    root_client.sys.create_or_update_policy(
        "console-user", USER_POLICY + 'path "aws/console/*" { capabilities = ["update"] }\n'
    )
    with FederationStandIn(aws.moto.endpoint, aws.access_key, aws.secret_key) as federation:
        root_client.write("aws/config/root", federation_endpoint=federation.endpoint)
        try:
            sign_in(page, token_for(root_client, "console-user"))
            for role in ("dev-user", "session"):
                expect(
                    card(page, role).get_by_role("button", name="Get credentials")
                ).to_be_visible()
                expect(
                    card(page, role).get_by_role("button", name="Open AWS console")
                ).to_have_count(0)
            box = card(page, "deploy")
            box.get_by_label("TTL (STS types)").fill("2h")
            box.get_by_role("button", name="Open AWS console").click()
            link = box.get_by_role("link", name="Open the AWS console as deploy")
            expect(link).to_be_visible()
            expect(box).to_contain_text(re.compile(r"the console session lasts (2h|1h 59m)"))
            assert federation.requests[-1].session_duration == 7200
            shoot(page, "console-link")
            check_accessibility(page)
            assert link.get_attribute("rel") == "noopener noreferrer"
            with page.expect_popup() as popup:
                link.click()
            console = popup.value
            expect(console.get_by_role("heading")).to_contain_text("assumed-role/deployer/")
            assert federation.logins[-1].destination == "https://console.aws.amazon.com/"
            card(page, "fed").get_by_role("button", name="Open AWS console").click()
            expect(card(page, "fed").get_by_role("link")).to_have_text(
                "Open the AWS console as fed"
            )
            assert federation.requests[-1].identity == "federated-user"
        finally:
            root_client.write("aws/config/root", federation_endpoint="")


def test_an_operator_seals_and_unseals_from_the_page(
    page: Page, root_client: hvac.Client, dev_server: ServerProcess
) -> None:
    """Last in the module: it leaves the server unsealed, as it found it."""
    key = re.search(r"Unseal Key: (\S+)", dev_server.log())
    assert key is not None
    sign_in(page, token_for(root_client, "root"))
    page.get_by_role("button", name="Operator").click()
    expect(page.get_by_role("button", name="Seal now")).to_be_hidden()
    page.get_by_role("button", name="Seal the server…").click()
    page.get_by_role("button", name="Seal now").click()
    expect(page.get_by_role("heading", name="Sealed")).to_be_visible()
    assert root_client.sys.read_seal_status()["sealed"] is True
    shoot(page, "sealed")
    check_accessibility(page)
    page.get_by_label("Unseal key share").fill("00" * 32)
    page.get_by_role("button", name="Unseal").click()
    expect(page.get_by_role("alert").last).to_contain_text("invalid unseal key")
    assert root_client.sys.read_seal_status()["sealed"] is True
    page.get_by_label("Unseal key share").fill(key.group(1))
    page.get_by_role("button", name="Unseal").click()
    expect(page.get_by_role("heading", name="Sealed")).to_have_count(0)
    assert root_client.sys.read_seal_status()["sealed"] is False
    sign_in(page, token_for(root_client, "root"))
