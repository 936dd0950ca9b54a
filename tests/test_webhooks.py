"""Webhooks and `usagectl notify`, against a REAL HTTP server on 127.0.0.1 (no mocked client).

Prices (pricing/openai.toml, USD per 1M tokens): gpt-4o input 2.50, output 10.00;
gpt-4o-mini input 0.15. mistral-large-2411 has no price (unpriced, never $0).

Budget fixture, November 2026 in UTC, budget global $10/month, thresholds 75/90/95:
  B1 2026-11-02 gpt-4o 2,000,000 in                 = 2 × 2.50            = $5.00
  B2 2026-11-10 gpt-4o 1,000,000 in + 170,000 out   = 2.50 + 0.17 × 10     = $4.20
  spent $9.20 = 92 % -> level caution, threshold 90 crossed (75 passed over).
  At NOW = 2026-11-16T00:00Z, 15 of 30 days have elapsed: projected 9.20 × 30/15 = $18.40
  (184 %); 100 % is reached after (10 − 9.20) × 15 d / 9.20 = 1.304 d -> 2026-11-17 07:18 UTC.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import run, write_jsonl
from usagectl.errors import ConfigError
from usagectl.services import notify as notify_svc
from usagectl.services import webhooks as wh
from usagectl.services.context import make_context
from usagectl.services.webhook_config import parse_webhooks
from usagectl.store import deliveries
from usagectl.store.connection import connect

SECRET = "whsec_test_7f3a9c2e5b1d8f40"
SECRET_ENV = "USAGECTL_TEST_WEBHOOK_SECRET"
NOW = datetime(2026, 11, 16, 0, 0, tzinfo=UTC)
BUDGET_KEY_90 = "budget.threshold:global:month:2026-11-01:90:amount=10"
BUDGET_KEY_75 = "budget.threshold:global:month:2026-11-01:75:amount=10"
BUDGET_EVENTS = [
    {"event_id": "B1", "ts": "2026-11-02T10:00:00Z", "model_raw": "gpt-4o", "input_tokens": 2_000_000, "member": "alice"},
    {"event_id": "B2", "ts": "2026-11-10T10:00:00Z", "model_raw": "gpt-4o", "input_tokens": 1_000_000,
     "output_tokens": 170_000, "member": "bob"},
]  # fmt: skip


def expected_id(key: str) -> str:
    return "evt_" + hashlib.sha256(key.encode()).hexdigest()[:32]


# --------------------------------------------------------------------------- the test server


class HookServer(ThreadingHTTPServer):
    """Answers each POST with the next scripted step (a status, "hang" until released, or
    "hold": say it arrived, then answer 200 once released)."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.lock = threading.Lock()
        self.script: list[int | str] = []
        self.requests: list[dict[str, Any]] = []
        self.release = threading.Event()
        self.arrived = threading.Event()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/hooks/usagectl"

    def bodies(self) -> list[dict[str, Any]]:
        return [json.loads(r["body"], parse_float=Decimal) for r in self.requests]


class _Handler(BaseHTTPRequestHandler):
    server: HookServer

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["content-length"]))
        with self.server.lock:
            self.server.requests.append({"path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()},
                                         "body": body, "received": time.time()})  # fmt: skip
            step = self.server.script.pop(0) if self.server.script else 200
        if step == "hang":  # longer than the client's timeout: released at teardown
            self.server.release.wait(30)
            return
        if step == "hold":  # a slow receiver: the test acts while this POST is in flight
            self.server.arrived.set()
            self.server.release.wait(30)
            step = 200
        self.send_response(int(step))
        self.send_header("content-length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def server() -> Iterator[HookServer]:
    srv = HookServer()
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv
    srv.release.set()
    srv.shutdown()
    srv.server_close()


@pytest.fixture(autouse=True)
def no_waiting(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Backoff sleeps are recorded, never slept; the clock of notify is NOW; the secret is set."""
    slept: list[float] = []
    monkeypatch.setattr(wh, "_sleep", slept.append)
    monkeypatch.setattr(notify_svc, "_utcnow", lambda: NOW)
    monkeypatch.setenv(SECRET_ENV, SECRET)
    return slept


def write_config(path: Path, url: str, events: list[str], **opts: Any) -> Path:
    extra = "".join(f"{k} = {json.dumps(v)}\n" for k, v in opts.items())
    path.write_text(
        '[display]\ntimezone = "UTC"\n\n[[budgets]]\nscope = "global"\namount = 10\nperiod = "month"\n\n'
        f"[[webhooks]]\nurl = {json.dumps(url)}\nevents = {json.dumps(events)}\nsecret_env = {json.dumps(SECRET_ENV)}\n"
        + extra,
        encoding="utf-8",
    )
    return path


@pytest.fixture
def budget_setup(tmp_path: Path, db_path: Path, server: HookServer) -> tuple[Path, Path]:
    run("import", str(write_jsonl(tmp_path / "b.jsonl", BUDGET_EVENTS)), "--db", str(db_path))
    return write_config(tmp_path / "usagectl.toml", server.url, ["budget.threshold"]), db_path


def ledger(db_path: Path) -> dict[str, deliveries.LedgerRow]:
    with connect(db_path, read_only=True) as con:
        return {r.idempotency_key: r for r in deliveries.all_rows(con)}


def notify_cli(cfg: Path, db: Path, *args: str, expect: int = 0) -> Any:
    return run("notify", "--config", str(cfg), "--db", str(db), *args, expect=expect)


# --------------------------------------------------------------------------- signatures


def test_signature_verifies_and_rejects_tampering_and_replay() -> None:
    body = b'{"type":"x"}'
    header = wh.sign(SECRET, body, 1_700_000_000)
    # HMAC-SHA256 of "1700000000.{body}" with the secret, computed here independently
    import hmac

    mac = hmac.new(SECRET.encode(), b"1700000000." + body, hashlib.sha256).hexdigest()
    assert header == f"t=1700000000,v1={mac}"
    assert wh.verify_signature(SECRET, header, body, now=1_700_000_000 + 300)
    assert not wh.verify_signature(SECRET, header, body + b" ", now=1_700_000_000)  # tampered body
    assert not wh.verify_signature("another-secret", header, body, now=1_700_000_000)
    assert not wh.verify_signature(SECRET, header, body, now=1_700_000_000 + 301)  # replay: too old
    assert not wh.verify_signature(SECRET, header, body, now=1_700_000_000 - 301)  # from the future
    assert wh.verify_signature(SECRET, f"t=1700000000,v1={'0' * 64},v1={mac}", body, now=1_700_000_000)  # rotation
    for bad in ("", "t=abc,v1=00", f"v1={mac}", "t=1700000000", "garbage"):
        assert not wh.verify_signature(SECRET, bad, body, now=1_700_000_000)


def test_backoff_doubles_with_bounded_jitter() -> None:
    assert [wh.backoff_delay(n, lambda: 0.0) for n in (1, 2, 3, 4)] == [0.5, 1.0, 2.0, 4.0]
    assert [wh.backoff_delay(n, lambda: 1.0) for n in (1, 2, 3)] == [0.625, 1.25, 2.5]  # × 1.25 at most
    assert wh.backoff_delay(20, lambda: 1.0) == 30.0  # capped


# --------------------------------------------------------------------------- config


@pytest.mark.parametrize(
    ("table", "problem"),
    [
        ('url = "https://h.example/x"\nevents = ["budget.threshold", "usage.spike"]\nsecret_env = "S"',
         "webhooks[0].events: unknown event 'usage.spike'"),
        ('events = ["budget.threshold"]\nsecret_env = "S"', "webhooks[0].url: required"),
        ('url = "ftp://h.example/x"\nevents = ["budget.threshold"]\nsecret_env = "S"', "webhooks[0].url: 'ftp://"),
        ('url = "https://h.example/x"\nevents = []\nsecret_env = "S"', "webhooks[0].events: must be a non-empty list"),
        ('url = "https://h.example/x"\nevents = ["invoice.monthly"]\nsecret_env = "not a name"',
         "webhooks[0].secret_env: must be the NAME"),
        ('url = "https://h.example/x"\nevents = ["invoice.monthly"]\nsecret_env = "S"\nformat = "xml"',
         "webhooks[0].format: must be one of json, slack"),
        ('url = "https://h.example/x"\nevents = ["invoice.monthly"]\nsecret_env = "S"\ntimeout_seconds = 0',
         "webhooks[0].timeout_seconds"),
        ('url = "https://h.example/x"\nevents = ["invoice.monthly"]\nsecret_env = "S"\nmax_attempts = 0',
         "webhooks[0].max_attempts"),
        ('url = "https://h.example/x"\nevents = ["invoice.monthly"]\nsecret_env = "S"\nsecret = "x"',
         "webhooks[0]: unknown key secret"),
    ],
)  # fmt: skip
def test_bad_webhook_config_names_file_entry_and_problem(tmp_path: Path, table: str, problem: str) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text(f"[[webhooks]]\n{table}\n", encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        parse_webhooks(make_context(cfg).config)
    assert str(cfg) in err.value.message and problem in err.value.message


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("whsec_9fK2mQ7xLr4T", "looks like a secret"),  # a Svix / Stripe webhook secret
        ("a3f9c2e17b4d8e6055c1", "looks like a secret"),  # openssl rand -hex 10
        ("AKIAIOSFODNN7EXAMPLE", "looks like a secret"),  # an AWS access key id
        ("sk-proj-4fK2mQ7x", "is not a variable name"),
        ("9fK2mQ7xLr4T", "is not a variable name"),
    ],
)
def test_a_secret_in_secret_env_is_refused_and_never_printed(
    tmp_path: Path, db_path: Path, server: HookServer, value: str, problem: str
) -> None:
    """QA: a secret pasted into secret_env was printed as the variable's name by the error, its
    hint and --dry-run's warning, i.e. into the cron or CI log. It is refused (exit 2) first."""
    _import(tmp_path, db_path, "s.jsonl", SUMMARY_EVENTS)
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'[[webhooks]]\nurl = "{server.url}"\nevents = ["usage.daily_summary"]\nsecret_env = "{value}"\n')
    for args in ((), ("--dry-run",), ("--dry-run", "--json")):
        result = notify_cli(cfg, db_path, *args, expect=2)
        assert value not in result.stdout + result.stderr
        err = " ".join(result.stderr.split())
        assert "webhooks[0].secret_env: must be the NAME of the environment variable" in err and problem in err
    assert server.requests == []


@pytest.mark.parametrize("name", ["USAGECTL_WEBHOOK_SECRET", "hook_secret", "HookSecret", "SLACK_HOOK_2", "secret2"])
def test_variable_names_stay_valid_for_secret_env(tmp_path: Path, name: str) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'[[webhooks]]\nurl = "https://h.example/x"\nevents = ["invoice.monthly"]\nsecret_env = "{name}"\n')
    assert [h.secret_env for h in parse_webhooks(make_context(cfg).config)] == [name]


