"""Cross-site requests against real server processes: what a web page can make a browser send
(a `text/plain` POST needs no CORS preflight; a DNS-rebinding page sends its own name as
`Host`) is refused, and clients that send no `Origin` are not affected."""

from __future__ import annotations

from tests.support.server import HOST, ServerFactory, ServerProcess

BROWSER_INIT = b'{"secret_shares": 1, "secret_threshold": 1}'
EVIL = "http://evil.example"


def initialized(server: ServerProcess) -> bool:
    answer = server.request("GET", "sys/init")
    assert answer.status_code == 200
    return bool(answer.json()["initialized"])


def test_a_web_page_cannot_initialise_a_fresh_loopback_server(servers: ServerFactory) -> None:
    server = servers.sqlite()
    plain = {"Content-Type": "text/plain", "Origin": EVIL}
    answer = server.request("POST", "sys/init", data=BROWSER_INIT, headers=plain)
    assert answer.status_code == 403
    assert answer.json()["errors"] == [
        f"origin not allowed: {EVIL!r} is neither this server's own origin nor in the "
        "listener's allowed_origins"
    ]
    # DNS rebinding: the page's own name resolves to 127.0.0.1, so Origin and Host agree.
    rebound = f"evil.example:{server.port}"
    headers = {"Content-Type": "text/plain", "Origin": f"http://{rebound}", "Host": rebound}
    answer = server.request("POST", "sys/init", data=BROWSER_INIT, headers=headers)
    assert answer.status_code == 421
    assert answer.json()["errors"] == [
        "this server does not answer to host 'evil.example': add it to the listener's allowed_hosts"
    ]
    reading = server.request("GET", "sys/seal-status", headers={"Host": rebound})
    assert reading.status_code == 421
    assert "initialized" not in reading.text
    assert initialized(server) is False
    # The server's own origin, as a console it served would send it; and no Origin at all.
    own = {"Origin": server.url, "Content-Type": "text/plain"}
    assert server.request("GET", "sys/seal-status", headers=own).status_code == 200
    for host in ("localhost", f"localhost:{server.port}", f"[::1]:{server.port}", HOST):
        assert server.request("GET", "sys/health", headers={"Host": host}).status_code == 501
    token = server.init_and_unseal().root_token  # hvac: no Origin
    assert initialized(server) is True
    # Vault's sys/config/cors is not there: origins are the listener's allowed_origins.
    assert server.request("GET", "sys/config/cors", token).status_code == 404
    assert server.request("POST", "sys/config/cors", token, json={"enabled": True}).json() == {
        "errors": ["unsupported path"]
    }


def test_configured_hosts_and_origins(servers: ServerFactory) -> None:
    console = "https://console.example.com"
    server = servers.sqlite(
        listener={"allowed_hosts": ["broker.example.com"], "allowed_origins": [console]}
    )
    named = {"Host": f"broker.example.com:{server.port}"}
    assert server.request("GET", "sys/health", headers=named).status_code == 501
    # Configured names replace the loopback ones.
    assert server.request("GET", "sys/health").status_code == 421
    web = {**named, "Origin": console}
    answer = server.request("GET", "sys/seal-status", headers=web)
    assert answer.status_code == 200
    assert answer.headers["Access-Control-Allow-Origin"] == console
    preflight = {**web, "Access-Control-Request-Method": "POST"}
    answer = server.request("OPTIONS", "sys/init", headers=preflight)
    assert answer.status_code == 204
    assert "X-Vault-Token" in answer.headers["Access-Control-Allow-Headers"]
    evil = server.request("GET", "sys/seal-status", headers={**named, "Origin": EVIL})
    assert evil.status_code == 403


def test_a_listener_on_every_interface_answers_to_any_host_but_not_to_foreign_origins(
    servers: ServerFactory,
) -> None:
    server_any = servers.sqlite(listener={"address": "0.0.0.0:{port}"})
    for host in ("broker.example.com", "10.9.8.7:8200", "localhost"):
        status = server_any.request("GET", "sys/health", headers={"Host": host}).status_code
        assert status == 501, host
    evil = server_any.request("POST", "sys/init", data=BROWSER_INIT, headers={"Origin": EVIL})
    assert evil.status_code == 403
    assert initialized(server_any) is False
