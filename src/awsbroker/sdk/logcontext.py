"""What a log line is about: the request being served, in a context variable.

The HTTP layer sets `REQUEST_ID` for the duration of a request (worker threads inherit it), and
the log formatter adds it to every line written meanwhile. A context variable is context-local,
not shared state: two requests, or two cores, never see each other's value.
"""

from __future__ import annotations

from contextvars import ContextVar

REQUEST_ID: ContextVar[str] = ContextVar("awsbroker_request_id", default="")
