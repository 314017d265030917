"""Vault's JSON envelope of a response: what `http/` sends, and what a wrapped response keeps
in its wrapping token's cubbyhole (core/wrapping.py) to send at unwrap."""

from __future__ import annotations

from awsbroker.sdk.logical import JSONObject, JSONValue, Request, Response, WrapInfo


def envelope(request: Request, response: Response) -> JSONObject:
    """The envelope of `response` to `request`; a wrapped response shows its `wrap_info` and
    warnings only, with an empty request ID, as Vault's."""
    wrap = response.wrap_info
    if wrap is not None and wrap.token:
        return {
            "request_id": "",
            "lease_id": "",
            "renewable": False,
            "lease_duration": 0,
            "data": None,
            "wrap_info": wrap_info(wrap),
            "warnings": list(response.warnings) or None,
            "auth": None,
            "mount_type": "",
        }
    body: JSONObject = {
        "request_id": request.id,
        "lease_id": response.lease_id,
        "renewable": response.renewable,
        "lease_duration": response.lease_duration,
        "data": response.data,
        "wrap_info": None,
        "warnings": list(response.warnings) or None,
        "auth": auth_block(response),
        "mount_type": response.mount_type,
    }
    if response.inject_top_level and response.data:
        for key, value in response.data.items():
            body.setdefault(key, value)
    return body


def wrap_info(wrap: WrapInfo) -> JSONObject:
    """Vault's `wrap_info` object (`wrapped_accessor` only when there is one)."""
    info: JSONObject = {
        "token": wrap.token,
        "accessor": wrap.accessor,
        "ttl": wrap.ttl,
        "creation_time": wrap.creation_time,
        "creation_path": wrap.creation_path,
    }
    if wrap.wrapped_accessor:
        info["wrapped_accessor"] = wrap.wrapped_accessor
    return info


def auth_block(response: Response) -> JSONValue:
    auth = response.auth
    if auth is None:
        return None
    return {
        "client_token": auth.client_token,
        "accessor": auth.accessor,
        "policies": list(auth.policies),
        "token_policies": list(auth.token_policies),
        "metadata": dict(auth.metadata) if auth.metadata else None,
        "lease_duration": auth.lease_duration,
        "renewable": auth.renewable,
        "entity_id": auth.entity_id,
        "token_type": auth.token_type,
        "orphan": auth.orphan,
        "mfa_requirement": None,
        "num_uses": auth.num_uses,
    }