def test_second_webhook_with_the_same_url_is_rejected(tmp_path: Path) -> None:
    hook = '[[webhooks]]\nurl = "https://h.example/x"\nevents = ["invoice.monthly"]\nsecret_env = "S"\n'
    cfg = tmp_path / "c.toml"
    cfg.write_text(hook + hook, encoding="utf-8")
    with pytest.raises(ConfigError, match=r"webhooks\[1\]\.url: the same URL as webhooks\[0\]"):
        parse_webhooks(make_context(cfg).config)


def test_missing_secret_is_an_error_naming_the_variable(
    budget_setup: tuple[Path, Path], server: HookServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg, db = budget_setup
    monkeypatch.delenv(SECRET_ENV)
    result = notify_cli(cfg, db, expect=2)
    assert f"environment variable {SECRET_ENV} is not set" in result.stderr
    assert server.requests == [] and ledger(db) == {}


# --------------------------------------------------------------------------- end to end


def test_notify_delivers_a_signed_budget_alert_once(budget_setup: tuple[Path, Path], server: HookServer) -> None:
    cfg, db = budget_setup
    first = notify_cli(cfg, db)
    assert len(server.requests) == 1
    req = server.requests[0]
    h = req["headers"]
    assert h["content-type"] == "application/json"
    assert h["usagectl-event"] == "budget.threshold"
    assert h["usagectl-delivery"] == expected_id(BUDGET_KEY_90)
    assert wh.verify_signature(SECRET, h["usagectl-signature"], req["body"])
    assert not wh.verify_signature(SECRET, h["usagectl-signature"], req["body"].replace(b"92", b"12"))
    t = int(h["usagectl-signature"].split(",")[0][2:])
    assert not wh.verify_signature(SECRET, h["usagectl-signature"], req["body"], now=t + 301)

    payload = server.bodies()[0]
    assert payload["type"] == "budget.threshold" and payload["version"] == 1
    assert payload["id"] == expected_id(BUDGET_KEY_90)
    assert payload["created"] == "2026-11-16T00:00:00Z"
    data = payload["data"]
    assert data["budget"] == {"scope": "global", "label": "global (month)", "kind": "usd", "limit": 10,
                              "period": "month", "thresholds": [75, 90, 95]}  # fmt: skip
    assert data["period"] == {"start": "2026-11-01", "end": "2026-11-30"}
    assert (data["threshold"], data["thresholds_crossed"], data["level"]) == (90, [75, 90], "caution")
    assert data["spent"] == Decimal("9.2") and data["percent"] == 92
    assert data["projected"] == Decimal("18.4") and data["projected_percent"] == 184
    assert data["projected_cross_date"] == "2026-11-17"
    assert data["unpriced_requests"] == 0

    rows = ledger(db)
    assert rows[BUDGET_KEY_90].status == "delivered" and rows[BUDGET_KEY_90].attempts == 1
    assert rows[BUDGET_KEY_90].last_status == 200 and rows[BUDGET_KEY_90].payload == req["body"].decode()
    assert rows[BUDGET_KEY_75].status == "superseded"  # passed over: never sent later this period
    assert f"delivered budget.threshold {BUDGET_KEY_90}" in first.stdout

    second = notify_cli(cfg, db)  # no duplicate after success
    assert len(server.requests) == 1
    assert "nothing due" in second.stderr
    for text in (first.stdout, first.stderr, second.stdout, second.stderr, repr(ledger(db))):
        assert SECRET not in text


def test_an_overlapping_run_sends_nothing_and_exits_3(budget_setup: tuple[Path, Path], server: HookServer) -> None:
    """Cron overlap: the second run starts while the first one waits for the receiver. Without the
    lock both read the 90 % key as due and POST it twice; with it the second stops (exit 3) and
    the receiver sees the key once."""
    cfg, db = budget_setup
    server.script = ["hold"]
    first: list[notify_svc.NotifyResult] = []  # the service, not the CLI: CliRunner swaps sys.stdout
    runner = threading.Thread(target=lambda: first.append(notify_svc.notify(make_context(cfg, db))))
    runner.start()
    try:
        assert server.arrived.wait(30)  # the first run's POST is in flight
        second = notify_cli(cfg, db, expect=3)
    finally:
        server.release.set()
        runner.join(30)
    assert "another `usagectl notify` is still running" in second.stderr
    assert f"pid {os.getpid()}" in second.stderr  # the holder: this test process
    assert second.stdout == ""
    assert [r["headers"]["usagectl-delivery"] for r in server.requests] == [expected_id(BUDGET_KEY_90)]
    assert [(o.delivery.key, o.status) for o in first[0].outcomes] == [(BUDGET_KEY_90, "delivered")]
    assert ledger(db)[BUDGET_KEY_90].attempts == 1

    third = notify_cli(cfg, db)  # the lock went with the first run: a later run works, nothing due
    assert "nothing due" in third.stderr and len(server.requests) == 1


def _hold_database(db: Path) -> Any:
    """Another process (an import, the dashboard) opening the database for writing: it prints
    "held" and keeps it until its stdin closes, or prints "busy" when it cannot have it."""
    import subprocess
    import sys

    code = (
        "import sys, duckdb\n"
        "try:\n    con = duckdb.connect(sys.argv[1])\nexcept duckdb.Error:\n    print('busy', flush=True); sys.exit()\n"
        "print('held', flush=True); sys.stdin.read()\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", code, str(db)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            text=True)  # fmt: skip
    assert proc.stdout is not None
    return proc, proc.stdout.readline().strip()


def test_a_busy_database_never_leaves_a_sent_alert_unrecorded(
    budget_setup: tuple[Path, Path], server: HookServer
) -> None:
    """QA: notify POSTed, then opened the database to record the delivery; another process that
    had opened it meanwhile made that fail (exit 3), and the next run sent the alert again. The
    run now holds the database from before its first POST to its last record: the other process
    is the one that finds it busy, and each alert is sent once."""
    cfg, db = budget_setup
    server.script = ["hold"]
    first: list[notify_svc.NotifyResult] = []
    errors: list[BaseException] = []

    def run_notify() -> None:
        try:
            first.append(notify_svc.notify(make_context(cfg, db)))
        except BaseException as exc:
            errors.append(exc)

    runner = threading.Thread(target=run_notify)
    runner.start()
    try:
        assert server.arrived.wait(30)  # the POST is in flight
        other, said = _hold_database(db)
    finally:
        server.release.set()
        runner.join(30)
    other.communicate(timeout=30)
    assert said == "busy" and errors == []
    assert [(o.delivery.key, o.status) for o in first[0].outcomes] == [(BUDGET_KEY_90, "delivered")]
    assert (ledger(db)[BUDGET_KEY_90].status, ledger(db)[BUDGET_KEY_90].attempts) == ("delivered", 1)
    assert "nothing due" in notify_cli(cfg, db).stderr
    assert len(server.requests) == 1

    # busy when the run starts: nothing is sent, exit 3, and the next run sends what is due
    _import(budget_setup[0].parent, db, "b3.jsonl", [{"event_id": "B3", "ts": "2026-11-12T10:00:00Z",
                                                      "model_raw": "gpt-4o", "input_tokens": 200_000}])  # fmt: skip
    other, said = _hold_database(db)
    try:
        assert said == "held"
        busy = notify_cli(cfg, db, expect=3)
    finally:
        other.communicate(timeout=30)
    assert "busy" in busy.stderr and len(server.requests) == 1
    notify_cli(cfg, db)
    assert [r["headers"]["usagectl-delivery"] for r in server.requests][1:] == [
        expected_id("budget.threshold:global:month:2026-11-01:95:amount=10")
    ]


def test_a_missing_database_leaves_no_lock_file_behind(tmp_path: Path, server: HookServer) -> None:
    """QA: exit 4 for a --db that does not exist, but the notify lock file (and its folder) was
    created next to where the database would be."""
    cfg = write_config(tmp_path / "c.toml", server.url, ["budget.threshold"])
    missing = tmp_path / "sub" / "missing.duckdb"
    result = notify_cli(cfg, missing, expect=4)
    assert f"no database at {missing}" in result.stderr
    assert not (tmp_path / "sub").exists() and server.requests == []


def test_a_lock_file_left_by_a_dead_run_does_not_block(budget_setup: tuple[Path, Path], server: HookServer) -> None:
    """The lock is an OS lock, released when its process ends: the file a killed run leaves
    behind (with its pid) is not a held lock."""
    cfg, db = budget_setup
    (db.parent / f"{db.name}.notify.lock").write_text("pid 999999, started 2026-11-15 23:00:00 UTC")
    notify_cli(cfg, db)
    assert len(server.requests) == 1


def test_retry_after_a_500_then_success(
    budget_setup: tuple[Path, Path], server: HookServer, no_waiting: list[float]
) -> None:
    cfg, db = budget_setup
    server.script = [500, 200]
    notify_cli(cfg, db)
    assert len(server.requests) == 2
    assert {r["headers"]["usagectl-delivery"] for r in server.requests} == {expected_id(BUDGET_KEY_90)}
    assert server.requests[0]["body"] == server.requests[1]["body"]
    assert all(wh.verify_signature(SECRET, r["headers"]["usagectl-signature"], r["body"]) for r in server.requests)
    row = ledger(db)[BUDGET_KEY_90]
    assert (row.status, row.attempts, row.last_status, row.last_error) == ("delivered", 2, 200, None)
    assert len(no_waiting) == 1 and 0.5 <= no_waiting[0] <= 0.625  # first backoff: 0.5 s × jitter 1-1.25
    notify_cli(cfg, db)
    assert len(server.requests) == 2  # delivered once


def test_give_up_after_repeated_500s_then_deliver_on_the_next_run(
    tmp_path: Path, db_path: Path, server: HookServer, no_waiting: list[float]
) -> None:
    run("import", str(write_jsonl(tmp_path / "b.jsonl", BUDGET_EVENTS)), "--db", str(db_path))
    cfg = write_config(tmp_path / "c.toml", server.url, ["budget.threshold"], max_attempts=3)
    server.script = [500, 500, 500]
    failed = notify_cli(cfg, db_path, expect=1)
    assert len(server.requests) == 3
    assert "1 of 1 webhook deliveries failed" in failed.stderr and BUDGET_KEY_90 in failed.stderr
    assert "HTTP 500" in failed.stderr and "retried on the next" in failed.stderr
    assert f"FAILED budget.threshold {BUDGET_KEY_90}" in failed.stdout
    row = ledger(db_path)[BUDGET_KEY_90]
    assert (row.status, row.attempts, row.last_status) == ("failed", 3, 500)
    assert row.last_error == "HTTP 500 Internal Server Error"
    assert len(no_waiting) == 2 and 0.5 <= no_waiting[0] <= 0.625 and 1.0 <= no_waiting[1] <= 1.25

    ok = notify_cli(cfg, db_path)  # the next run retries the failed key, with the same body and id
    assert len(server.requests) == 4
    assert server.requests[3]["body"] == server.requests[0]["body"]
    assert server.requests[3]["headers"]["usagectl-delivery"] == expected_id(BUDGET_KEY_90)
    assert "retry after 3 earlier attempts" in ok.stdout
    row = ledger(db_path)[BUDGET_KEY_90]
    assert (row.status, row.attempts, row.last_status) == ("delivered", 4, 200)
    notify_cli(cfg, db_path)
    assert len(server.requests) == 4


def test_a_400_is_not_retried(budget_setup: tuple[Path, Path], server: HookServer, no_waiting: list[float]) -> None:
    cfg, db = budget_setup
    server.script = [400]
    result = notify_cli(cfg, db, expect=1)
    assert len(server.requests) == 1 and no_waiting == []
    assert "HTTP 400 Bad Request" in result.stderr
    row = ledger(db)[BUDGET_KEY_90]
    assert (row.status, row.attempts, row.last_status) == ("failed", 1, 400)


def test_a_redirect_is_not_followed(budget_setup: tuple[Path, Path], server: HookServer) -> None:
    cfg, db = budget_setup
    server.script = [302]
    notify_cli(cfg, db, expect=1)
    assert len(server.requests) == 1  # the signed body is never re-sent to another location
    assert ledger(db)[BUDGET_KEY_90].last_status == 302


def test_a_timeout_counts_as_a_failed_attempt(
    tmp_path: Path, db_path: Path, server: HookServer, no_waiting: list[float]
) -> None:
    run("import", str(write_jsonl(tmp_path / "b.jsonl", BUDGET_EVENTS)), "--db", str(db_path))
    cfg = write_config(tmp_path / "c.toml", server.url, ["budget.threshold"], timeout_seconds=0.3, max_attempts=1)
    server.script = ["hang"]
    result = notify_cli(cfg, db_path, expect=1)
    assert "timed out after 0.3 s" in result.stderr
    row = ledger(db_path)[BUDGET_KEY_90]
    assert (row.status, row.attempts, row.last_status, row.last_error) == ("failed", 1, None, "timed out after 0.3 s")

    # a roomier timeout here, so the answering attempt never times out on a busy machine
    cfg = write_config(tmp_path / "c.toml", server.url, ["budget.threshold"], timeout_seconds=2, max_attempts=2)
    server.script = ["hang"]  # then 200: the timeout is retried within the run
    notify_cli(cfg, db_path)
    assert len(server.requests) == 3 and len(no_waiting) == 1
    row = ledger(db_path)[BUDGET_KEY_90]
    assert (row.status, row.attempts, row.last_status) == ("delivered", 3, 200)


@pytest.fixture
def trickle() -> Iterator[str]:
    """A receiver that answers "200 OK" one byte every 0.05 s: never a wait long enough for the
    socket timeout, ~20 s for the whole answer. Stops at teardown."""
    import socket

    stop = threading.Event()
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(5)
    listener.settimeout(0.2)
    answer = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nx-pad: " + b"a" * 400 + b"\r\n\r\nok"

    def handle(conn: socket.socket) -> None:
        with conn:
            conn.settimeout(5)
            data = b""
            while b"\r\n\r\n" not in data and not stop.is_set():
                data += conn.recv(4096)
            for byte in answer:
                if stop.wait(0.05):
                    return
                try:
                    conn.sendall(bytes([byte]))
                except OSError:  # the client gave up
                    return

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            threading.Thread(target=handle, args=(conn,), daemon=True).start()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}/slow"
    stop.set()
    thread.join(5)
    listener.close()


