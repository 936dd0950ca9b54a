"""Webhook payloads, signatures and delivery over HTTP (stdlib ``urllib``, no new dependency).

Envelope (version 1, documented in ``docs/webhooks.md``)::

    {"type": "budget.threshold", "id": "evt_<hash of the idempotency key>",
     "created": "2026-11-24T06:00:00Z", "version": 1, "data": {...}}

Money is a JSON number written from the Decimal (``usagectl.render.json_dumps``: half-even to
6 decimals, never through float). The ``id`` is stable for an idempotency key, so a receiver
can drop a second copy (delivery is at least once: a crash after the receiver answered 2xx and
before the ledger write sends the event again on the next run).

Signing, the way Stripe and Svix do it: ``usagectl-signature: t=<unix seconds>,v1=<hex
HMAC-SHA256 of "{t}.{body}" keyed with the secret>``. Every attempt is signed afresh, so a
retry minutes later is not mistaken for a replay. ``verify_signature`` is the receiver's side.

Delivery: POST with a deadline for the whole attempt; redirects are not followed (the signed request would be re-sent
elsewhere); a 2xx is success; network errors, timeouts and 5xx are retried with exponential
backoff (0.5 s, 1 s, 2 s … × a jitter of 1-1.25, capped at 30 s) up to ``max_attempts``;
any other status (3xx, 4xx) is a failure without retry.

Payloads: ``budget_event``, ``daily_summary_event``, ``anomaly_event`` and ``invoice_event``
turn service results into an ``Event``: the JSON ``data`` and the one-paragraph Slack ``text``.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import hmac
import http.client
import random
import re
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from usagectl import __version__
from usagectl.models import counted, noun
from usagectl.render.formats import format_compact, format_int, format_money, quantize, used_pct_machine
from usagectl.render.text import json_dumps

if TYPE_CHECKING:
    from usagectl.models import Report
    from usagectl.services.budgets import BudgetState
    from usagectl.services.spikes import Anomaly, DailyUsage

PAYLOAD_VERSION = 1
SIGNATURE_HEADER = "usagectl-signature"
EVENT_HEADER = "usagectl-event"
DELIVERY_HEADER = "usagectl-delivery"
DEFAULT_TOLERANCE = 300
BACKOFF_BASE = 0.5
BACKOFF_CAP = 30.0
JITTER = 0.25
ERROR_TEXT_LIMIT = 300

Sleep = Callable[[float], None]
# The default sleep between attempts; ``deliver(sleep=...)`` or replacing this keeps tests from waiting.
_sleep: Sleep = time.sleep


@dataclass(frozen=True)
class Event:
    """One due event: its type, idempotency key, JSON ``data`` and the Slack ``text`` of it.
    ``supersedes`` are lower budget-threshold keys of the same period this event passes over."""

    type: str
    key: str
    created: datetime
    data: dict[str, Any]
    text: str
    supersedes: tuple[str, ...] = ()


def event_id(idempotency_key: str) -> str:
    """``evt_`` + the first 32 hex digits of SHA-256 of the key: the same key, the same id."""
    return "evt_" + hashlib.sha256(idempotency_key.encode("utf-8")).hexdigest()[:32]


def iso_utc(instant: datetime) -> str:
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def envelope(event_type: str, idempotency_key: str, data: Mapping[str, Any], created: datetime) -> dict[str, Any]:
    return {
        "type": event_type,
        "id": event_id(idempotency_key),
        "created": iso_utc(created),
        "version": PAYLOAD_VERSION,
        "data": dict(data),
    }


def body_json(obj: Any) -> str:
    """The exact request body: compact JSON, ASCII-only, Decimals as exact numbers."""
    return json_dumps(obj, indent=None)


def body_format(body: str) -> str:
    """``"slack"`` for a ``{"text": ...}`` body, ``"json"`` for an envelope (a recorded body, so
    that a retry can tell whether the webhook's ``format`` has changed since)."""
    import json

    try:
        obj = json.loads(body)
    except ValueError:
        return "json"
    return "slack" if isinstance(obj, dict) and "text" in obj and "version" not in obj else "json"


def _mac(secret: str, timestamp: int, body: bytes) -> str:
    signed = str(timestamp).encode("ascii") + b"." + body
    return hmac.new(secret.encode("utf-8"), signed, hashlib.sha256).hexdigest()


def _as_bytes(body: str | bytes) -> bytes:
    return body if isinstance(body, bytes) else body.encode("utf-8")


def sign(secret: str, body: str | bytes, timestamp: int) -> str:
    """The ``usagectl-signature`` header value for ``body`` sent at ``timestamp`` (unix seconds)."""
    return f"t={timestamp},v1={_mac(secret, timestamp, _as_bytes(body))}"


def verify_signature(
    secret: str, header: str, body: str | bytes, tolerance: int = DEFAULT_TOLERANCE, now: float | None = None
) -> bool:
    """Receiver side: True when one ``v1`` MAC in ``header`` matches ``body`` and the
    timestamp is within ``tolerance`` seconds of ``now`` (either way: replays and clock-skewed
    forgeries are refused). Never raises on a malformed header; compares in constant time."""
    timestamp: int | None = None
    macs: list[str] = []
    for part in header.split(","):
        key, sep, value = part.strip().partition("=")
        if not sep:
            continue
        if key == "t":
            try:
                timestamp = int(value)
            except ValueError:
                return False
        elif key == "v1":
            macs.append(value)
    if timestamp is None or not macs:
        return False
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance:
        return False
    expected = _mac(secret, timestamp, _as_bytes(body))
    return any(hmac.compare_digest(expected, m) for m in macs)


def request_headers(
    event_type: str, delivery_id: str, secret: str, body: str | bytes, timestamp: int
) -> dict[str, str]:
    return {
        "content-type": "application/json",
        "user-agent": f"usagectl/{__version__}",
        SIGNATURE_HEADER: sign(secret, body, timestamp),
        EVENT_HEADER: event_type,
        DELIVERY_HEADER: delivery_id,
    }


@dataclass(frozen=True)
class Attempt:
    """One HTTP attempt. ``status`` is None on a network error or timeout."""

    number: int  # 1-based within this run
    ok: bool
    status: int | None
    error: str | None
    retryable: bool


@dataclass(frozen=True)
class DeliveryResult:
    ok: bool
    attempts: tuple[Attempt, ...]

    @property
    def last(self) -> Attempt:
        return self.attempts[-1]


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect is answered as the 3xx it is: never re-send a signed body elsewhere."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):  # type: ignore[no-untyped-def]
        return None


def _shut(sock: socket.socket) -> None:
    """End a socket's traffic from another thread: a blocked read or write returns at once.
    ``socket.socket.shutdown`` on the socket itself, not ``SSLSocket.shutdown`` (which would
    also drop its TLS state under the reading thread)."""
    with contextlib.suppress(OSError):
        socket.socket.shutdown(sock, socket.SHUT_RDWR)


class _Attempt:
    """One POST in flight on a worker thread, and its deadline. ``expire`` at the deadline
    shuts down every socket the POST opened (and any it opens later: ``attach`` refuses), so
    the worker ends too; whichever of ``finish`` and ``expire`` comes first wins, so an answer
    is either returned or counted as a timeout, never both."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self._expired = False
        self._outcome: tuple[int | None, str | None] | None = None
        self._error: BaseException | None = None

    def attach(self, sock: socket.socket) -> socket.socket:
        with self._lock:
            if not self._expired:
                self._sockets.append(sock)
                return sock
        _shut(sock)  # a connection that only got through (DNS, connect) after the deadline
        raise TimeoutError("the attempt's deadline passed")

    def finish(self, outcome: tuple[int | None, str | None] | None, error: BaseException | None = None) -> None:
        with self._lock:
            if not self._expired:
                self._outcome, self._error = outcome, error

    def expire(self) -> tuple[int | None, str | None] | None:
        """The outcome if the POST has finished; else mark it timed out, stop it, and None."""
        with self._lock:
            if self._error is not None:
                raise self._error
            if self._outcome is not None:
                return self._outcome
            self._expired = True
            sockets = list(self._sockets)
        for sock in sockets:
            _shut(sock)
        return None


class _DeadlineConnection(http.client.HTTPConnection):
    """Every socket it opens is attached to its attempt (so the deadline can end it)."""

    def __init__(self, *args: Any, attempt: _Attempt, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._attempt = attempt
        self._create_connection = self._attached_connection

    def _attached_connection(self, *args: Any, **kwargs: Any) -> socket.socket:
        return self._attempt.attach(socket.create_connection(*args, **kwargs))

    def connect(self) -> None:
        super().connect()
        if self.sock is not None:
            self._attempt.attach(self.sock)  # HTTPS: the TLS socket that replaced the plain one


class _DeadlineHTTPSConnection(_DeadlineConnection, http.client.HTTPSConnection):
    pass


class _HTTPHandler(urllib.request.HTTPHandler):
    def __init__(self, attempt: _Attempt) -> None:
        super().__init__()
        self._attempt = attempt

    def http_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self.do_open(functools.partial(_DeadlineConnection, attempt=self._attempt), req)


class _HTTPSHandler(urllib.request.HTTPSHandler):
    def __init__(self, attempt: _Attempt) -> None:
        super().__init__()
        self._attempt = attempt

    def https_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self.do_open(functools.partial(_DeadlineHTTPSConnection, attempt=self._attempt), req)


def _scrub(text: str, secret: str) -> str:
    text = " ".join(text.split())
    if secret:
        text = text.replace(secret, "***")
    return text[:ERROR_TEXT_LIMIT]


def _post(
    url: str, body: bytes, headers: Mapping[str, str], timeout: float, attempt: _Attempt
) -> tuple[int | None, str | None]:
    opener = urllib.request.build_opener(_NoRedirect, _HTTPHandler(attempt), _HTTPSHandler(attempt))
    req = urllib.request.Request(url, data=body, headers=dict(headers), method="POST")
    try:
        with opener.open(req, timeout=timeout) as resp:
            resp.read(65536)
            return int(resp.status), None
    except urllib.error.HTTPError as exc:  # the server answered with a non-2xx status
        exc.close()
        return int(exc.code), f"HTTP {exc.code} {exc.reason}"
    except urllib.error.URLError as exc:
        reason = exc.reason
        if isinstance(reason, TimeoutError):
            return None, f"timed out after {timeout:g} s"
        return None, f"network error: {reason}"
    except TimeoutError:
        return None, f"timed out after {timeout:g} s"
    except (OSError, http.client.HTTPException) as exc:
        return None, f"network error: {type(exc).__name__}: {exc}"


def post_once(url: str, body: bytes, headers: Mapping[str, str], timeout: float) -> tuple[int | None, str | None]:
    """POST once: (status, None) when the server answered, (None, error text) when it did not,
    within ``timeout`` seconds for the whole attempt. The socket timeout alone bounds each wait
    for the next bytes, not the attempt: a receiver (or a proxy) that answers a byte at a time
    would hold the run, and the notify lock, for as long as it likes. So the POST runs on a
    worker thread, and at the deadline its sockets are shut down and the attempt counts as
    timed out (retried like any timeout)."""
    attempt = _Attempt()

    def work() -> None:
        try:
            attempt.finish(_post(url, body, headers, timeout, attempt))
        except BaseException as exc:  # a bug of ours: raised again on the calling thread
            attempt.finish(None, exc)

    worker = threading.Thread(target=work, name="usagectl-webhook", daemon=True)
    worker.start()
    worker.join(timeout)
    outcome = attempt.expire()
    if outcome is None:
        return None, f"timed out after {timeout:g} s"
    return outcome


def backoff_delay(failed_attempts: int, rand: Callable[[], float] = random.random) -> float:
    """Seconds to wait after the ``failed_attempts``-th failure: 0.5, 1, 2, 4 … × (1 + 0.25·rand), ≤ 30."""
    return float(min(BACKOFF_CAP, BACKOFF_BASE * 2 ** (failed_attempts - 1) * (1 + JITTER * rand())))


def deliver(
    url: str,
    *,
    event_type: str,
    delivery_id: str,
    body: str,
    secret: str,
    timeout: float,
    max_attempts: int,
    on_attempt: Callable[[Attempt], None] | None = None,
    sleep: Sleep | None = None,
    clock: Callable[[], float] | None = None,
    rand: Callable[[], float] | None = None,
) -> DeliveryResult:
    """POST ``body`` until a 2xx, a non-retryable answer, or ``max_attempts``; ``on_attempt``
    sees each attempt as it ends (the caller records it in the ledger)."""
    sleep = sleep or _sleep
    clock = clock or time.time
    rand = rand or random.random
    payload = body.encode("utf-8")
    attempts: list[Attempt] = []
    for number in range(1, max_attempts + 1):
        headers = request_headers(event_type, delivery_id, secret, payload, int(clock()))
        status, error = post_once(url, payload, headers, timeout)
        ok = status is not None and 200 <= status < 300
        retryable = not ok and (status is None or status >= 500)
        attempt = Attempt(number, ok, status, None if error is None else _scrub(error, secret), retryable)
        attempts.append(attempt)
        if on_attempt is not None:
            on_attempt(attempt)
        if ok or not retryable:
            break
        if number < max_attempts:
            sleep(backoff_delay(number, rand))
    return DeliveryResult(ok=attempts[-1].ok, attempts=tuple(attempts))


# --------------------------------------------------------------------------- payloads

HUNDRED = Decimal(100)
LEVEL_EMOJI = {"warning": "🟡", "caution": "🟠", "critical": "🔴", "exceeded": "⛔"}
TOP_N = 5
TOKEN_COUNTS = ("requests", "input_tokens", "cache_read_tokens", "cache_write_tokens", "output_tokens", "total_tokens")


def plain(value: Decimal) -> str:
    """A threshold or a limit in a key: ``90``, ``92.5`` (never ``9E+1``)."""
    return format(value.normalize(), "f")


# the limit at the end of a budget alert key (``...:90:amount=500``); keys written before it
# was there end at the threshold (``legacy_key``)
_LIMIT_PART = re.compile(r":(?:amount|tokens)=[0-9.]+$")


def limit_part(kind: str, limit: Decimal) -> str:
    """The budget's limit as its alert keys hold it: ``amount=500`` (500.00 too), ``amount=12.345``,
    ``tokens=100000000``. Part of the key so that a limit raised (or lowered) mid-period makes
    its thresholds due again: an alert is for a threshold of that limit."""
    return f"{'tokens' if kind == 'tokens' else 'amount'}={plain(limit)}"


def legacy_key(key: str) -> str | None:
    """The key a budget alert had before the limit was part of it (a ledger written by an older
    usagectl): ``key`` without its ``:amount=…`` / ``:tokens=…`` end. None for other keys."""
    if not key.startswith("budget.threshold:"):
        return None
    found = _LIMIT_PART.search(key)
    return key[: found.start()] if found else None


def _shown_limit(limit: Decimal | int | None, tokens: bool) -> str:
    """An amount of a budget as alert texts show it: ``$10.00`` or ``4,000,000 tokens``."""
    if limit is None:
        return _money(None)
    return format_int(int(limit)) + " tokens" if tokens else _money(Decimal(limit))


def recorded_for_limit(body: str, event: Event) -> bool | None:
    """Whether a recorded budget alert ``body`` was about the limit of ``event`` (same kind and
    amount): read from a JSON body's ``budget.limit``, or from the amount a Slack text names
    (to the cent: $12.345 and $12.35 read as the same). None when the body does not say (an
    empty body: a superseded row)."""
    import json

    budget = event.data["budget"]
    try:
        doc = json.loads(body, parse_float=Decimal) if body else None
    except ValueError:
        return None
    if not isinstance(doc, dict):
        return None
    if "text" in doc and "version" not in doc:
        tokens = budget["kind"] == "tokens"
        return f" {_shown_limit(budget['limit'], tokens)} ({budget['period']})" in str(doc["text"])
    data = doc.get("data")
    was = data.get("budget") if isinstance(data, dict) else None
    if not isinstance(was, dict) or "limit" not in was:
        return None
    same_kind = was.get("kind", budget["kind"]) == budget["kind"]
    return same_kind and Decimal(str(was["limit"])) == quantize(Decimal(budget["limit"]), 6)


def _pct(value: Decimal | None, places: int = 2) -> Decimal | None:
    return None if value is None else quantize(value, places)


def _used(value: Decimal | None) -> Decimal | None:
    """A used share of a budget in a payload: rounded down, never a threshold not reached."""
    return None if value is None else used_pct_machine(value)


def _cost(sums: Mapping[str, Any]) -> Decimal | None:
    """Priced cost; 0 when there was no usage; None (never $0) when all of it was unpriced."""
    cost: Decimal | None = sums.get("cost_usd")
    if cost is None and not sums.get("unpriced_requests"):
        return Decimal(0)
    return cost


def _counts(sums: Mapping[str, Any]) -> dict[str, int]:
    return {k: int(sums.get(k) or 0) for k in TOKEN_COUNTS}


def _money(value: Decimal | None) -> str:
    return format_money(value)


def _tokens(value: Decimal | int | None) -> str:
    return "–" if value is None else format_compact(int(value))


def _token_count(value: int) -> str:
    """``1.51M tokens``, ``1 token``: the count shortened, the noun as the count asks."""
    return f"{_tokens(value)} {noun(value, 'token')}"


def _top(items: list[dict[str, Any]], key: str) -> str:
    return ", ".join(f"{r[key] or '(unattributed)'} {_money(r['cost_usd'])}" for r in items)


def _unpriced_text(requests: int, tokens: int) -> str:
    if not requests:
        return ""
    verb = "is" if requests == 1 else "are"
    return f" ⚠️ {counted(requests, 'unpriced request')} ({_token_count(tokens)}) {verb} NOT in the cost."


def budget_event(state: BudgetState, created: datetime) -> Event:
    """``budget.threshold`` for a state whose ``threshold_crossed`` is set."""
    b = state.budget
    crossed = state.threshold_crossed
    assert crossed is not None
    scope = "plan-quota" if b.is_plan_quota else b.scope
    base = f"budget.threshold:{scope}:{b.period}:{state.period_start.isoformat()}"
    limit = limit_part(b.kind, b.limit)
    levels = sorted({*b.thresholds, HUNDRED})
    tokens = b.kind == "tokens"

    def amount(v: Decimal | None) -> Decimal | int | None:
        return None if v is None else (int(v) if tokens else v)

    def shown(v: Decimal | None) -> str:
        return _shown_limit(v, tokens)

    data = {
        "budget": {"scope": b.scope, "label": b.label, "kind": b.kind, "limit": amount(b.limit),
                   "period": b.period, "thresholds": list(b.thresholds)},
        "period": {"start": state.period_start, "end": state.period_end},
        "threshold": crossed,
        "thresholds_crossed": [t for t in levels if t <= crossed],
        "level": state.level,
        "spent": amount(state.spent),
        "percent": _used(state.percent),
        "projected": amount(state.projected),
        "projected_percent": _used(state.projected_percent),
        "projected_cross_date": state.projected_cross_date,
        "unpriced_requests": state.unpriced_requests,
    }  # fmt: skip
    name = b.label if b.is_plan_quota else b.scope
    pct = state.shown_percent  # rounded down: never a threshold the level has not reached
    if state.level == "exceeded":
        text = f"{LEVEL_EMOJI['exceeded']} {name} has exceeded {shown(b.limit)} ({b.period}): {pct} % used"
    else:
        text = f"{LEVEL_EMOJI.get(state.level, '🔔')} {name} is at {pct} % of {shown(b.limit)} ({b.period})"
    if state.projected is not None:
        text += f" — projected {shown(state.projected)}"
        if state.projected_cross_date is not None and state.level != "exceeded":
            text += f", crossing on {state.projected_cross_date.isoformat()}"
    if state.unpriced_requests:
        text += f" ({counted(state.unpriced_requests, 'unpriced request')} not counted)"
    lower = tuple(f"{base}:{plain(t)}:{limit}" for t in levels if t < crossed)
    return Event("budget.threshold", f"{base}:{plain(crossed)}:{limit}", created, data, text, lower)


def daily_summary_event(usage: DailyUsage, day: date, created: datetime) -> Event:
    """``usage.daily_summary`` of ``day`` (a complete calendar day in ``usage.tz``)."""
    sums = usage.by_day.get(day, {})

    def order(item: tuple[Any, dict[str, Any]]) -> tuple[Decimal, int, str]:
        return (-(item[1]["cost_usd"] or Decimal(0)), -int(item[1]["total_tokens"]), str(item[0]))

    models = [
        {"model": k[0], "provider": k[1], "requests": int(v["requests"]), "total_tokens": int(v["total_tokens"]),
         "cost_usd": v["cost_usd"], "unpriced_requests": int(v["unpriced_requests"])}
        for k, v in sorted(usage.by_model.get(day, {}).items(), key=order)[:TOP_N]
    ]  # fmt: skip
    members = [
        {"member": k, "requests": int(v["requests"]), "total_tokens": int(v["total_tokens"]),
         "cost_usd": v["cost_usd"], "unpriced_requests": int(v["unpriced_requests"])}
        for k, v in sorted(usage.by_member.get(day, {}).items(), key=order)[:TOP_N]
    ]  # fmt: skip
    unpriced = usage.unpriced.get(day, [])
    u_req, u_tok = int(sums.get("unpriced_requests") or 0), int(sums.get("unpriced_tokens") or 0)
    counts = _counts(sums)
    data = {"date": day, "tz": usage.tz} | counts | {
        "cost_usd": _cost(sums),
        "unpriced": {"requests": u_req, "total_tokens": u_tok,
                     "models": [{"model": r["model_raw"], "requests": r["requests"],
                                 "total_tokens": r["total_tokens"]} for r in unpriced]},
        "top_models": models,
        "top_members": members,
    }  # fmt: skip
    text = (
        f"📊 Usage on {day.isoformat()} ({usage.tz}): {_money(_cost(sums))}, {counted(counts['requests'], 'request')}, "
        f"{_token_count(counts['total_tokens'])}."
    )
    if models:
        text += f" Top models: {_top(models, 'model')}."
    if members:
        text += f" Top members: {_top(members, 'member')}."
    text += _unpriced_text(u_req, u_tok)
    return Event("usage.daily_summary", f"usage.daily_summary:{day.isoformat()}", created, data, text)


def anomaly_event(anomaly: Anomaly, tz: str, created: datetime) -> Event:
    """``usage.anomaly`` for one anomalous metric of one day (the rule: ``usagectl.services.spikes``)."""
    v = anomaly.verdict
    money = v.metric == "cost_usd"

    def shown(x: Decimal) -> str:
        return _money(x) if money else _tokens(x) + " tokens"

    data = {
        "date": v.day,
        "tz": tz,
        "metric": v.metric,
        "value": v.value,
        "expected": {"low": v.expected_low, "high": v.expected_high},
        "floor": v.floor,
        "baselines": [{"name": b.name, "days": [d.isoformat() for d in b.days], "median": b.median,
                       "sigma": b.sigma, "robust_z": b.robust_z} for b in v.baselines],
        "rule": "robust z >= 3 and at least 2x the median against both baselines, and above the floor",
        "contributors": [{"dimension": c.dimension, "name": c.name, "value": c.value,
                          "baseline_median": c.baseline_median, "excess": c.excess} for c in anomaly.contributors],
    }  # fmt: skip
    recent = next(b for b in v.baselines if b.name == "recent")
    what = "cost" if money else "token usage"
    text = (
        f"⚠️ Unusual {what} on {v.day.isoformat()} ({tz}): {shown(v.value)}, expected up to {shown(v.expected_high)} "
        f"(median {shown(recent.median)} over the previous 14 days)."
    )
    if anomaly.contributors:
        parts = [f"{c.dimension} {c.name or '(unattributed)'} +{shown(c.excess)}" for c in anomaly.contributors]
        text += " Top contributors: " + ", ".join(parts) + "."
    return Event("usage.anomaly", f"usage.anomaly:{v.day.isoformat()}:{v.metric}", created, data, text)


def invoice_event(report: Report, month: str, created: datetime) -> Event:
    """``invoice.monthly`` from ``usagectl.services.reports.month`` of a complete month."""
    t = report.totals
    section = next(s for s in report.sections if s.key == "models")
    models = [
        {"model": r["model"], "provider": r["provider"]} | _counts(r)
        | {"cost_usd": r["cost_usd"], "cost_share_pct": _pct(r["cost_share_pct"]),
           "unpriced_requests": r["unpriced_requests"]}
        for r in section.rows
    ]  # fmt: skip
    counts = _counts(t)
    u_req, u_tok = int(t.get("unpriced_requests") or 0), int(t.get("unpriced_tokens") or 0)
    tz = report.filters["tz"]
    data = {"month": month, "tz": tz, "period": {"start": report.filters["since"], "end": report.filters["until"]}}
    data |= counts | {"cost_usd": _cost(t), "models": models}
    data["unpriced"] = {"requests": u_req, "total_tokens": u_tok, "models": list(t.get("unpriced_models", []))}
    text = (
        f"🧾 Invoice {month} ({tz}): {_money(_cost(t))} for {_token_count(counts['total_tokens'])} over "
        f"{counted(counts['requests'], 'request')}."
    )
    if models:
        text += " By model: " + ", ".join(f"{m['model']} {_money(m['cost_usd'])}" for m in models[:TOP_N])
        text += f" and {len(models) - TOP_N} more." if len(models) > TOP_N else "."
    text += _unpriced_text(u_req, u_tok)
    return Event("invoice.monthly", f"invoice.monthly:{month}", created, data, text)
