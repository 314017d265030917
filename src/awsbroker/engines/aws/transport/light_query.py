"""The light path for AWS's query-protocol APIs (STS and IAM): what `light_sts.py` and
`light_iam.py` share.

boto3's path for one call is mostly machinery around the request: its event system, urllib3's
pool, a generic shape-walking XML parser. Here one call is: botocore's own validator and query
serializer (the same body, the same `ParamValidationError`s), SigV4 signed here (the algorithm
of `botocore.auth.SigV4Auth`, with the signing key cached per day; tests prove the same
`Authorization` for the same inputs), one HTTP/1.1 connection per thread of work kept open
per endpoint (`light_http.py`), and a strict parser of the success answers the service module
knows. Everything else is botocore's, taken from a boto3 client built as before (`boto.py`)
and kept beside:

- the endpoint and signing region: botocore's endpoint rules, resolved once (regional, FIPS,
  dual-stack, STS's regional endpoints and IAM's global one as boto3 resolves them);
- the credentials: the client's, frozen per call (the default chain and its refresh);
- retries: botocore's retry handler for the client's mode (`needs-retry` event), with the
  same exceptions for connection failures and the same sleeps;
- errors: any non-2xx answer, and any success answer the strict parser does not recognise, is
  parsed by botocore's parser and raised as the client's modeled `ClientError`;
- metrics: one count and one duration per call, retries included, as `metrics.instrument`.

The whole call goes to the boto3 client whenever the configuration needs what this path does
not do (`plan_for` decides, once per client): a proxy for the endpoint (`HTTPS_PROXY`/`NO_PROXY`
or configured), TLS verification off or a client certificate, a CA bundle (`AWS_CA_BUNDLE`)
that cannot be read, an endpoint URL with a path or an auth scheme other than SigV4.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import re
import ssl
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import quote_plus, urlencode, urlsplit

import botocore.exceptions
import botocore.httpsession

from awsbroker.engines.aws.transport.light_http import BadAnswer, Connection, request_head
from awsbroker.sdk.telemetry import AWS_CALL_SECONDS, AWS_CALLS, Telemetry

if TYPE_CHECKING:
    from botocore.model import OperationModel

_R = TypeVar("_R")
_CONTENT_TYPE = "application/x-www-form-urlencoded; charset=utf-8"
_EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()


class Plan:
    """Where and how the light path sends a call, resolved once from the boto3 client."""

    __slots__ = ("cafile", "connect_timeout", "host", "port", "read_timeout", "region",
                 "scheme", "ssl_context", "url")  # fmt: skip

    def __init__(self, url: str, region: str, connect_timeout: float, read_timeout: float,
                 ssl_context: ssl.SSLContext | None) -> None:  # fmt: skip
        parts = urlsplit(url)
        self.url = url
        self.scheme = parts.scheme.lower()
        self.port = parts.port or (443 if self.scheme == "https" else 80)
        hostname = parts.hostname or ""
        self.host = f"[{hostname}]" if ":" in hostname else hostname
        self.region = region
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.ssl_context = ssl_context
        self.cafile: str | None = None  # the CA bundle botocore would verify with (https)

    @property
    def host_header(self) -> str:
        """As botocore signs it: the port only when it is not the scheme's default."""
        default = 443 if self.scheme == "https" else 80
        return self.host if self.port == default else f"{self.host}:{self.port}"