def test_timeout_bounds_the_whole_attempt_not_each_read(trickle: str) -> None:
    """QA: the socket timeout only bounds each wait for the next bytes; a receiver that answers a
    byte at a time held a run (and the notify lock) for as long as it took. The attempt now ends
    at its deadline as a timeout, and is retried as one."""
    slept: list[float] = []
    started = time.monotonic()
    result = wh.deliver(trickle, event_type="invoice.monthly", delivery_id="evt_x", body="{}", secret=SECRET,
                        timeout=0.5, max_attempts=2, sleep=slept.append, rand=lambda: 0.0)  # fmt: skip
    elapsed = time.monotonic() - started
    assert not result.ok and len(result.attempts) == 2 and slept == [0.5]
    assert all(a.status is None and a.retryable and a.error == "timed out after 0.5 s" for a in result.attempts)
    assert elapsed < 15  # two attempts of 0.5 s; each answer alone would take ~20 s (generous slack)


def test_dry_run_sends_and_records_nothing(
    budget_setup: tuple[Path, Path], server: HookServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg, db = budget_setup
    monkeypatch.delenv(SECRET_ENV)  # a dry run needs no secret, and says so
    result = notify_cli(cfg, db, "--dry-run")
    assert server.requests == [] and ledger(db) == {}
    assert f"would send budget.threshold to {server.url}" in result.stdout
    assert f"key: {BUDGET_KEY_90}" in result.stdout and expected_id(BUDGET_KEY_90) in result.stdout
    assert f"would supersede {BUDGET_KEY_75}" in result.stdout
    assert '"projected_cross_date": "2026-11-17"' in result.stdout  # the JSON body
    assert f"{SECRET_ENV} is not set" in result.stderr
    as_json = json.loads(notify_cli(cfg, db, "--dry-run", "--json").stdout, parse_float=Decimal)
    assert [(d["type"], d["key"], d["status"]) for d in as_json["deliveries"]] == [
        ("budget.threshold", BUDGET_KEY_90, "would_send")
    ]
    assert as_json["deliveries"][0]["body"]["data"]["percent"] == 92
    assert server.requests == [] and ledger(db) == {}


def test_a_payload_never_rounds_a_budget_up_to_a_threshold_it_has_not_reached(
    budget_setup: tuple[Path, Path], server: HookServer
) -> None:
    """QA: used shares were rounded half-even to 2 decimals in machine formats, so a budget just
    short of its limit said 100 while its level was critical. The fixture's $9.20 of a $9.2004
    budget: 9.2 × 100 / 9.2004 = 99.99565... %: half-even 100.00, rounded down 99.99."""
    cfg, db = budget_setup
    cfg.write_text(cfg.read_text(encoding="utf-8").replace("amount = 10\n", "amount = 9.2004\n"), encoding="utf-8")
    as_json = json.loads(notify_cli(cfg, db, "--dry-run", "--json").stdout, parse_float=Decimal)
    (delivery,) = as_json["deliveries"]
    assert (delivery["body"]["data"]["level"], delivery["body"]["data"]["percent"]) == ("critical", Decimal("99.99"))


def test_slack_format_is_a_signed_text_payload(tmp_path: Path, db_path: Path, server: HookServer) -> None:
    run("import", str(write_jsonl(tmp_path / "b.jsonl", BUDGET_EVENTS)), "--db", str(db_path))
    cfg = write_config(tmp_path / "c.toml", server.url, ["budget.threshold"], format="slack")
    notify_cli(cfg, db_path)
    req = server.requests[0]
    assert json.loads(req["body"]) == {
        "text": "🟠 global is at 92.0 % of $10.00 (month) — projected $18.40, crossing on 2026-11-17"
    }
    assert wh.verify_signature(SECRET, req["headers"]["usagectl-signature"], req["body"])
    assert req["headers"]["usagectl-delivery"] == expected_id(BUDGET_KEY_90)


# --------------------------------------------------------------------------- what is due, over time


def _import(tmp_path: Path, db: Path, name: str, events: list[dict[str, Any]]) -> None:
    run("import", str(write_jsonl(tmp_path / name, events)), "--db", str(db))


def _sent_keys(result: notify_svc.NotifyResult) -> list[str]:
    assert not result.failed
    return [o.delivery.key for o in result.outcomes]


def test_budget_threshold_alerts_once_per_threshold_per_period(
    budget_setup: tuple[Path, Path], server: HookServer, tmp_path: Path
) -> None:
    cfg, db = budget_setup
    ctx = make_context(cfg, db)
    assert _sent_keys(notify_svc.notify(ctx, now=NOW)) == [BUDGET_KEY_90]  # $9.20 = 92 %
    assert _sent_keys(notify_svc.notify(ctx, now=NOW)) == []
    # B3 2026-11-12 gpt-4o 200,000 in = $0.50 -> $9.70 = 97 %: the 95 threshold, once
    _import(tmp_path, db, "b3.jsonl", [{"event_id": "B3", "ts": "2026-11-12T10:00:00Z", "model_raw": "gpt-4o",
                                        "input_tokens": 200_000}])  # fmt: skip
    later = datetime(2026, 11, 20, tzinfo=UTC)
    assert _sent_keys(notify_svc.notify(ctx, now=later)) == ["budget.threshold:global:month:2026-11-01:95:amount=10"]
    assert _sent_keys(notify_svc.notify(ctx, now=later)) == []
    # December: B4 2026-12-05 gpt-4o 3,200,000 in = $8.00 = 80 % -> 75 again, in the new period
    _import(tmp_path, db, "b4.jsonl", [{"event_id": "B4", "ts": "2026-12-05T10:00:00Z", "model_raw": "gpt-4o",
                                        "input_tokens": 3_200_000}])  # fmt: skip
    december = datetime(2026, 12, 20, tzinfo=UTC)
    assert _sent_keys(notify_svc.notify(ctx, now=december)) == ["budget.threshold:global:month:2026-12-01:75:amount=10"]
    assert _sent_keys(notify_svc.notify(ctx, now=december)) == []
    assert [b["data"]["threshold"] for b in server.bodies()] == [90, 95, 75]
    assert server.bodies()[2]["data"]["spent"] == 8
    status = {k: r.status for k, r in ledger(db).items()}
    assert status == {
        BUDGET_KEY_75: "superseded",
        BUDGET_KEY_90: "delivered",
        "budget.threshold:global:month:2026-11-01:95:amount=10": "delivered",
        "budget.threshold:global:month:2026-12-01:75:amount=10": "delivered",
    }


# Daily summary / invoice fixture (zone Europe/Berlin, UTC+1 in November):
#   S0 2026-11-02T10:00Z  gpt-4o 2,000,000 in                                 $5.00
#   S1 2026-11-29T23:30Z  alice gpt-4o 1,000,000 in      (= 11-30 00:30 Berlin) $2.50
#   S2 2026-11-30T12:00Z  bob gpt-4o 400,000 in + 100,000 out  1.00 + 1.00  = $2.00
#   S3 2026-11-30T13:00Z  carol mistral-large-2411 5,000 in + 100 out          unpriced
#   S4 2026-11-30T23:30Z  dave gpt-4o 4,000,000 in       (= 12-01 00:30 Berlin: not in 11-30)
# 2026-11-30 in Berlin: 3 requests, $4.50, tokens 1,000,000 + 500,000 + 5,100 = 1,505,100.
# November in Berlin: S0-S3: $9.50, 4 requests, 3,505,100 tokens; gpt-4o 3,500,000 tokens, 3 requests.
SUMMARY_EVENTS = [
    {"event_id": "S0", "ts": "2026-11-02T10:00:00Z", "model_raw": "gpt-4o", "input_tokens": 2_000_000},
    {"event_id": "S1", "ts": "2026-11-29T23:30:00Z", "model_raw": "gpt-4o", "input_tokens": 1_000_000,
     "member": "alice"},
    {"event_id": "S2", "ts": "2026-11-30T12:00:00Z", "model_raw": "gpt-4o", "input_tokens": 400_000,
     "output_tokens": 100_000, "member": "bob"},
    {"event_id": "S3", "ts": "2026-11-30T13:00:00Z", "model_raw": "mistral-large-2411", "provider": "mistral",
     "input_tokens": 5_000, "output_tokens": 100, "member": "carol"},
    {"event_id": "S4", "ts": "2026-11-30T23:30:00Z", "model_raw": "gpt-4o", "input_tokens": 4_000_000,
     "member": "dave"},
]  # fmt: skip
BERLIN_NOW = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)  # 09:00 on 2026-12-01 in Berlin


