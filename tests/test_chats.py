"""`report chats`, `chat show ID`, `message show ID` on a fixture worked out by hand.

Rates (USD per 1M tokens, PRICING.md): claude-sonnet-4-5 3 in / 15 out, cache read 0.30, 5m write
3.75, 1h write 6, web search $10 per 1,000 calls = $0.01 a call; over 200k total input
6 / 22.50 / 0.60. gpt-4o 2.50 / 10; gpt-4o-mini 0.15 / 0.60; mistral-large-2411 no price.

Chat c1 "Q3 Marketing Analysis" (member alice):
  m1 2025-11-03T09:00:00Z sonnet: 1,000 in, 2,000 5m write, 500 out; message 500, context 2,500
     = (1000*3 + 2000*3.75 + 500*15) / 1e6 = (3000 + 7500 + 7500) / 1e6 = 0.018; latency 4,000 ms
  m2 2025-11-03T09:44:30Z sonnet: 200 in, 3,000 read, 1,000 1h write, 800 out (300 tool output,
     100 reasoning), 2 web searches; message 200, context 3,000, files 1,000 (= 4,200 input)
     = (200*3 + 3000*0.3 + 1000*6 + 800*15) / 1e6 + 2 * 0.01 = 0.0195 + 0.02 = 0.0395; 2,500 ms
  c1: 2 messages, input 3,000 + 4,200 = 7,200, output 1,300, cost 0.0575, duration 44m 30s
Chat sess-2 (no title):
  n1 2025-11-04T23:30:00Z gpt-4o 2,000 in, 1,000 out = 0.005 + 0.01 = 0.015 (Berlin: 11-05 00:30)
  n2 2025-11-05T00:10:00Z mistral 5,000 in, 100 out: unpriced
  sess-2: 2 messages, input 7,000, output 1,100, cost 0.015 (+1 unpriced), duration 40m 00s
Chat c3 "Cheap": p1 2025-11-06T10:00:00Z gpt-4o-mini 1,000,000 in = 0.15, duration 0s
No chat: x1 2025-11-06 gpt-4o 1,000 in = 0.0025; x2 2025-11-07 sonnet 150,000 in + 50,001 read
  + 1,000 out: 200,001 > 200k, long context = (150000*6 + 50001*0.6 + 1000*22.5)/1e6 = 0.9525006
Chats: 3, 5 messages, input 7,200 + 7,000 + 1,000,000 = 1,014,200, output 2,400,
  cost 0.15 + 0.0575 + 0.015 = 0.2225; by cost: c3, c1, sess-2.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from tests.helpers import narrow_table, run, run_json, write_jsonl

D = Decimal
SONNET = "claude-sonnet-4-5"
EVENTS = [
    {"event_id": "E-m1", "ts": "2025-11-03T09:00:00Z", "model_raw": SONNET, "input_tokens": 1000,
     "cache_write_5m_tokens": 2000, "output_tokens": 500, "session_id": "c1", "chat_title": "Q3 Marketing Analysis",
     "message_id": "msg-1", "message_tokens": 500, "context_tokens": 2500, "file_tokens": 0, "latency_ms": 4000,
     "member": "alice", "status": "success"},
    {"event_id": "E-m2", "ts": "2025-11-03T09:44:30Z", "model_raw": "claude-sonnet-4-5-20250929", "input_tokens": 200,
     "cache_read_tokens": 3000, "cache_write_1h_tokens": 1000, "output_tokens": 800, "reasoning_tokens": 100,
     "tool_output_tokens": 300, "web_search_requests": 2, "session_id": "c1", "chat_title": "Q3 Marketing Analysis",
     "message_id": "msg-2", "message_tokens": 200, "context_tokens": 3000, "file_tokens": 1000, "latency_ms": 2500,
     "member": "alice", "file_id": "file-1", "file_name": "Annual_Report.pdf", "file_bytes": 2300000},
    {"event_id": "E-n1", "ts": "2025-11-04T23:30:00Z", "model_raw": "gpt-4o", "input_tokens": 2000,
     "output_tokens": 1000, "session_id": "sess-2", "message_id": "dup", "member": "bob"},
    {"event_id": "E-n2", "ts": "2025-11-05T00:10:00Z", "model_raw": "mistral-large-2411", "provider": "mistral",
     "input_tokens": 5000, "output_tokens": 100, "session_id": "sess-2", "message_id": "dup", "member": "bob"},
    {"event_id": "E-p1", "ts": "2025-11-06T10:00:00Z", "model_raw": "gpt-4o-mini", "input_tokens": 1000000,
     "session_id": "c3", "chat_title": "Cheap", "message_id": "msg-p1"},
    {"event_id": "E-x1", "ts": "2025-11-06T11:00:00Z", "model_raw": "gpt-4o", "input_tokens": 1000},
    {"event_id": "E-x2", "ts": "2025-11-07T08:00:00Z", "model_raw": SONNET, "input_tokens": 150000,
     "cache_read_tokens": 50001, "output_tokens": 1000, "message_id": "msg-long"},
]  # fmt: skip
NOV = ("--since", "2025-11-01", "--until", "2025-11-30")


@pytest.fixture
def db(tmp_path: Path, db_path: Path) -> str:
    run("import", str(write_jsonl(tmp_path / "chats.jsonl", EVENTS)), "--db", str(db_path))
    return str(db_path)


def _dec(x: object) -> Decimal:
    return D(str(x))


def test_report_chats_rows_totals_and_order(db: str) -> None:
    out = run_json("report", "chats", *NOV, "--tz", "UTC", "--db", db)
    assert out["report"] == "chats"
    assert [r["session_id"] for r in out["rows"]] == ["c3", "c1", "sess-2"]
    c3, c1, s2 = out["rows"]
    assert c1["chat"] == "Q3 Marketing Analysis" and s2["chat"] == "sess-2"  # no title: the session id
    assert (c1["messages"], c1["total_input_tokens"], c1["output_tokens"]) == (2, 7200, 1300)
    assert _dec(c1["cost_usd"]) == D("0.0575")
    assert c1["duration_s"] == 44 * 60 + 30 and c1["duration"] == "44m 30s"
    assert c1["first_ts"] == "2025-11-03T09:00:00+00:00" and c1["last_ts"] == "2025-11-03T09:44:30+00:00"
    assert c1["models"] == "claude-sonnet-4-5" and c1["started"] == "2025-11-03 09:00"
    assert (s2["messages"], s2["total_input_tokens"], s2["output_tokens"]) == (2, 7000, 1100)
    assert _dec(s2["cost_usd"]) == D("0.015") and s2["unpriced_requests"] == 1
    assert s2["models"] == "gpt-4o, mistral-large-2411" and s2["duration"] == "40m 00s"
    assert _dec(c3["cost_usd"]) == D("0.15") and c3["duration"] == "0s"
    t = out["totals"]
    assert (t["chats"], t["messages"], t["total_input_tokens"], t["output_tokens"]) == (3, 5, 1014200, 2400)
    # input with cache is its own key: ``input_tokens`` is uncached input in every other report
    assert "input_tokens" not in c1 and "input_tokens" not in t
    assert _dec(t["cost_usd"]) == D("0.2225")
    assert t["unpriced_models"] == [{"model": "mistral-large-2411", "requests": 1, "total_tokens": 5100}]
    # the two events without a session: 0.0025 + 0.9525006 = 0.9550006, JSON rounds half-even to 6 places
    assert t["no_chat_requests"] == 2 and _dec(t["no_chat_cost_usd"]) == D("0.955001")
    # x1 1,000 + x2 150,000 + 50,001 + 1,000 = 202,001 tokens in 2 requests; the note shows money
    # as the tables do: 0.9550006 -> $0.96
    assert (
        "Usage without a session id (2 requests, 202,001 tokens, cost $0.96) belongs to no chat; "
        "it is not above." in out["notes"]
    )
    assert any("mistral-large-2411" in n for n in out["notes"])


def test_usage_without_a_session_names_buckets_without_a_request_count(tmp_path: Path, db_path: Path) -> None:
    """Provider buckets (Anthropic's usage report: no request count, stored as 0) have no session.
    Here 3 logged requests of gpt-4o (1,000 in = 0.0025) and two buckets with requests 0 of
    gpt-4o (2,000 + 4,000 in = 0.005 + 0.01): 3 requests and 2 buckets, 7,000 tokens, 0.0175.
    The note read "3 requests" (the raw sum), and "0 requests" for the buckets of the 6th alone."""
    events = [
        {"event_id": "R", "ts": "2025-11-05T11:00:00Z", "model_raw": "gpt-4o", "input_tokens": 1000, "requests": 3},
        {"event_id": "B1", "ts": "2025-11-06T12:00:00Z", "model_raw": "gpt-4o", "input_tokens": 2000, "requests": 0},
        {"event_id": "B2", "ts": "2025-11-06T13:00:00Z", "model_raw": "gpt-4o", "input_tokens": 4000, "requests": 0},
    ]
    run("import", str(write_jsonl(tmp_path / "b.jsonl", events)), "--db", str(db_path))
    notes = run_json("report", "chats", *NOV, "--db", str(db_path))["notes"]
    assert (
        "Usage without a session id (3 requests and 2 buckets without a request count, 7,000 tokens, "
        "cost $0.02) belongs to no chat; it is not above." in notes  # 0.0175 to the cent, half-even
    )
    day = run_json("report", "chats", "--since", "2025-11-06", "--until", "2025-11-06", "--db", str(db_path))
    assert (
        "Usage without a session id (2 buckets without a request count, 6,000 tokens, cost $0.02) "
        "belongs to no chat; it is not above." in day["notes"]
    )


def test_chat_show_counts_an_unpriced_event_without_a_request_count_as_report_chats_does(
    tmp_path: Path, db_path: Path
) -> None:
    """Chat s: an unpriced acme-llm-9 event with requests 0 and one with 2 requests: report chats
    counts 1 + 2 = 3 unpriced requests (a bucket without a count is one); chat show said 2."""
    events = [
        {"event_id": "u0", "ts": "2025-11-06T11:00:00Z", "model_raw": "acme-llm-9", "input_tokens": 10,
         "requests": 0, "session_id": "s"},
        {"event_id": "u2", "ts": "2025-11-06T12:00:00Z", "model_raw": "acme-llm-9", "input_tokens": 10,
         "requests": 2, "session_id": "s"},
    ]  # fmt: skip
    run("import", str(write_jsonl(tmp_path / "u.jsonl", events)), "--db", str(db_path))
    listed = run_json("report", "chats", *NOV, "--db", str(db_path))
    assert listed["rows"][0]["unpriced_requests"] == 3
    assert run_json("chat", "show", "s", "--db", str(db_path))["totals"]["unpriced_requests"] == 3


def test_average_cost_per_chat_is_over_the_fully_priced_chats(db: str) -> None:
    """sess-2 has an unpriced message (n2), so it has no full cost: counting it in would price
    that message at $0. Average over c1 and c3: (0.0575 + 0.15) / 2 = 0.10375, not 0.2225 / 3.
    It stays so with --top 1 (the average is of all chats, not of the rows shown). With only
    sess-2 in range (--member bob) no chat is fully priced: the average is unpriced (null)."""
    for top in ("50", "1"):
        out = run_json("report", "chats", *NOV, "--top", top, "--db", db)
        assert _dec(out["overview"]["avg_cost_per_chat_usd"]) == D("0.10375")
        assert any("over the 2 fully priced chats" in n and "1 chat." in n for n in out["notes"])
    table = run("report", "chats", *NOV, "--db", db).stdout
    assert "Average cost per priced chat" in table and "$0.10" in table
    bob = run_json("report", "chats", *NOV, "--member", "bob", "--db", db)
    assert bob["overview"]["avg_cost_per_chat_usd"] is None
    alice = run_json("report", "chats", *NOV, "--member", "alice", "--db", db)  # c1 only, every message priced
    assert _dec(alice["overview"]["avg_cost_per_chat_usd"]) == D("0.0575")
    assert not any("fully priced" in n for n in alice.get("notes", []))


def test_report_chats_top_keeps_totals(db: str) -> None:
    out = run_json("report", "chats", *NOV, "--top", "1", "--db", db)
    assert [r["session_id"] for r in out["rows"]] == ["c3", None]
    assert out["totals"]["chats"] == 3 and _dec(out["totals"]["cost_usd"]) == D("0.2225")
    assert any("top 1 of 3" in n for n in out["notes"])
    # the other two chats (c1 + sess-2) in one row, as `report by --top` has its "(other)":
    # 2 + 2 messages, input 7,200 + 7,000, output 1,300 + 1,100, cost 0.0575 + 0.015, 1 unpriced
    other = out["rows"][1]
    assert other["chat"] == "(other 2 chats)" and other["other_chats"] == 2
    assert (other["messages"], other["total_input_tokens"], other["output_tokens"], other["total_tokens"]) == (
        4, 14_200, 2_400, 16_600)  # fmt: skip
    assert _dec(other["cost_usd"]) == D("0.0725") and other["unpriced_requests"] == 1
    for key in ("messages", "total_input_tokens", "output_tokens", "total_tokens", "unpriced_requests"):
        assert sum(r[key] for r in out["rows"]) == out["totals"][key], key  # the rows add up
    assert "(other 2 chats)" in run("report", "chats", *NOV, "--top", "1", "--db", db).stdout
    # every chat listed: no such row
    assert all(r["session_id"] for r in run_json("report", "chats", *NOV, "--top", "3", "--db", db)["rows"])
    run("report", "chats", *NOV, "--top", "-1", "--db", db, expect=2)


def test_report_by_chat_with_a_second_level_says_what_to_use(db: str) -> None:
    """`report by chat --by model` got Click's "No such option: --by (Possible options: --db)"."""
    for cmd in (("report", "by", "chat"), ("report", "chats")):
        err = run(*cmd, "--by", "model", "--db", db, expect=2).stderr
        assert f"{' '.join(cmd)} --by model: a chat has no second level" in err and "chat show ID" in err
        assert "No such option" not in err
    assert "--by" not in run("report", "chats", "--help").stdout  # not offered: it only explains
    # chat as the second level: the same explanation, not "unknown dimension 'chat'" (QA)
    for typed in (("model,chat",), ("model", "--by", "chat"), ("model", "--by", "model,chat")):
        err = run("report", "by", *typed, "--db", db, expect=2).stderr
        assert "chat has no second level (`report by chat` alone)" in err and "unknown dimension" not in err


def test_the_second_level_message_quotes_the_command_under_python_m(db: str) -> None:
    """Run as `python -m usagectl` the program's name is three words, and the message quoted
    "-m usagectl report chats --by model" (QA): the command is the words after the program,
    whatever it is called."""
    from typer.testing import CliRunner

    from usagectl.cli import app

    for program in ("python -m usagectl", "/usr/local/bin/usagectl"):
        for cmd in (("report", "by", "chat"), ("report", "chats")):
            res = CliRunner().invoke(app, [*cmd, "--by", "model", "--db", db], prog_name=program)
            assert res.exit_code == 2, res.stderr
            assert res.stderr.startswith(f"usagectl: error: {' '.join(cmd)} --by model: a chat has no second level")
            assert "-m usagectl" not in res.stderr


def test_report_chats_day_boundary_in_berlin(db: str) -> None:
    # from 2025-11-05: in UTC only n2 (unpriced) of sess-2 is in; in Berlin n1 (11-05 00:30) is in too
    utc = run_json("report", "chats", "--since", "2025-11-05", "--until", "2025-11-30", "--tz", "UTC", "--db", db)
    assert [r["session_id"] for r in utc["rows"]] == ["c3", "sess-2"]
    assert utc["rows"][1]["cost_usd"] is None and utc["rows"][1]["messages"] == 1  # unpriced, never $0
    ber = run_json(
        "report", "chats", "--since", "2025-11-05", "--until", "2025-11-30", "--tz", "Europe/Berlin", "--db", db
    )
    s2 = {r["session_id"]: r for r in ber["rows"]}["sess-2"]
    assert s2["messages"] == 2 and _dec(s2["cost_usd"]) == D("0.015")
    assert s2["first_ts"] == "2025-11-05T00:30:00+01:00"


def test_report_chats_filters_and_formats(db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    out = run_json("report", "chats", *NOV, "--member", "bob", "--db", db)
    assert [r["session_id"] for r in out["rows"]] == ["sess-2"]
    table = run("report", "chats", *NOV, "--db", db).stdout
    # at 80 columns the two models of sess-2 leave no room for the duration: a note names it
    assert "Cheap" in table and "44m 30s" not in table and "Duration" in table.split("not shown at this width")[1]
    monkeypatch.setenv("COLUMNS", "120")
    table = run("report", "chats", *NOV, "--db", db).stdout
    assert "Cheap" in table and "44m 30s" in table and "not shown" not in table
    md = run("report", "chats", *NOV, "--db", db, "--format", "markdown").stdout
    assert "| Chat |" in md


def test_chat_show_lists_each_message_in_the_zone(db: str) -> None:
    out = run_json("chat", "show", "c1", "--tz", "America/New_York", "--db", db)
    assert out["report"] == "chat"
    m1, m2 = out["rows"]
    # 09:00Z is 04:00 in New York (EST, UTC-5, after 2025-11-02)
    assert m1["time"] == "2025-11-03 04:00:00" and m1["ts"] == "2025-11-03T04:00:00-05:00"
    assert (m1["message"], m1["model"], m1["input_tokens"], m1["cache_write_tokens"]) == ("msg-1", SONNET, 1000, 2000)
    assert _dec(m1["cost_usd"]) == D("0.018") and m1["latency_ms"] == 4000
    assert (m2["cache_read_tokens"], m2["cache_write_tokens"], m2["output_tokens"]) == (3000, 1000, 800)
    assert (m2["message_tokens"], m2["context_tokens"], m2["file_tokens"]) == (200, 3000, 1000)
    assert _dec(m2["cost_usd"]) == D("0.0395")
    t = out["totals"]
    assert (t["messages"], t["input_tokens"], t["cache_read_tokens"], t["cache_write_tokens"]) == (2, 1200, 3000, 3000)
    assert t["total_input_tokens"] == 1200 + 3000 + 3000  # as the overview's, under the same key
    assert t["output_tokens"] == 1300 and _dec(t["cost_usd"]) == D("0.0575") and t["latency_ms"] == 6500
    ov = out["overview"]
    assert ov["chat_title"] == "Q3 Marketing Analysis" and ov["duration"] == "44m 30s"
    assert ov["total_input_tokens"] == 7200 and ov["members"] == "alice"


def test_chat_show_unpriced_message_and_not_found(db: str) -> None:
    out = run_json("chat", "show", "sess-2", "--db", db)
    assert out["rows"][1]["cost_usd"] is None and _dec(out["totals"]["cost_usd"]) == D("0.015")
    assert out["totals"]["unpriced_requests"] == 1 and "mistral-large-2411" in out["notes"][0]
    res = run("chat", "show", "nope", "--db", db, expect=2)
    assert "nope" in res.stderr and "report chats" in res.stderr


def test_lookups_by_id_find_usage_dated_after_today(tmp_path: Path, db_path: Path) -> None:
    """A clock that runs ahead dates usage in the future, and reports keep it: `message show` and
    `chat show` find it without --until (they searched up to today only). gpt-4o 1,000 in + 100
    out = 0.0025 + 0.001 = 0.0035. A miss names a range only when one was given."""
    future = {"event_id": "fut", "ts": "2099-01-02T10:00:00Z", "model_raw": "gpt-4o", "input_tokens": 1000,
              "output_tokens": 100, "session_id": "s-fut", "message_id": "m-fut"}  # fmt: skip
    run("import", str(write_jsonl(tmp_path / "f.jsonl", [future])), "--db", str(db_path))
    shown = run_json("message", "show", "fut", "--db", str(db_path))
    assert _dec(shown["totals"]["amount_usd"]) == D("0.0035")
    # every day searched: no made-up range in the header
    assert (shown["filters"]["since"], shown["filters"]["until"]) == (None, None)
    assert run_json("chat", "show", "s-fut", "--db", str(db_path))["totals"]["messages"] == 1
    assert (
        "no event or message with id 'nope'\n" in run("message", "show", "nope", "--db", str(db_path), expect=2).stderr
    )
    narrowed = run("message", "show", "fut", "--until", "2098-12-31", "--db", str(db_path), expect=2).stderr
    assert "no event or message with id 'fut' until 2098-12-31 (" in narrowed


def test_message_show_exact_cost_calculation(db: str) -> None:
    out = run_json("message", "show", "msg-2", "--tz", "UTC", "--db", db)
    assert out["report"] == "message"
    lines = {r["bucket"]: r for r in out["rows"]}
    # the 5m write bucket is 0 and left out; every other line: quantity x rate = amount
    assert list(lines) == ["input_tokens", "cache_read_tokens", "cache_write_1h_tokens", "output_tokens",
                           "web_search_requests"]  # fmt: skip
    expect = {"input_tokens": (200, "3", "0.0006"), "cache_read_tokens": (3000, "0.3", "0.0009"),
              "cache_write_1h_tokens": (1000, "6", "0.006"), "output_tokens": (800, "15", "0.012"),
              "web_search_requests": (2, "0.01", "0.02")}  # fmt: skip
    for bucket, (qty, rate, amount) in expect.items():
        assert lines[bucket]["quantity"] == qty
        assert _dec(lines[bucket]["rate_usd"]) == D(rate)
        assert _dec(lines[bucket]["amount_usd"]) == D(amount)
    assert lines["input_tokens"]["calculation"] == "200 × $3.00/M = $0.0006"
    assert (
        lines["web_search_requests"]["calculation"] == "2 × $0.01 = $0.02"
        and lines["web_search_requests"]["unit"] == "call"
    )
    assert _dec(out["totals"]["amount_usd"]) == D("0.0395") == sum(_dec(r["amount_usd"]) for r in out["rows"])
    ov = out["overview"]
    assert ov["price_source"] == "https://platform.claude.com/docs/en/about-claude/pricing"
    assert ov["service_tier"] == "standard" and ov["band"] == "base (total input ≤ 200,000 tokens)"
    assert ov["latency_ms"] == 2500 and ov["event_id"] == "E-m2" and _dec(ov["cost_usd"]) == D("0.0395")
    assert ov["file"] == "Annual_Report.pdf" and ov["file_bytes"] == 2300000 and ov["time"] == "2025-11-03 09:44:30"
    assert "Cost (exact): $0.0006 + $0.0009 + $0.006 + $0.012 + $0.02 = $0.0395." in out["notes"]
    inp = {r["part"]: r["tokens"] for r in out["input"]}
    assert inp == {"Your message": 200, "Context": 3000, "Files": 1000, "Total": 4200}
    outp = {r["part"]: r["tokens"] for r in out["output"]}
    assert outp == {"Response": 500, "Tool outputs": 300, "Total output": 800, "of which reasoning": 100}
    assert any("= billed input 4,200 = uncached 200 + cache read 3,000 + cache writes 1,000" in n for n in out["notes"])


def test_tool_output_over_output_is_rejected_at_import_and_never_shown_negative(tmp_path: Path, db: str) -> None:
    """Tool output is part of output. A record of 50 output tokens with 80 of tool output is
    rejected with both numbers; a row stored before that check (written here straight into the
    table) shows Response max(50 - 80, 0) = 0, not -30, and a note says the breakdown does not add up."""
    bad = {"event_id": "E-bad", "ts": "2025-11-06T10:00:00Z", "model_raw": "gpt-4o", "input_tokens": 100,
           "output_tokens": 50, "tool_output_tokens": 80, "message_id": "msg-bad"}  # fmt: skip
    summary = json.loads(run("import", str(write_jsonl(tmp_path / "bad.jsonl", [bad])), "--db", db, "--json").stdout)
    assert (summary["imported"], summary["rejected"]) == (0, 1)
    rejects = run_json("db", "rejects", "--db", db)["rows"]
    assert [r["reason"] for r in rejects] == ["tool_output_tokens (80) exceeds output_tokens (50)"]

    import duckdb

    with duckdb.connect(db) as con:  # as a database written before the check holds it
        con.execute("UPDATE events SET output_tokens = 50, tool_output_tokens = 80 WHERE event_id = 'E-n1'")
    out = run_json("message", "show", "E-n1", "--db", db)
    outp = {r["part"]: r["tokens"] for r in out["output"]}
    assert outp == {"Response": 0, "Tool outputs": 80, "Total output": 50}
    assert any("tool outputs 80 exceed the billed output 50" in n for n in out["notes"])
    assert "-30" not in run("message", "show", "E-n1", "--db", db).stdout


def test_message_show_long_context_band_by_event_id(db: str) -> None:
    out = run_json("message", "show", "E-x2", "--db", db)
    assert out["overview"]["band"] == "long context (total input > 200,000 tokens)"
    lines = {r["bucket"]: r for r in out["rows"]}
    assert _dec(lines["input_tokens"]["rate_usd"]) == D("6") and _dec(lines["output_tokens"]["rate_usd"]) == D("22.5")
    # 150000*6/1e6 = 0.9, 50001*0.6/1e6 = 0.0300006, 1000*22.5/1e6 = 0.0225; JSON money has 6 places,
    # the calculation text is exact
    assert lines["cache_read_tokens"]["calculation"] == "50,001 × $0.60/M = $0.0300006"
    assert _dec(out["totals"]["amount_usd"]) == D("0.952501")
    assert "Cost (exact): $0.9 + $0.0300006 + $0.0225 = $0.9525006." in out["notes"]
    assert any("did not report" in n for n in out["notes"])


def test_message_show_unpriced_ambiguous_and_not_found(db: str) -> None:
    out = run_json("message", "show", "E-n2", "--db", db)
    assert out["rows"] == [] and out["totals"]["amount_usd"] is None
    assert "unknown model 'mistral-large-2411'" in out["overview"]["unpriced_reason"]
    assert any(n.startswith("Unpriced:") for n in out["notes"])
    res = run("message", "show", "dup", "--db", db, expect=2)
    assert "E-n1" in res.stderr and "E-n2" in res.stderr
    res = run("message", "show", "missing", "--db", db, expect=2)
    assert "missing" in res.stderr and "hint:" in res.stderr
    table = run("message", "show", "msg-2", "--db", db).stdout
    assert "200 × $3.00/M = $0.0006" in table and "Input breakdown" in table


def test_a_narrow_chats_table_keeps_session_ids_whole(tmp_path: Path, db_path: Path) -> None:
    """Claude Code session ids are 36-character UUIDs: at 80 columns the table leaves out the
    unpriced count, the start, the duration, then the models, and says so, rather than fold
    the id (the handle for `usagectl chat show`) into pieces. A 20-character id keeps the
    duration and the models (only the start is left out; nothing is unpriced that day)."""
    sid = "5f0c2a9e-7d1b-4c36-9a8e-2b4f6d1e3c70"
    events = [
        {"event_id": "U1", "ts": "2025-11-03T09:00:00Z", "model_raw": SONNET, "input_tokens": 1000,
         "output_tokens": 10, "session_id": sid},
        {"event_id": "U2", "ts": "2025-11-03T09:05:00Z", "model_raw": "mistral-large-2411", "provider": "mistral",
         "input_tokens": 1000, "output_tokens": 10, "session_id": sid},
        {"event_id": "U3", "ts": "2025-11-04T09:00:00Z", "model_raw": SONNET, "input_tokens": 1000,
         "output_tokens": 10, "session_id": "run_daf57fb3a4f4f1d4"},
        {"event_id": "U4", "ts": "2025-11-04T09:07:30Z", "model_raw": SONNET, "input_tokens": 1000,
         "output_tokens": 10, "session_id": "run_daf57fb3a4f4f1d4"},
    ]  # fmt: skip
    run("import", str(write_jsonl(tmp_path / "u.jsonl", events)), "--db", str(db_path))
    text = run("report", "chats", *NOV, "--db", str(db_path)).stdout
    words, note = narrow_table(text)
    assert sid in words and not {"Unpriced", "Started", "Duration", "Models"} & words
    assert note.startswith("Unpriced, Started, Duration, Models (a wider terminal")
    rows = {r["session_id"]: r for r in run_json("report", "chats", *NOV, "--db", str(db_path))["rows"]}
    assert (rows[sid]["unpriced_requests"], rows[sid]["messages"], rows[sid]["duration_s"]) == (1, 2, 300)
    text = run("report", "chats", "--since", "2025-11-04", "--until", "2025-11-04", "--db", str(db_path)).stdout
    words = set(text.split())
    assert {"run_daf57fb3a4f4f1d4", "Duration", "7m", "30s", SONNET} <= words and "Unpriced" not in words
    assert "not shown at this width: Started (a wider" in " ".join(text.split())


def test_chat_show_of_a_coding_agent_session_at_80_columns(tmp_path: Path, db_path: Path) -> None:
    """A Claude Code session: 28-character message ids, no latency logged. At 80 columns the
    table has no column of dashes for latency and leaves out the message ids (named in a note;
    JSON keeps them) rather than fold them; model names and the cache writes stay whole.
    By hand: claude-sonnet-4-5 1,000 in + 2,000 5m writes + 100 out = 0.003 + 0.0075 + 0.0015."""
    sid = "5f0c2a9e-7d1b-4c36-9a8e-2b4f6d1e3c70"
    mid = "msg_01JH3EnpMrZujuQmmdBy5vof"
    ev = {"event_id": "K1", "ts": "2025-11-03T09:00:00Z", "model_raw": SONNET, "input_tokens": 1000,
          "cache_write_5m_tokens": 2000, "output_tokens": 100, "session_id": sid, "message_id": mid}  # fmt: skip
    run("import", str(write_jsonl(tmp_path / "k.jsonl", [ev])), "--db", str(db_path))
    text = run("chat", "show", sid, "--tz", "UTC", "--db", str(db_path)).stdout
    words, note = narrow_table(text)
    assert {SONNET, "2,000", "$0.01"} <= words and "write" in words  # the table rounds to cents
    assert mid not in words and "Latency" not in words
    assert note.startswith("Message (a wider terminal")
    row = run_json("chat", "show", sid, "--db", str(db_path))["rows"][0]
    assert (row["message"], row["latency_ms"], _dec(row["cost_usd"])) == (mid, None, D("0.012"))


def test_the_repeated_autumn_hour_reads_apart(tmp_path: Path, db_path: Path) -> None:
    """Berlin's clocks go back at 03:00 CEST on 2026-10-25: 00:30Z and 01:30Z are both 02:30 local
    (CEST, then CET). The table names the zone of such a wall time; other times stay bare; JSON
    keeps the ISO instant with its offset (QA: two messages an hour apart both read 02:30:00)."""
    events = [
        {"event_id": "m1", "ts": "2026-10-25T00:30:00Z", "model_raw": "gpt-4o-mini", "input_tokens": 100,
         "session_id": "s1", "message_id": "mm1"},
        {"event_id": "m2", "ts": "2026-10-25T01:30:00Z", "model_raw": "gpt-4o-mini", "input_tokens": 200,
         "session_id": "s1", "message_id": "mm2"},
        {"event_id": "m3", "ts": "2026-10-25T02:40:00Z", "model_raw": "gpt-4o-mini", "input_tokens": 300,
         "session_id": "s1", "message_id": "mm3"},
    ]  # fmt: skip
    run("import", str(write_jsonl(tmp_path / "c.jsonl", events)), "--db", str(db_path))
    table = run("chat", "show", "s1", "--tz", "Europe/Berlin", "--db", str(db_path)).stdout
    assert "02:30:00 CEST" in table and "02:30:00 CET" in table
    assert "03:40:00" in table and "03:40:00 CET" not in table  # 02:40Z: unambiguous


def test_a_first_message_in_the_repeated_hour_keeps_its_place_in_the_overview(tmp_path: Path, db_path: Path) -> None:
    """QA: `chat show` in Berlin printed "First message 2026-10-25 02:30:00 CEST" below "Cost". By
    hand at the CLI's 80 columns: the pair is 13 + 2 + 24 = 39 cells, one over half a row
    ((80 - 4) // 2 = 38), so it was set apart below; two pairs a row would need 13 + 2 + 24 (left)
    + 4 + 26 + 2 + 17 (right: "Input tokens (incl. cache)", "claude-sonnet-4-5") = 88 > 80, so one
    pair a row, the label column 26 wide: 26 + 2 + 24 = 52 fits. Every overview line in its order,
    the values right-aligned in one column (each line 52 cells)."""
    events = [
        {"event_id": "c4", "ts": "2026-10-25T00:30:00Z", "model_raw": SONNET, "input_tokens": 100,
         "output_tokens": 10, "session_id": "s3", "chat_title": "berlin", "message_id": "m4"},
        {"event_id": "c5", "ts": "2026-10-25T01:40:00Z", "model_raw": SONNET, "input_tokens": 100,
         "output_tokens": 10, "session_id": "s3", "chat_title": "berlin", "message_id": "m5"},
    ]  # fmt: skip
    run("import", str(write_jsonl(tmp_path / "c.jsonl", events)), "--db", str(db_path))
    text = run("chat", "show", "s3", "--tz", "Europe/Berlin", "--db", str(db_path)).stdout
    overview = text.split("\n\n")[1].splitlines()
    labels = ["Chat", "Session", "Messages", "First message", "Last message", "Duration", "Models",
              "Input tokens (incl. cache)", "Output tokens", "Cost"]  # fmt: skip
    assert [line[: len(lbl)] for line, lbl in zip(overview, labels)] == labels and len(overview) == 10
    assert overview[3].endswith(" 2026-10-25 02:30:00 CEST") and overview[4].endswith(" 2026-10-25 02:40:00 CET")
    assert {len(line) for line in overview} == {52}


def test_titles_and_models_follow_a_team_filter_from_the_config(tmp_path: Path, db: str) -> None:
    """The titles and models of the chats shown are read without the price join (the mapped
    events): a filter on a team that only the config's member mapping gives still applies."""
    config = tmp_path / "usagectl.toml"
    config.write_text('[members.alice]\nteam = "research"\n[members.bob]\nteam = "sales"\n')
    out = run_json("report", "chats", *NOV, "--team", "research", "--config", str(config), "--db", db)
    assert [(r["session_id"], r["chat_title"], r["models"]) for r in out["rows"]] == [
        ("c1", "Q3 Marketing Analysis", SONNET)
    ]
    out = run_json("report", "chats", *NOV, "--team", "sales", "--config", str(config), "--db", db)
    assert [(r["session_id"], r["chat_title"], r["models"]) for r in out["rows"]] == [
        ("sess-2", None, "gpt-4o, mistral-large-2411")
    ]


def test_chats_started_in_the_repeated_hour_read_apart(tmp_path: Path, db_path: Path) -> None:
    """New York's clocks go back at 02:00 EDT on 2026-11-01: 05:30Z is 01:30 EDT (UTC−4) and
    06:30Z, an hour later, 01:30 EST (UTC−5). "Started" showed both as "2026-11-01 01:30" (the
    abbreviation was cut off with the seconds); it now names the zone there, as `chat show`
    does, and stays bare elsewhere: 2026-11-01T12:00Z is 07:00 EST, a time shown once."""
    events = [
        {"event_id": "c1", "ts": "2026-11-01T05:30:00Z", "model_raw": "gpt-4o-mini", "input_tokens": 300,
         "session_id": "edt"},
        {"event_id": "c2", "ts": "2026-11-01T06:30:00Z", "model_raw": "gpt-4o-mini", "input_tokens": 200,
         "session_id": "est"},
        {"event_id": "c3", "ts": "2026-11-01T12:00:00Z", "model_raw": "gpt-4o-mini", "input_tokens": 100,
         "session_id": "noon"},
    ]  # fmt: skip
    run("import", str(write_jsonl(tmp_path / "c.jsonl", events)), "--db", str(db_path))
    args = ("report", "chats", "--since", "2026-11-01", "--until", "2026-11-01", "--tz", "America/New_York")
    rows = run_json(*args, "--db", str(db_path))["rows"]  # by cost: 300, 200, 100 tokens
    assert [(r["session_id"], r["started"]) for r in rows] == [
        ("edt", "2026-11-01 01:30 EDT"), ("est", "2026-11-01 01:30 EST"), ("noon", "2026-11-01 07:00")]  # fmt: skip
    table = run(*args, "--db", str(db_path), "--format", "table").stdout
    assert "2026-11-01 01:30 EDT" in table and "2026-11-01 01:30 EST" in table


def test_a_range_without_chats_costs_nothing_and_an_unknown_member_is_named(db: str) -> None:
    """QA: with no chat in range the overview said "Cost of the chats: unpriced" and "Average cost
    per chat: unpriced"; no chat costs $0.00 and has no average. --member Bob (the data has bob)
    left the report silently empty where `report by` names the close match."""
    out = run_json("report", "chats", *NOV, "--member", "Bob", "--db", db)
    assert out["rows"] == [] and out["overview"]["chats"] == 0
    assert out["overview"]["cost_usd"] == 0 and out["totals"]["cost_usd"] == 0
    assert "avg_cost_per_chat_usd" not in out["overview"]
    assert "No member 'Bob' in the data (did you mean bob?)." in out["notes"]
    table = run("report", "chats", "--since", "2025-12-01", "--until", "2025-12-31", "--db", db).stdout
    assert "unpriced" not in table and "$0.00" in table
    assert "did you mean" not in table  # no filter given: nothing to name


def test_the_no_chat_note_shows_money_as_the_table_and_says_what_is_unpriced(tmp_path: Path, db_path: Path) -> None:
    """QA: "cost $0.600000" (6 decimals beside a table in cents), called the cost although one of
    the requests has no price. gpt-4o $10/M out: 50,000 out = 0.50; 40,000 in x $2.50/M = 0.10;
    mystery-1 unpriced. Priced part 0.60, a lower bound: "≥ $0.60, 1 request unpriced"."""
    events = [
        {"event_id": "e2", "ts": "2025-11-10T11:00:00Z", "model_raw": "gpt-4o", "output_tokens": 50000},
        {"event_id": "e3", "ts": "2025-11-10T12:00:00Z", "model_raw": "gpt-4o", "input_tokens": 40000},
        {"event_id": "e4", "ts": "2025-11-10T13:00:00Z", "model_raw": "mystery-1", "input_tokens": 1000},
    ]
    run("import", str(write_jsonl(tmp_path / "n.jsonl", events)), "--db", str(db_path))
    notes = run_json("report", "chats", *NOV, "--db", str(db_path))["notes"]
    assert (
        "Usage without a session id (3 requests, 91,000 tokens, cost ≥ $0.60, 1 request unpriced) belongs to no "
        "chat; it is not above." in notes
    )


def test_a_miss_names_only_the_bound_given_and_the_help_says_every_day(tmp_path: Path, db_path: Path) -> None:
    """QA: a miss with one bound named an end never given ("between 2026-11-01 and 2199-12-31",
    "between 1970-01-01 and 2026-11-01"), and the help still said "every day up to today"."""
    future = {"event_id": "fut", "ts": "2099-01-02T10:00:00Z", "model_raw": "gpt-4o", "input_tokens": 1000,
              "session_id": "s-fut", "message_id": "m-fut"}  # fmt: skip
    run("import", str(write_jsonl(tmp_path / "f.jsonl", [future])), "--db", str(db_path))
    since = run("chat", "show", "nope", "--since", "2026-11-01", "--tz", "UTC", "--db", str(db_path), expect=2)
    assert "no chat with session id 'nope' since 2026-11-01 (UTC)\n" in since.stderr
    until = run("message", "show", "nope", "--until", "2026-11-01", "--tz", "UTC", "--db", str(db_path), expect=2)
    assert "no event or message with id 'nope' until 2026-11-01 (UTC)\n" in until.stderr
    both = run("chat", "show", "nope", "--since", "2026-11-01", "--until", "2026-11-02", "--tz", "UTC",
               "--db", str(db_path), expect=2)  # fmt: skip
    assert "no chat with session id 'nope' between 2026-11-01 and 2026-11-02 (UTC)" in both.stderr
    for command in ("chat", "message"):
        text = " ".join(run(command, "show", "--help").stdout.split())
        assert "up to today" not in text and "searches every day, usage dated after today included" in text


# chat s1: u3 mystery-model 500 in (1 request, unpriced); u4 gpt-4o 500 in x $2.50/M = 0.00125;
# u5 other-unknown 700 in, requests 0 (a bucket: one request, unpriced). Chat s2: gpt-4o
# 1,000,000 in = 2.50.
BUCKET_CHAT = [
    {"event_id": "u3", "ts": "2026-11-03T12:00:00Z", "model_raw": "mystery-model", "input_tokens": 500,
     "session_id": "s1"},
    {"event_id": "u4", "ts": "2026-11-03T12:05:00Z", "model_raw": "gpt-4o", "input_tokens": 500, "session_id": "s1"},
    {"event_id": "u5", "ts": "2026-11-03T12:06:00Z", "model_raw": "other-unknown", "input_tokens": 700,
     "requests": 0, "session_id": "s1"},
    {"event_id": "p1", "ts": "2026-11-04T12:00:00Z", "model_raw": "gpt-4o", "input_tokens": 1_000_000,
     "session_id": "s2"},
]  # fmt: skip
NOV26 = ("--since", "2026-11-01", "--until", "2026-11-30", "--tz", "UTC")


def test_messages_count_a_bucket_as_one_as_the_unpriced_count_does(tmp_path: Path, db_path: Path) -> None:
    """QA: s1 read "Messages 2, Unpriced 2" (the bucket u5 counted 0 messages but 1 unpriced
    request) although u4 is priced, and chat show said "2 of 3 messages" beside Messages 2.
    Counted alike: s1 1 + 1 + 1 = 3 messages, 2 unpriced, cost 0.00125; s2 1 message, 2.50;
    totals 4 messages, 2 unpriced. With --top 1 the other row is s1: 4 - 1 = 3 messages, 2
    unpriced, so it has a cost, 2.50125 - 2.50 = 0.00125 (it was "unpriced": 2 of 2).
    unpriced_models count so too: other-unknown 1 (700 tokens), mystery-model 1 (500)."""
    run("import", str(write_jsonl(tmp_path / "u.jsonl", BUCKET_CHAT)), "--db", str(db_path))
    out = run_json("report", "chats", *NOV26, "--db", str(db_path))
    rows = {r["session_id"]: r for r in out["rows"]}
    assert (rows["s1"]["messages"], rows["s1"]["unpriced_requests"], _dec(rows["s1"]["cost_usd"])) == (
        3, 2, D("0.00125"))  # fmt: skip
    assert (rows["s2"]["messages"], rows["s2"]["unpriced_requests"]) == (1, 0)
    t = out["totals"]
    assert (t["messages"], t["unpriced_requests"], out["overview"]["messages"]) == (4, 2, 4)
    assert [(u["model"], u["requests"], u["total_tokens"]) for u in t["unpriced_models"]] == [
        ("other-unknown", 1, 700), ("mystery-model", 1, 500)]  # fmt: skip
    top = run_json("report", "chats", *NOV26, "--top", "1", "--db", str(db_path))
    other = top["rows"][-1]
    assert (other["chat"], other["messages"], other["unpriced_requests"]) == ("(other 1 chat)", 3, 2)
    assert _dec(other["cost_usd"]) == D("0.00125")
    shown = run_json("chat", "show", "s1", "--db", str(db_path))
    assert (shown["totals"]["messages"], shown["totals"]["unpriced_requests"], shown["overview"]["messages"]) == (
        3, 2, 3)  # fmt: skip
    assert shown["notes"][0].startswith("Unpriced: 2 of 3 messages (mystery-model, other-unknown) have no price")


def test_the_no_chat_note_names_the_unpriced_buckets_as_buckets(tmp_path: Path, db_path: Path) -> None:
    """QA: "(6 buckets without a request count, …, cost ≥ $8.06, 1 request unpriced)": the unpriced
    bucket was "1 request" beside the buckets named as such. No session: x1 gpt-4o bucket
    (requests 0) 400,000 in x $2.50/M = 1.00; x2 mystery-model bucket, 500 in, unpriced; x3
    mystery-model, 2 requests, 100 in, unpriced. In all 2 requests and 2 buckets, 400,600 tokens;
    unpriced 2 requests and 1 bucket; cost ≥ $1.00."""
    events = [
        {"event_id": "x1", "ts": "2026-11-05T10:00:00Z", "model_raw": "gpt-4o", "input_tokens": 400_000,
         "requests": 0},
        {"event_id": "x2", "ts": "2026-11-05T11:00:00Z", "model_raw": "mystery-model", "input_tokens": 500,
         "requests": 0},
        {"event_id": "x3", "ts": "2026-11-05T12:00:00Z", "model_raw": "mystery-model", "input_tokens": 100,
         "requests": 2},
    ]  # fmt: skip
    run("import", str(write_jsonl(tmp_path / "x.jsonl", events)), "--db", str(db_path))
    notes = run_json("report", "chats", *NOV26, "--db", str(db_path))["notes"]
    assert (
        "Usage without a session id (2 requests and 2 buckets without a request count, 400,600 tokens, cost ≥ $1.00, "
        "2 requests and 1 bucket without a request count unpriced) belongs to no chat; it is not above." in notes
    )


def test_an_event_id_that_is_also_another_events_message_id_says_so(tmp_path: Path, db_path: Path) -> None:
    """The event id wins (README: by event id, else message id), but `message show q1` said nothing of
    E2, whose message id is q1 (QA). gpt-4o $2.50/M in, $10/M out: q1 1,000 in + 100 out = 0.0025 +
    0.001 = 0.0035; E2 3,000 + 300 = 0.0075 + 0.003 = 0.0105. An event whose message id is its own
    event id (s1) is no other event: no note. k is the message id of two other events (K2, K3)."""
    events = [
        {"event_id": "q1", "ts": "2026-11-10T10:00:00Z", "message_id": "M"},
        {"event_id": "E2", "ts": "2026-11-10T10:00:06Z", "message_id": "q1", "input_tokens": 3000,
         "output_tokens": 300},
        {"event_id": "s1", "ts": "2026-11-10T10:01:00Z", "message_id": "s1"},
        {"event_id": "k", "ts": "2026-11-10T11:00:00Z", "message_id": "mk"},
        {"event_id": "K3", "ts": "2026-11-10T11:00:09Z", "message_id": "k"},
        {"event_id": "K2", "ts": "2026-11-10T11:00:05Z", "message_id": "k"},
    ]  # fmt: skip
    events = [{"model_raw": "gpt-4o", "input_tokens": 1000, "output_tokens": 100} | e for e in events]
    run("import", str(write_jsonl(tmp_path / "q.jsonl", events)), "--db", str(db_path))
    shown = run_json("message", "show", "q1", "--db", str(db_path))
    assert (shown["overview"]["event_id"], _dec(shown["totals"]["amount_usd"])) == ("q1", D("0.0035"))
    assert shown["notes"][0] == (
        "'q1' is also the message id of event E2: shown here is event q1; `usagectl message show E2` shows that message."
    )
    other = run_json("message", "show", "E2", "--db", str(db_path))
    assert _dec(other["totals"]["amount_usd"]) == D("0.0105")
    assert not any("also the message id" in n for n in other["notes"])
    own = run_json("message", "show", "s1", "--db", str(db_path))
    assert not any("also the message id" in n for n in own["notes"])
    two = run_json("message", "show", "k", "--db", str(db_path))
    assert two["overview"]["event_id"] == "k"
    assert two["notes"][0] == (
        "'k' is also the message id of 2 other events (K2, K3): shown here is event k; "
        "`usagectl message show EVENT_ID` shows one of them."
    )  # K2 (11:00:05) before K3 (11:00:09): oldest first
    assert "also the message id of event E2" in run("message", "show", "q1", "--db", str(db_path)).stdout
