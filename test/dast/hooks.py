"""Schemathesis hooks for `npm run dast` (loaded through SCHEMATHESIS_HOOKS).

- Auth: a fresh Bearer token per role, obtained through the real login flows (service client:
  POST /v1/auth/token; admin operator: /v1/auth/login then /v1/auth/mfa with an RFC 6238 code) and
  renewed after 10 minutes, well before the 15-minute expiry. Admin and auditor routes get the admin
  token, everything else the service token.
- Idempotency: a unique Idempotency-Key on every POST, so each generated case is executed, not
  replayed.
- Seeds: most generated cases get a real card token and, for routes with an id, a real resource id
  (from the harness, test/dast/serve.ts), so payments, captures, refunds, disputes (evidence, accept),
  reconciliation runs and reads are fuzzed past the 404.
- Check `settle_error_shape`: every 4xx/5xx has the contract's error body and a Request-Id header.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import os
import struct
import threading
import time
import uuid

import requests
import schemathesis


CONFIG = json.loads(open(os.environ["SETTLE_DAST_CONFIG"], encoding="utf-8").read())
BASE = CONFIG["baseUrl"]
SEEDS = CONFIG["seeds"]
OWN_IDS = {"clients": set(CONFIG["own"]["clientIds"]), "operators": set(CONFIG["own"]["operatorIds"])}
TOKEN_TTL_S = 600
# The card networks' documented test Visa number (test code only).
TEST_VISA = "4242424242424242"
ADMIN_PREFIXES = ("/v1/clients", "/v1/operators", "/v1/signing-keys", "/v1/audit-events", "/v1/reconciliation")

_lock = threading.Lock()
_tokens: dict[str, tuple[str, float]] = {}
_counter = itertools.count()
_last_step: dict[str, int] = {}


def _role(path: str) -> str:
    return "admin" if path.startswith(ADMIN_PREFIXES) else "service"


def _totp(secret_b32: str, at: float) -> str:
    key = base64.b32decode(secret_b32 + "=" * (-len(secret_b32) % 8))
    mac = hmac.new(key, struct.pack(">Q", int(at) // 30), hashlib.sha1).digest()
    offset = mac[-1] & 0x0F
    code = (struct.unpack(">I", mac[offset : offset + 4])[0] & 0x7FFFFFFF) % 1_000_000
    return f"{code:06d}"


def _post(path: str, body: dict) -> dict:
    res = requests.post(BASE + path, json=body, timeout=30)
    if res.status_code != 200:
        raise RuntimeError(f"dast auth: {path} answered {res.status_code}: {res.text[:200]}")
    return res.json()


def _issue(role: str) -> str:
    if role == "service":
        svc = CONFIG["service"]
        return _post("/v1/auth/token", {"clientId": svc["clientId"], "clientSecret": svc["clientSecret"]})[
            "accessToken"
        ]
    # A TOTP code is accepted once: take an admin whose last code was from an earlier 30-s step.
    while True:
        now = time.time()
        step = int(now) // 30
        admin = next((a for a in CONFIG["admins"] if _last_step.get(a["username"], -1) < step), None)
        if admin:
            break
        time.sleep(30 - now % 30 + 0.1)
    _last_step[admin["username"]] = step
    mfa = _post("/v1/auth/login", {"username": admin["username"], "password": admin["password"]})["mfaToken"]
    return _post("/v1/auth/mfa", {"mfaToken": mfa, "code": _totp(admin["totpSecret"], now)})["accessToken"]


def token_for(role: str) -> str:
    with _lock:
        cached = _tokens.get(role)
        if cached and cached[1] > time.monotonic():
            return cached[0]
        token = _issue(role)
        _tokens[role] = (token, time.monotonic() + TOKEN_TTL_S)
        return token


@schemathesis.auth(refresh_interval=None)
class SettleAuth:
    def get(self, case, ctx):
        return token_for(_role(ctx.operation.path))

    def set(self, case, data, ctx):
        case.headers = dict(case.headers or {})
        case.headers["Authorization"] = f"Bearer {data}"


# Which seeded id each path parameter may take (admin ids are throwaway ones, never the fuzzer's own).
def _seed_ids(method: str, path: str, name: str) -> list[str]:
    if name == "token":
        return SEEDS["deletableCardTokens"] if method == "DELETE" else [SEEDS["cardToken"]]
    if path.startswith("/v1/payments/"):
        return SEEDS["paymentIds"]
    if path.startswith("/v1/bank-accounts/"):
        return [SEEDS["bankAccountId"]]
    if path.startswith("/v1/webhook-endpoints/"):
        return [SEEDS["endpointId"]]
    # A dispute the sandbox opened (a capture of 41300) and a finished reconciliation run.
    if path.startswith("/v1/disputes/"):
        return [SEEDS["disputeId"]]
    if path.startswith("/v1/reconciliation/runs/"):
        return [SEEDS["reconciliationRunId"]]
    if path.startswith("/v1/clients/"):
        return [SEEDS["clientId"]]
    if path.startswith("/v1/operators/"):
        return [SEEDS["operatorId"]]
    return []


@schemathesis.hook
def before_call(context, case, kwargs):
    n = next(_counter)
    path = case.operation.path
    if case.method.upper() == "POST":
        case.headers = dict(case.headers or {})
        case.headers["Idempotency-Key"] = f"dast-{uuid.uuid4()}"
    # The fuzzer reuses ids it saw in responses: never let it disable or revoke its own credentials.
    own = OWN_IDS.get(path.split("/")[2] if path.count("/") >= 3 else "")
    if own and case.path_parameters and case.path_parameters.get("id") in own:
        case.path_parameters["id"] = _seed_ids(case.method.upper(), path, "id")[0]
    # Three cases in four use real resources; the rest keep what was generated (404 paths).
    if n % 4 == 3:
        return
    if case.path_parameters:
        for name in list(case.path_parameters):
            ids = _seed_ids(case.method.upper(), path, name)
            if ids:
                case.path_parameters[name] = ids[n % len(ids)]
    body = case.body
    if isinstance(body, dict) and isinstance(body.get("paymentMethod"), dict) and "token" in body["paymentMethod"]:
        body["paymentMethod"]["token"] = SEEDS["cardToken"]
    # A generated number is almost never Luhn-valid: half the tokenizations get the test Visa.
    if path == "/v1/vault/cards" and isinstance(body, dict) and isinstance(body.get("number"), str) and n % 2:
        body["number"] = TEST_VISA


ERROR_TYPES = {
    "invalid_request",
    "authentication",
    "authorization",
    "card_error",
    "idempotency",
    "conflict",
    "not_found",
    "rate_limit",
    "provider_unavailable",
    "internal",
}


@schemathesis.check
def settle_error_shape(ctx, response, case):
    """Every 4xx/5xx: {error:{type,code,message,requestId}} and the same id in the Request-Id header."""
    if response.status_code < 400:
        return None
    request_id = response.headers.get("Request-Id") or response.headers.get("request-id")
    if isinstance(request_id, list):
        request_id = request_id[0] if request_id else None
    if not request_id:
        raise AssertionError(f"{response.status_code} without a Request-Id header")
    try:
        body = json.loads(response.content)
    except ValueError:
        raise AssertionError(f"{response.status_code} body is not JSON: {response.content[:120]!r}")
    err = body.get("error") if isinstance(body, dict) else None
    if not isinstance(err, dict):
        raise AssertionError(f"{response.status_code} body has no `error` object")
    for field in ("type", "code", "message", "requestId"):
        if not isinstance(err.get(field), str) or not err.get(field):
            raise AssertionError(f"{response.status_code} error without a string `{field}`")
    if err["type"] not in ERROR_TYPES:
        raise AssertionError(f"{response.status_code} error type {err['type']!r} is not in the contract")
    if err["requestId"] != request_id:
        raise AssertionError("error.requestId differs from the Request-Id header")
    return None