def test_daily_summary_and_monthly_invoice(tmp_path: Path, db_path: Path, server: HookServer) -> None:
    _import(tmp_path, db_path, "s.jsonl", SUMMARY_EVENTS)
    cfg = write_config(tmp_path / "c.toml", server.url, ["usage.daily_summary", "invoice.monthly"])
    ctx = make_context(cfg, db_path)
    result = notify_svc.notify(ctx, tz="Europe/Berlin", now=BERLIN_NOW)
    assert _sent_keys(result) == ["usage.daily_summary:2026-11-30", "invoice.monthly:2026-11"]
    summary, invoice = server.bodies()
    assert summary["type"] == "usage.daily_summary" and summary["id"] == expected_id("usage.daily_summary:2026-11-30")
    d = summary["data"]
    assert (d["date"], d["tz"], d["requests"], d["total_tokens"]) == ("2026-11-30", "Europe/Berlin", 3, 1_505_100)
    assert (d["input_tokens"], d["output_tokens"]) == (1_405_000, 100_100)
    assert d["cost_usd"] == Decimal("4.5")
    assert d["unpriced"] == {"requests": 1, "total_tokens": 5_100,
                             "models": [{"model": "mistral-large-2411", "requests": 1, "total_tokens": 5_100}]}  # fmt: skip
    assert [(m["model"], m["cost_usd"], m["total_tokens"]) for m in d["top_models"]] == [
        ("gpt-4o", Decimal("4.5"), 1_500_000), ("mistral-large-2411", None, 5_100)]  # fmt: skip
    assert [(m["member"], m["cost_usd"]) for m in d["top_members"]] == [
        ("alice", Decimal("2.5")), ("bob", 2), ("carol", None)]  # fmt: skip

    assert invoice["type"] == "invoice.monthly"
    i = invoice["data"]
    assert (i["month"], i["period"]) == ("2026-11", {"start": "2026-11-01", "end": "2026-11-30"})
    assert (i["cost_usd"], i["requests"], i["total_tokens"]) == (Decimal("9.5"), 4, 3_505_100)
    gpt = next(m for m in i["models"] if m["model"] == "gpt-4o")
    assert (gpt["cost_usd"], gpt["total_tokens"], gpt["requests"], gpt["cost_share_pct"]) == (
        Decimal("9.5"), 3_500_000, 3, 100)  # fmt: skip
    assert i["unpriced"]["requests"] == 1 and i["unpriced"]["total_tokens"] == 5_100
    assert _sent_keys(notify_svc.notify(ctx, tz="Europe/Berlin", now=BERLIN_NOW)) == []


