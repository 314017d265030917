"""What the HTTP layer does for observability: request IDs in the log context, the observer
that counts answered requests, and bodies that are not JSON (the Prometheus exposition)."""

from __future__ import annotations

import logging
import warnings
from collections.abc import Iterator

import pytest
from starlette.exceptions import StarletteDeprecationWarning

with warnings.catch_warnings():
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from starlette.testclient import TestClient

from awsbroker.http.app import build_app
from awsbroker.sdk.errors import PermissionDenied
from awsbroker.sdk.logcontext import REQUEST_ID
from awsbroker.sdk.logical import RawBody, Request, Response


class Recorder:
    def __init__(self) -> None:
        self.seen_ids: list[str] = []
        self.observed: list[tuple[Request | None, int, float]] = []
        self.fail = False

    def handle(self, request: Request) -> Response | None:
        # Runs in a worker thread: the context variable must have followed.
        self.seen_ids.append(REQUEST_ID.get())
        logging.getLogger("awsbroker.test").warning("handling")
        if self.fail:
            raise PermissionDenied()
        if request.path == "sys/metrics":
            return Response(body=RawBody(b"m 1.0\n", "text/plain; version=0.0.4; charset=utf-8"))
        return Response(data={"ok": True})

    def observe(self, request: Request | None, status: int, seconds: float) -> None:
        self.observed.append((request, status, seconds))


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def client(recorder: Recorder) -> Iterator[TestClient]:
    app = build_app(recorder.handle, observe=recorder.observe)
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


def test_the_request_id_is_in_the_log_context_of_the_handler(
    client: TestClient, recorder: Recorder
) -> None:
    body = client.get("/v1/x/y").json()
    assert recorder.seen_ids == [body["request_id"]]
    assert REQUEST_ID.get() == "", "nothing leaks out of the request"


def test_every_answer_is_observed_with_its_status(client: TestClient, recorder: Recorder) -> None:
    client.get("/v1/x/y")
    recorder.fail = True
    client.get("/v1/x/y")
    client.get("/nowhere")
    statuses = [(r.path if r else None, status) for r, status, _ in recorder.observed]
    assert statuses == [("x/y", 200), ("x/y", 403), (None, 404)]
    assert all(seconds >= 0 for _, _, seconds in recorder.observed)


def test_a_raw_body_is_sent_as_is_with_its_content_type(client: TestClient) -> None:
    response = client.get("/v1/sys/metrics")
    assert response.status_code == 200
    assert response.content == b"m 1.0\n"
    assert response.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    assert response.headers["cache-control"] == "no-store"


def test_a_failing_observer_does_not_fail_the_request(
    recorder: Recorder, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(request: Request | None, status: int, seconds: float) -> None:
        raise RuntimeError("metrics down")

    with TestClient(build_app(recorder.handle, observe=broken)) as c:
        assert c.get("/v1/x/y").status_code == 200
    assert "recording the metrics of a request failed" in caplog.text