def plan_for(client: Any, operation_name: str) -> Plan | None:
    """The light path's plan for boto3 `client` (STS or IAM), resolved by botocore's endpoint
    rules for `operation_name`, or None when the calls must go to boto3."""
    operation = client.meta.service_model.operation_model(operation_name)
    url, headers, properties = client._resolve_endpoint_ruleset(operation, {}, {})
    if headers:
        return None
    signing_name = client.meta.service_model.signing_name
    schemes = properties.get("authSchemes") or [{"name": "sigv4"}]
    scheme = schemes[0]
    if scheme.get("name") != "sigv4" or scheme.get("signingName", signing_name) != signing_name:
        return None
    parts = urlsplit(url)
    if parts.path not in ("", "/") or parts.query or parts.scheme.lower() not in ("http", "https"):
        return None
    session = client._endpoint.http_session
    if session._proxy_config.proxy_url_for(url) or session._cert_file:
        return None
    context: ssl.SSLContext | None = None
    cafile: str | None = None
    if parts.scheme.lower() == "https":
        if session._verify is False:
            return None
        cafile = botocore.httpsession.get_cert_path(session._verify)
        try:
            context = ssl.create_default_context(cafile=cafile)
        except (OSError, ssl.SSLError):
            return None  # a CA bundle that cannot be read: boto3 reports it, per call

    # The endpoint rules' signing region (IAM: us-east-1 in the aws partition), else the one
    # botocore's signer was built with (the client's region, for a custom endpoint).
    region = scheme.get("signingRegion") or client._request_signer.region_name
    config = client.meta.config
    plan = Plan(url, region, config.connect_timeout, config.read_timeout, context)
    plan.cafile = cafile
    return plan


class SigV4:
    """AWS Signature Version 4 for a form POST to `/`, as `botocore.auth.SigV4Auth` computes it
    for the query protocol; the signing key is kept per (secret, day)."""

    def __init__(self, region: str, service: str) -> None:
        self.region = region
        self.service = service
        self._key: tuple[str, str, bytes] | None = None

    def _signing_key(self, secret: str, day: str) -> bytes:
        cached = self._key
        if cached is not None and cached[0] == secret and cached[1] == day:
            return cached[2]
        key = _hmac(("AWS4" + secret).encode(), day)
        for part in (self.region, self.service, "aws4_request"):
            key = _hmac(key, part)
        self._key = (secret, day, key)
        return key

    def headers(
        self, host: str, body: bytes, *, access_key: str, secret: str, token: str | None,
        now: datetime.datetime,
    ) -> dict[str, str]:  # fmt: skip
        """The headers to send: Content-Type, X-Amz-Date, X-Amz-Security-Token (with a
        session token) and Authorization."""
        stamp = now.strftime("%Y%m%dT%H%M%SZ")
        day = stamp[:8]
        signed = {"content-type": _CONTENT_TYPE, "host": host, "x-amz-date": stamp}
        if token:
            signed["x-amz-security-token"] = token
        names = ";".join(signed)  # already in sorted order
        canonical = "\n".join((
            "POST", "/", "", *(f"{k}:{' '.join(v.split())}" for k, v in signed.items()), "",
            names, hashlib.sha256(body).hexdigest() if body else _EMPTY_SHA256,
        ))  # fmt: skip
        scope = f"{day}/{self.region}/{self.service}/aws4_request"
        to_sign = "\n".join((
            "AWS4-HMAC-SHA256", stamp, scope, hashlib.sha256(canonical.encode()).hexdigest()
        ))  # fmt: skip
        signature = hmac.new(
            self._signing_key(secret, day), to_sign.encode(), hashlib.sha256
        ).hexdigest()
        out = {"Content-Type": _CONTENT_TYPE, "X-Amz-Date": stamp}
        if token:
            out["X-Amz-Security-Token"] = token
        out["Authorization"] = (
            f"AWS4-HMAC-SHA256 Credential={access_key}/{scope}, "
            f"SignedHeaders={names}, Signature={signature}"
        )
        return out


# What `quote_plus` leaves as it is (RFC 3986's unreserved characters).
_UNRESERVED = re.compile(rb"[A-Za-z0-9_.~-]*")


def form_body(fields: Mapping[str, object]) -> bytes:
    """`fields` form-encoded as botocore encodes a query-protocol body (`urlencode` of the
    UTF-8 pairs with `doseq`, which quotes with `quote_plus`), byte for byte, without quoting
    what needs none (names, versions, numbers: most of a body)."""
    # The serializer's values are text and numbers (an int, for DurationSeconds), which
    # urlencode quotes as `str()` gives them; anything else takes urlencode's own path.
    if not all(isinstance(value, str | int | float) for value in fields.values()):
        pairs = [(k.encode(), v.encode() if isinstance(v, str) else v) for k, v in fields.items()]
        return urlencode(pairs, doseq=True).encode()
    return b"&".join(_quoted(k) + b"=" + _quoted(str(v)) for k, v in fields.items())