def test_slack_texts_of_summary_and_invoice(tmp_path: Path, db_path: Path, server: HookServer) -> None:
    _import(tmp_path, db_path, "s.jsonl", SUMMARY_EVENTS)
    cfg = write_config(tmp_path / "c.toml", server.url, ["usage.daily_summary", "invoice.monthly"], format="slack")
    notify_svc.notify(make_context(cfg, db_path), tz="Europe/Berlin", now=BERLIN_NOW)
    summary, invoice = (b["text"] for b in server.bodies())
    assert summary == (
        "📊 Usage on 2026-11-30 (Europe/Berlin): $4.50, 3 requests, 1.51M tokens. "
        "Top models: gpt-4o $4.50, mistral-large-2411 unpriced. Top members: alice $2.50, bob $2.00, carol unpriced. "
        "⚠️ 1 unpriced request (5,100 tokens) is NOT in the cost."
    )
    assert invoice.startswith("🧾 Invoice 2026-11 (Europe/Berlin): $9.50 for 3.51M tokens over 4 requests.")


def test_slack_texts_say_1_request(tmp_path: Path, db_path: Path, server: HookServer) -> None:
    # QA: "1 requests". One gpt-4o request of 1,000 output tokens each on 2026-10-20 (last month
    # at NOW) and 2026-11-15 (yesterday): 1,000 x $10 / 1M = $0.01 each
    one = {"model_raw": "gpt-4o", "output_tokens": 1_000}
    _import(tmp_path, db_path, "one.jsonl", [{"event_id": "O", "ts": "2026-10-20T10:00:00Z", **one},
                                             {"event_id": "Y", "ts": "2026-11-15T10:00:00Z", **one}])  # fmt: skip
    cfg = write_config(tmp_path / "c.toml", server.url, ["usage.daily_summary", "invoice.monthly"], format="slack")
    notify_svc.notify(make_context(cfg, db_path), now=NOW)
    assert [b["text"] for b in server.bodies()] == [
        "📊 Usage on 2026-11-15 (UTC): $0.01, 1 request, 1,000 tokens. Top models: gpt-4o $0.01. "
        "Top members: (unattributed) $0.01.",
        "🧾 Invoice 2026-10 (UTC): $0.01 for 1,000 tokens over 1 request. By model: gpt-4o $0.01.",
    ]


