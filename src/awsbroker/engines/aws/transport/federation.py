"""AWS's sign-in federation endpoint (console sign-in): `getSigninToken` over plain HTTPS, and
the `login` URL built from its answer.

Documented in AWS's IAM User Guide, "Enable custom identity broker access to the AWS console":
a GET of `<endpoint>?Action=getSigninToken&Session=<JSON>` (plus `SessionDuration`, 900 to
43,200 seconds, for credentials of AssumeRole*) answers `{"SigninToken": "..."}`; the user then
opens `<endpoint>?Action=login&Issuer=...&Destination=...&SigninToken=...` within 15 minutes.

The call goes through the proxy and CA bundle users configure for AWS's SDKs: `HTTPS_PROXY`,
`HTTP_PROXY` and `NO_PROXY` (urllib reads them as botocore does) and `AWS_CA_BUNDLE`. The
session's credentials travel in the query string, as AWS documents; they are never logged.
"""

from __future__ import annotations

import functools
import json
import os
import ssl
import urllib.error
import urllib.parse
import urllib.request

from awsbroker.sdk.errors import UpstreamError

TIMEOUT = 30.0
COMMERCIAL = "https://signin.aws.amazon.com/federation"
GOVCLOUD = "https://signin.amazonaws-us-gov.com/federation"
CHINA = "https://signin.amazonaws.cn/federation"
CONSOLES = {
    COMMERCIAL: "https://console.aws.amazon.com/",
    GOVCLOUD: "https://console.amazonaws-us-gov.com/",
    CHINA: "https://console.amazonaws.cn/",
}


class FederationError(UpstreamError):
    """The federation endpoint refused the session or could not be reached (502)."""


def default_endpoint(region: str) -> str:
    """The partition's federation endpoint, from the region the engine calls AWS in."""
    if region.startswith("us-gov-"):
        return GOVCLOUD
    if region.startswith("cn-"):
        return CHINA
    return COMMERCIAL


def default_destination(endpoint: str) -> str:
    """The console home of the endpoint's partition (the commercial one for any other)."""
    return CONSOLES.get(endpoint, CONSOLES[COMMERCIAL])


def login_url(endpoint: str, token: str, issuer: str, destination: str) -> str:
    query = urllib.parse.urlencode(
        {"Action": "login", "Issuer": issuer, "Destination": destination, "SigninToken": token}
    )
    return f"{endpoint}?{query}"


@functools.lru_cache(maxsize=8)
def _opener(
    bundle: str | None, proxies: tuple[tuple[str, str], ...]
) -> urllib.request.OpenerDirector:
    """An opener for this CA bundle and these proxies, kept: loading the trust store takes
    tens of milliseconds, more than the rest of a sign-in (`NO_PROXY` is read at each
    request by urllib itself)."""
    return urllib.request.build_opener(
        urllib.request.ProxyHandler(dict(proxies)),
        urllib.request.HTTPSHandler(context=ssl.create_default_context(cafile=bundle)),
    )


def _current_opener() -> urllib.request.OpenerDirector:
    """The opener for the environment as it is now (`HTTPS_PROXY`, `AWS_CA_BUNDLE`)."""
    bundle = os.environ.get("AWS_CA_BUNDLE") or None
    return _opener(bundle, tuple(sorted(urllib.request.getproxies().items())))


class HttpFederation:
    """The `Federation` protocol (api.py) over urllib: one GET per sign-in."""

    def signin_token(
        self, endpoint: str, session: dict[str, str], session_duration: int | None
    ) -> str:
        params = {"Action": "getSigninToken", "Session": json.dumps(session)}
        if session_duration is not None:
            params["SessionDuration"] = str(session_duration)
        url = f"{endpoint}?{urllib.parse.urlencode(params)}"
        opener = _current_opener()
        try:
            with opener.open(url, timeout=TIMEOUT) as answer:
                body = answer.read(65536)
        except urllib.error.HTTPError as exc:
            raise FederationError(
                f"the federation endpoint refused the session: HTTP {exc.code}"
            ) from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise FederationError(
                f"the federation endpoint could not be reached: {reason}"
            ) from None
        try:
            token = json.loads(body)["SigninToken"]
        except (ValueError, KeyError, TypeError):
            raise FederationError(
                "the federation endpoint answered without a SigninToken"
            ) from None
        if not isinstance(token, str) or not token:
            raise FederationError("the federation endpoint answered without a SigninToken")
        return token