def _quoted(text: str) -> bytes:
    raw = text.encode()
    if _UNRESERVED.fullmatch(raw):
        return raw
    return quote_plus(raw).encode()


def _hmac(key: bytes, message: str) -> bytes:
    return hmac.new(key, message.encode(), hashlib.sha256).digest()


# ---- reading answers --------------------------------------------------------------------------


class NotRecognised(Exception):
    """A success answer the strict parser does not know: botocore's parser reads it."""


def result_of(body: bytes, namespace: str, operation: str) -> ET.Element | None:
    """The `<{operation}Result>` element of a query-protocol answer, or None when the answer
    has none (an action that returns nothing). Anything but `<{operation}Response>` raises
    NotRecognised."""
    try:
        root = ET.fromstring(body)  # noqa: S314 - AWS's answer, no entities expanded by expat
    except ET.ParseError:
        raise NotRecognised("not XML") from None
    if root.tag != f"{namespace}{operation}Response":
        raise NotRecognised(root.tag)
    result = root.find(f"{namespace}{operation}Result")
    if result is None and any(child.tag != f"{namespace}ResponseMetadata" for child in root):
        raise NotRecognised("unknown content")
    return result


def fields(element: ET.Element, namespace: str, keys: tuple[str, ...]) -> dict[str, str]:
    """The text of `element`'s children, which must be exactly `keys`."""
    values = {child.tag.removeprefix(namespace): child.text or "" for child in element}
    if len(values) != len(element) or set(values) != set(keys):
        raise NotRecognised(element.tag)
    return values


def timestamp(text: str) -> datetime.datetime:
    """An ISO 8601 UTC time as AWS writes it ("2026-12-05T01:00:00Z", fractions allowed)."""
    if not text.endswith("Z"):
        raise NotRecognised(text)
    try:
        value = datetime.datetime.fromisoformat(text[:-1])
    except ValueError:
        raise NotRecognised(text) from None
    if value.tzinfo is not None:
        raise NotRecognised(text)
    return value.replace(tzinfo=datetime.UTC)


class _Response:
    """What botocore's retry handlers read of an HTTP answer."""

    __slots__ = ("content", "headers", "status_code")

    def __init__(self, status_code: int, headers: Mapping[str, str], content: bytes) -> None:
        self.status_code = status_code
        self.headers = headers
        self.content = content


# ---- one client -------------------------------------------------------------------------------