# Anomaly fixture: alice uses gpt-4o 1,000,000 in ($2.50) every day 2026-11-02 … 2026-11-29; on
# 2026-11-30 she does the same and bob adds gpt-4o-mini 40,000,000 in (40 × 0.15 = $6.00).
# Cost: the baselines are flat at 2.50 (MAD 0), so the day alerts above max($1, 2 × 2.50) = $5.00;
# 8.50 does. Tokens: flat 1M, alert above max(1M, 2 × 1M) = 2M; 41M does.
def test_anomaly_event_for_a_spike(tmp_path: Path, db_path: Path, server: HookServer) -> None:
    events = [{"event_id": f"A{d}", "ts": f"2026-11-{d:02d}T12:00:00Z", "model_raw": "gpt-4o",
               "input_tokens": 1_000_000, "member": "alice"} for d in range(2, 31)]  # fmt: skip
    events.append({"event_id": "SPIKE", "ts": "2026-11-30T15:00:00Z", "model_raw": "gpt-4o-mini",
                   "input_tokens": 40_000_000, "member": "bob"})  # fmt: skip
    _import(tmp_path, db_path, "a.jsonl", events)
    cfg = write_config(tmp_path / "c.toml", server.url, ["usage.anomaly"])
    ctx = make_context(cfg, db_path)
    now = datetime(2026, 12, 1, 6, 0, tzinfo=UTC)
    assert _sent_keys(notify_svc.notify(ctx, now=now)) == [
        "usage.anomaly:2026-11-30:cost_usd",
        "usage.anomaly:2026-11-30:total_tokens",
    ]
    cost = server.bodies()[0]["data"]
    assert (cost["metric"], cost["value"], cost["expected"]["high"]) == ("cost_usd", Decimal("8.5"), 5)
    assert [(b["name"], b["median"], b["sigma"], b["robust_z"]) for b in cost["baselines"]] == [
        ("same_weekday", Decimal("2.5"), 0, None), ("recent", Decimal("2.5"), 0, None)]  # fmt: skip
    assert [(c["dimension"], c["name"], c["excess"]) for c in cost["contributors"]] == [
        ("model", "gpt-4o-mini", 6), ("member", "bob", 6)]  # fmt: skip
    assert _sent_keys(notify_svc.notify(ctx, now=now)) == []


def test_a_failed_lower_threshold_is_superseded_by_a_higher_one(
    budget_setup: tuple[Path, Path], server: HookServer, tmp_path: Path
) -> None:
    cfg, db = budget_setup
    ctx = make_context(cfg, db)
    server.script = [400]
    assert notify_svc.notify(ctx, now=NOW).failed  # 90 failed
    # B3: +$0.50 -> 97 %: only 95 is sent; the failed 90 is never sent in this period
    _import(tmp_path, db, "b3.jsonl", [{"event_id": "B3", "ts": "2026-11-12T10:00:00Z", "model_raw": "gpt-4o",
                                        "input_tokens": 200_000}])  # fmt: skip
    assert _sent_keys(notify_svc.notify(ctx, now=NOW)) == ["budget.threshold:global:month:2026-11-01:95:amount=10"]
    assert [b["data"]["threshold"] for b in server.bodies()] == [90, 95]
    assert ledger(db)[BUDGET_KEY_90].status == "superseded" and ledger(db)[BUDGET_KEY_90].attempts == 1
    assert _sent_keys(notify_svc.notify(ctx, now=NOW)) == []


def test_a_failed_summary_is_retried_the_next_day_when_no_longer_due(
    tmp_path: Path, db_path: Path, server: HookServer
) -> None:
    _import(tmp_path, db_path, "s.jsonl", SUMMARY_EVENTS)
    cfg = write_config(tmp_path / "c.toml", server.url, ["usage.daily_summary"], max_attempts=1)
    ctx = make_context(cfg, db_path)
    server.script = [503]
    assert notify_svc.notify(ctx, tz="Europe/Berlin", now=BERLIN_NOW).failed
    next_day = datetime(2026, 12, 2, 8, 0, tzinfo=UTC)
    assert _sent_keys(notify_svc.notify(ctx, tz="Europe/Berlin", now=next_day)) == [
        "usage.daily_summary:2026-12-01",
        "usage.daily_summary:2026-11-30",  # the failed one, with its first body
    ]
    assert server.requests[2]["body"] == server.requests[0]["body"]
    # 2026-12-01 in Berlin holds S4 only: 4,000,000 gpt-4o input = $10.00
    assert server.bodies()[1]["data"]["cost_usd"] == 10


def test_a_retry_after_a_format_change_is_sent_in_the_new_format(
    tmp_path: Path, db_path: Path, server: HookServer
) -> None:
    """QA: a Slack hook set to format = "json" by mistake answers 400; the fix is format = "slack",
    but its failed deliveries were retried with the JSON envelope of their first attempt (and
    labelled slack), so Slack kept refusing them. A retry is now in the hook's current format,
    with the same id: a still-due event as this run evaluates it, one no longer due (yesterday's
    summary, retried the next day) as evaluated when it was first tried."""
    _import(tmp_path, db_path, "s.jsonl", SUMMARY_EVENTS)  # December in Berlin: S4, $10.00 of the $10 budget
    budget_key = "budget.threshold:global:month:2026-12-01:100:amount=10"
    cfg = write_config(tmp_path / "c.toml", server.url, ["budget.threshold", "usage.daily_summary"], max_attempts=1)
    server.script = [400, 400]
    first = notify_svc.notify(make_context(cfg, db_path), tz="Europe/Berlin", now=BERLIN_NOW)
    assert [o.delivery.key for o in first.failed] == [budget_key, "usage.daily_summary:2026-11-30"]
    assert all("version" in b for b in server.bodies())  # JSON envelopes

    cfg = write_config(tmp_path / "c.toml", server.url, ["budget.threshold", "usage.daily_summary"], format="slack")
    next_day = datetime(2026, 12, 2, 8, 0, tzinfo=UTC)
    second = notify_svc.notify(make_context(cfg, db_path), tz="Europe/Berlin", now=next_day)
    sent = {o.delivery.key: o for o in second.outcomes}
    assert sent[budget_key].status == "delivered" and sent[budget_key].delivery.retry
    assert sent["usage.daily_summary:2026-11-30"].status == "delivered"
    by_id = {r["headers"]["usagectl-delivery"]: json.loads(r["body"]) for r in server.requests[2:]}
    assert list(by_id[expected_id(budget_key)]) == ["text"]
    assert by_id[expected_id(budget_key)]["text"].startswith("⛔ global has exceeded $10.00 (month): 100.0 % used")
    assert by_id[expected_id("usage.daily_summary:2026-11-30")] == {
        "text": "📊 Usage on 2026-11-30 (Europe/Berlin): $4.50, 3 requests, 1.51M tokens. "
        "Top models: gpt-4o $4.50, mistral-large-2411 unpriced. Top members: alice $2.50, bob $2.00, carol unpriced. "
        "⚠️ 1 unpriced request (5,100 tokens) is NOT in the cost."
    }
    rows = ledger(db_path)  # the body sent is the one recorded
    assert (
        json.loads(rows["usage.daily_summary:2026-11-30"].payload)
        == by_id[expected_id("usage.daily_summary:2026-11-30")]
    )
    assert rows["usage.daily_summary:2026-11-30"].status == "delivered"


def test_an_event_still_due_is_retried_after_7_days_with_this_runs_numbers(
    tmp_path: Path, db_path: Path, server: HookServer
) -> None:
    """QA: the docs said a failure is not retried after 7 days, but an event still due (last
    month's invoice, a budget whose period still runs) was, with its 8-day-old body. It is still
    retried (a receiver back after a week still gets the invoice), now with the numbers of the
    run that sends it; the docs say so. October: O1 gpt-4o 1,000,000 in = $2.50; O2, imported
    late, another $2.50."""
    october = {"ts": "2026-10-10T10:00:00Z", "model_raw": "gpt-4o", "input_tokens": 1_000_000}
    _import(tmp_path, db_path, "o1.jsonl", [{"event_id": "O1", **october}])
    cfg = write_config(tmp_path / "c.toml", server.url, ["invoice.monthly"], max_attempts=1)
    ctx = make_context(cfg, db_path)
    server.script = [500, 500]
    assert notify_svc.notify(ctx, now=NOW).failed
    _import(tmp_path, db_path, "o2.jsonl", [{"event_id": "O2", **october}])
    six_days = datetime(2026, 11, 22, 0, 0, tzinfo=UTC)
    assert notify_svc.notify(ctx, now=six_days).failed  # within 7 days: the recorded body again
    assert server.requests[1]["body"] == server.requests[0]["body"]

    eight_days = datetime(2026, 11, 24, 0, 0, tzinfo=UTC)
    assert _sent_keys(notify_svc.notify(ctx, now=eight_days)) == ["invoice.monthly:2026-10"]
    first, last = server.bodies()[0], server.bodies()[2]
    assert last["id"] == first["id"] == expected_id("invoice.monthly:2026-10")
    assert (first["created"], first["data"]["cost_usd"]) == ("2026-11-16T00:00:00Z", Decimal("2.5"))
    assert (last["created"], last["data"]["cost_usd"], last["data"]["requests"]) == ("2026-11-24T00:00:00Z", 5, 2)


def test_a_network_error_is_retried_with_backoff() -> None:
    import socket

    with socket.socket() as sock:  # a port nobody listens on once closed: connection refused
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    slept: list[float] = []
    seen: list[wh.Attempt] = []
    result = wh.deliver(f"http://127.0.0.1:{port}/x", event_type="usage.daily_summary", delivery_id="evt_x",
                        body="{}", secret=SECRET, timeout=5, max_attempts=3, on_attempt=seen.append,
                        sleep=slept.append, rand=lambda: 0.0)  # fmt: skip
    assert not result.ok and len(result.attempts) == 3 and seen == list(result.attempts)
    assert all(a.status is None and a.retryable and (a.error or "").startswith("network error") for a in seen)
    assert slept == [0.5, 1.0]  # no sleep after the last attempt


def test_plan_quota_alert_has_its_own_key_and_token_amounts(tmp_path: Path, db_path: Path, server: HookServer) -> None:
    # tokens B1 + B2 = 2,000,000 + 1,170,000 = 3,170,000 of 4,000,000 = 79.25 % -> warning, 75;
    # projected 3,170,000 × 30/15 = 6,340,000; 100 % after 830,000 × 15 d / 3,170,000 = 3.93 d -> 11-19
    _import(tmp_path, db_path, "b.jsonl", BUDGET_EVENTS)
    cfg = write_config(tmp_path / "c.toml", server.url, ["budget.threshold"], format="slack")
    cfg.write_text("[plan]\nmonthly_token_quota = 4000000\n" + cfg.read_text(encoding="utf-8"), encoding="utf-8")
    keys = _sent_keys(notify_svc.notify(make_context(cfg, db_path), now=NOW))
    assert keys == ["budget.threshold:plan-quota:month:2026-11-01:75:tokens=4000000", BUDGET_KEY_90]
    assert server.bodies()[0]["text"] == (
        "🟡 plan quota is at 79.2 % of 4,000,000 tokens (month) — projected 6,340,000 tokens, crossing on 2026-11-19"
    )  # 79.25 rounds half-even to 79.2


def test_exceeded_budget_payload_from_a_hand_made_state() -> None:
    from datetime import date

    from usagectl.services.budget_config import Budget
    from usagectl.services.budgets import BudgetState

    budget = Budget("team:platform", "usd", Decimal(500), "month", (Decimal(80), Decimal("92.5"), Decimal(95)),
                    "team:platform (month)")  # fmt: skip
    state = BudgetState(budget, date(2026, 11, 1), date(2026, 11, 30), Decimal("520.10"), Decimal("104.02"),
                        "exceeded", Decimal(100), Decimal("975.1875"), Decimal("195.0375"), date(2026, 11, 16), 3)  # fmt: skip
    event = wh.budget_event(state, NOW)
    base = "budget.threshold:team:platform:month:2026-11-01"
    assert event.key == f"{base}:100:amount=500"
    assert event.supersedes == (f"{base}:80:amount=500", f"{base}:92.5:amount=500", f"{base}:95:amount=500")
    assert event.data["thresholds_crossed"] == [80, Decimal("92.5"), 95, 100]
    assert event.data["projected_percent"] == Decimal("195.03")  # 195.0375 to 2 places, rounded down
    assert event.text == (
        "⛔ team:platform has exceeded $500.00 (month): 104.0 % used — projected $975.19 "
        "(3 unpriced requests not counted)"
    )