class LightQuery:
    """The light path for `OPERATIONS` of boto3 client `raw` (kept beside for the rest).
    A service module subclasses it with its operations and its strict `parse_success`."""

    OPERATIONS: tuple[str, ...] = ()

    def __init__(self, raw: Any, telemetry: Telemetry) -> None:
        self._raw = raw
        self._telemetry = telemetry
        model = raw.meta.service_model
        self._plan = plan_for(raw, self.OPERATIONS[0])
        self._signer = SigV4(self._plan.region, model.signing_name) if self._plan else None
        self._idle: list[Connection] = []
        self._lock = threading.Lock()
        self._closed = False
        self._ops: dict[str, OperationModel] = {
            name: model.operation_model(name) for name in self.OPERATIONS
        }
        # The protocols' method names of the operations this path takes, to the API's names
        # (create_user: CreateUser); none when the configuration needs boto3 for every call.
        self._light: dict[str, str] = (
            {m: a for m, a in raw.meta.method_to_api_mapping.items() if a in self.OPERATIONS}
            if self._plan is not None
            else {}
        )
        self._service = str(model.service_name)
        self._service_id = model.service_id.hyphenize()
        self._max_pool = int(raw.meta.config.max_pool_connections)
        # boto3's User-Agent as its client sends it (`AWS_SDK_UA_APP_ID` as `app/<id>` included),
        # built once: the per-request feature ids it would add are not ours to claim.
        self._user_agent = str(raw._user_agent_creator.to_string())

    @property
    def light(self) -> bool:
        """Whether `OPERATIONS` take the light path (else they go to boto3's client)."""
        return self._plan is not None

    def parse_success(self, operation: str, body: bytes) -> dict[str, Any]:
        """The service's strict parser: `operation`'s success answer as boto3 returns it
        (without `ResponseMetadata`), or NotRecognised."""
        raise NotRecognised(operation)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()
        self._raw.close()

    def _forward(self, operation: Callable[..., _R], kwargs: Mapping[str, object]) -> _R:
        """`operation` (a method of the service's protocol, api.py) on the light path if it is
        one of `OPERATIONS`, else by the boto3 client."""
        api_name = self._light.get(operation.__name__)
        if api_name is None:
            boto: Callable[..., _R] = getattr(self._raw, operation.__name__)
            return boto(**kwargs)
        result: _R = self._call(api_name, kwargs)
        return result

    # ---- one call ------------------------------------------------------------------------

    def request(self, operation: str, params: Mapping[str, object]) -> tuple[bytes, dict[str, str]]:
        """The body and headers this path sends for `operation` (signed now); for tests."""
        plan, signer = self._plan, self._signer
        assert plan is not None
        assert signer is not None
        body = self._body(self._ops[operation], params)
        return body, self._headers(plan, signer, body)

    def _body(self, operation: OperationModel, params: Mapping[str, object]) -> bytes:
        # botocore's validator and serializer: the same ParamValidationError, the same form.
        serialized = self._raw._serializer.serialize_to_request(dict(params), operation)
        return form_body(serialized["body"])

    def _headers(self, plan: Plan, signer: SigV4, body: bytes) -> dict[str, str]:
        credentials = self._raw._request_signer._credentials
        if credentials is None:
            raise botocore.exceptions.NoCredentialsError()
        frozen = credentials.get_frozen_credentials()
        now = datetime.datetime.now(datetime.UTC)
        headers = signer.headers(
            plan.host_header, body, access_key=frozen.access_key, secret=frozen.secret_key,
            token=frozen.token, now=now,
        )  # fmt: skip
        headers["User-Agent"] = self._user_agent
        return headers

    def _call(self, name: str, params: Mapping[str, object]) -> Any:
        plan, signer = self._plan, self._signer
        assert plan is not None
        assert signer is not None
        started = time.monotonic()
        code = ""
        try:
            parsed = self._attempts(plan, signer, name, params)
            error = parsed.get("Error")
            code = str(error.get("Code", "")) if isinstance(error, Mapping) else ""
        except botocore.exceptions.ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", ""))
            raise
        except Exception as exc:
            code = type(exc).__name__
            raise
        finally:
            labels = {"service": self._service, "operation": name}
            self._telemetry.count(AWS_CALLS, {**labels, "error_code": code})
            self._telemetry.observe(AWS_CALL_SECONDS, time.monotonic() - started, labels)
        return parsed

    def _attempts(
        self, plan: Plan, signer: SigV4, name: str, params: Mapping[str, object]
    ) -> dict[str, Any]:
        operation = self._ops[name]
        body = self._body(operation, params)
        request_dict: dict[str, Any] = {"context": {}, "body": body, "url": plan.url}
        attempts = 0
        while True:
            attempts += 1
            headers = self._headers(plan, signer, body)
            caught: Exception | None = None
            response: _Response | None = None
            try:
                response = self._send(plan, body, headers)
            except botocore.exceptions.HTTPClientError as exc:
                caught = exc
            if response is not None and 200 <= response.status_code < 300:
                try:
                    parsed = self.parse_success(name, response.content)
                except (NotRecognised, ValueError):
                    parsed = self._botocore_parse(operation, response)
                parsed["ResponseMetadata"] = {
                    "RequestId": response.headers.get("x-amzn-requestid", ""),
                    "HTTPStatusCode": response.status_code,
                    "HTTPHeaders": dict(response.headers),
                    "RetryAttempts": attempts - 1,
                }
                return parsed
            pair = None
            if response is not None:
                pair = (response, self._botocore_parse(operation, response))
            delay = self._needs_retry(operation, attempts, request_dict, pair, caught)
            if delay is None:
                if caught is not None:
                    raise caught
                assert pair is not None
                pair[1]["ResponseMetadata"]["RetryAttempts"] = attempts - 1
                error = pair[1].get("Error", {})
                raise self._raw.exceptions.from_code(error.get("Code"))(pair[1], name)
            time.sleep(delay)

    def _needs_retry(
        self,
        operation: OperationModel,
        attempts: int,
        request_dict: dict[str, Any],
        response: tuple[_Response, dict[str, Any]] | None,
        caught: Exception | None,
    ) -> float | None:
        """botocore's retry handler's answer (the client's mode): seconds to sleep, or None."""
        responses = self._raw.meta.events.emit(
            f"needs-retry.{self._service_id}.{operation.name}",
            response=response,
            endpoint=None,
            operation=operation,
            attempts=attempts,
            caught_exception=caught,
            request_dict=request_dict,
        )
        for _handler, value in responses:
            if value is not None:
                return None if value is False else float(value)
        return None

    def _botocore_parse(self, operation: OperationModel, response: _Response) -> dict[str, Any]:
        parsed: dict[str, Any] = self._raw._response_parser.parse(
            {
                "headers": response.headers,
                "status_code": response.status_code,
                "body": response.content,
                "context": {"operation_name": operation.name},
            },
            operation.output_shape,
        )
        return parsed

    # ---- HTTP ----------------------------------------------------------------------------

    def _connection(self, plan: Plan) -> tuple[Connection, bool]:
        with self._lock:
            if self._idle:
                return self._idle.pop(), True
        conn = Connection(
            plan.host.strip("[]"), plan.port, connect_timeout=plan.connect_timeout,
            read_timeout=plan.read_timeout, ssl_context=plan.ssl_context,
        )  # fmt: skip
        return conn, False

    def _release(self, conn: Connection) -> None:
        with self._lock:
            if not self._closed and len(self._idle) < self._max_pool:
                self._idle.append(conn)
                return
        conn.close()

    def _send(self, plan: Plan, body: bytes, headers: dict[str, str]) -> _Response:
        """One attempt. A kept connection the server closed meanwhile is replaced once, as
        urllib3 does; other failures raise botocore's exceptions for them."""
        head = request_head(plan.host_header, headers, len(body))
        for _ in range(2):
            conn, reused = self._connection(plan)
            connected = conn.connected
            try:
                if not connected:
                    conn.connect()
                    connected = True
                answer = conn.exchange(head, body)
            except (ConnectionResetError, BrokenPipeError) as exc:  # Disconnected included
                conn.close()
                if reused:
                    continue
                raise botocore.exceptions.ConnectionClosedError(
                    endpoint_url=plan.url, request=None, error=exc
                ) from exc
            except TimeoutError as exc:
                conn.close()
                if not connected:
                    raise botocore.exceptions.ConnectTimeoutError(
                        endpoint_url=plan.url, error=exc
                    ) from exc
                raise botocore.exceptions.ReadTimeoutError(
                    endpoint_url=plan.url, error=exc
                ) from exc
            except (OSError, BadAnswer) as exc:
                conn.close()
                if reused and isinstance(exc, BadAnswer):
                    continue
                raise botocore.exceptions.EndpointConnectionError(
                    endpoint_url=plan.url, error=exc
                ) from exc
            except BaseException:
                conn.close()  # half an exchange: never back to the pool
                raise
            if answer.will_close:
                conn.close()
            else:
                self._release(conn)
            return _Response(answer.status, answer.headers, answer.body)
        raise botocore.exceptions.ConnectionClosedError(
            endpoint_url=plan.url, request=None, error="connection closed twice"
        )