# --------------------------------------------------------------------------- a limit changed mid-period


def _set_limit(cfg: Path, amount: str) -> None:
    text = cfg.read_text(encoding="utf-8")
    start = text.index("amount = ")
    cfg.write_text(text[:start] + f"amount = {amount}" + text[text.index("\n", start) :], encoding="utf-8")


def test_a_raised_limit_alerts_again_in_the_same_period(
    budget_setup: tuple[Path, Path], server: HookServer, tmp_path: Path
) -> None:
    """QA: after `budget set global 100` mid-period, notify never alerted again in that period,
    even above the new limit: every threshold key (no limit in it) was delivered or superseded
    at the old one. The limit is now part of the key.

    $9.20 of $10 = 92 %: 90 sent. Raised to $12: 9.20 x 100 / 12 = 76.666... % (76.66 in the body: rounded down) -> 75 of the $12
    budget, due again. Projected 9.20 x 30/15 = $18.40 = 153.33 % of $12; 100 % after
    (12 - 9.20) x 15 d / 9.20 = 4.565 d from 2026-11-16 00:00 -> 2026-11-20 13:34 -> 2026-11-20.
    B5 (2026-11-14, gpt-4o 1,200,000 in = 1.2 x 2.50 = $3.00): $12.20 = 101.666... % (101.66 in the body) -> 100 of $12."""
    cfg, db = budget_setup
    ctx = make_context(cfg, db)
    notify_svc.notify(ctx, now=NOW)
    _set_limit(cfg, "12")
    notify_svc.notify(make_context(cfg, db), now=NOW)
    assert [(b["data"]["threshold"], b["data"]["budget"]["limit"]) for b in server.bodies()] == [(90, 10), (75, 12)]
    key_75 = "budget.threshold:global:month:2026-11-01:75:amount=12"
    assert {r.idempotency_key for r in ledger(db).values() if r.status == "delivered"} == {BUDGET_KEY_90, key_75}
    alert = server.bodies()[1]
    assert alert["id"] == expected_id(key_75)
    d = alert["data"]
    assert (d["budget"]["limit"], d["threshold"], d["level"], d["spent"], d["percent"]) == (
        12, 75, "warning", Decimal("9.2"), Decimal("76.66"))  # fmt: skip
    assert (d["projected"], d["projected_percent"], d["projected_cross_date"]) == (
        Decimal("18.4"), Decimal("153.33"), "2026-11-20")  # fmt: skip
    assert _sent_keys(notify_svc.notify(make_context(cfg, db), now=NOW)) == []  # once per threshold and limit
    _import(tmp_path, db, "b5.jsonl", [{"event_id": "B5", "ts": "2026-11-14T10:00:00Z", "model_raw": "gpt-4o",
                                        "input_tokens": 1_200_000}])  # fmt: skip
    key_100 = "budget.threshold:global:month:2026-11-01:100:amount=12"
    assert _sent_keys(notify_svc.notify(make_context(cfg, db), now=NOW)) == [key_100]
    assert server.bodies()[2]["data"]["percent"] == Decimal("101.66")
    _set_limit(cfg, "10.00")  # back to $10 (written 10.00: the same limit): 122 %, 100 of $10 is new
    assert _sent_keys(notify_svc.notify(make_context(cfg, db), now=NOW)) == [
        "budget.threshold:global:month:2026-11-01:100:amount=10"
    ]
    statuses = {k: r.status for k, r in ledger(db).items()}
    assert statuses["budget.threshold:global:month:2026-11-01:90:amount=12"] == "superseded"
    assert statuses["budget.threshold:global:month:2026-11-01:95:amount=10"] == "superseded"
    assert statuses[BUDGET_KEY_90] == "delivered"  # never superseded once delivered


LEGACY_90 = "budget.threshold:global:month:2026-11-01:90"  # the key form of a ledger before this version


@pytest.mark.parametrize(("fmt", "ok"), [("json", True), ("slack", True), ("json", False)])
def test_a_ledger_from_before_limits_were_in_keys_does_not_alert_twice(
    tmp_path: Path, db_path: Path, server: HookServer, fmt: str, ok: bool
) -> None:
    """After an upgrade, the ledger holds the 90 alert of the $10 budget ($9.20 = 92 %) under the
    old key (no limit) and 75 as superseded. The budget unchanged, nothing is sent again (a
    failed one is retried under its old key and id, once); raised to $12 (76.67 %), the 75
    alert of the new limit is sent."""
    _import(tmp_path, db_path, "b.jsonl", BUDGET_EVENTS)
    cfg = write_config(tmp_path / "c.toml", server.url, ["budget.threshold"], format=fmt)
    if fmt == "slack":
        body = {"text": "🟠 global is at 92.0 % of $10.00 (month) — projected $18.40, crossing on 2026-11-17"}
    else:
        body = wh.envelope("budget.threshold", LEGACY_90, {"budget": {"scope": "global", "kind": "usd",
                           "limit": 10, "period": "month"}, "threshold": 90}, NOW)  # fmt: skip
    with connect(db_path) as con:
        deliveries.record_attempt(con, key=LEGACY_90, url=server.url, event_type="budget.threshold",
                                  payload_id=expected_id(LEGACY_90), payload=wh.body_json(body), ok=ok,
                                  status=200 if ok else 500, error=None if ok else "HTTP 500", now=NOW)  # fmt: skip
        deliveries.mark_superseded(con, key=LEGACY_90[:-2] + "75", url=server.url, event_type="budget.threshold",
                                   payload_id=expected_id(LEGACY_90[:-2] + "75"),
                                   reason=f"superseded by {LEGACY_90}", now=NOW)  # fmt: skip
    ctx = make_context(cfg, db_path)
    if ok:
        assert _sent_keys(notify_svc.notify(ctx, now=NOW)) == []
    else:  # the failed one again, as it was recorded: same key, id and body
        assert _sent_keys(notify_svc.notify(ctx, now=NOW)) == [LEGACY_90]
        assert server.requests[0]["headers"]["usagectl-delivery"] == expected_id(LEGACY_90)
        assert json.loads(server.requests[0]["body"]) == json.loads(wh.body_json(body))
        assert _sent_keys(notify_svc.notify(ctx, now=NOW)) == []
    assert ledger(db_path)[LEGACY_90].status == "delivered"
    assert BUDGET_KEY_90 not in ledger(db_path)
    # the older ledger's superseded 75 is of the same limit: not superseded again under the new
    # key (the first run after the upgrade printed "superseded" beside "nothing due": QA)
    assert not [k for k in ledger(db_path) if k.endswith(":75:amount=10")]
    sent_before = len(server.requests)
    _set_limit(cfg, "12")
    key_75 = "budget.threshold:global:month:2026-11-01:75:amount=12"
    assert _sent_keys(notify_svc.notify(make_context(cfg, db_path), now=NOW)) == [key_75]
    assert len(server.requests) == sent_before + 1
