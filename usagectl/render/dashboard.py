"""The dashboard frame as a Rich layout, and the one-line ``status`` text.

Panels, most important first: month overview, budgets, the last 30 days, anomalies, model
distribution, top members / features, latest events. A terminal narrower than 110 columns
stacks them; a wider one pairs them. Panels that do not fit the height are dropped from the
end (the event feed shrinks first). Budgets are coloured by level: warning (75 %), caution
(90 %), critical (95 %), exceeded. A list cut to its panel (budgets, anomalies) shows the worst
first and counts the rest in a "+N more" line naming the command that lists them all. Numbers
are never cut: a text column (a model name) is shortened, or left out, first; an anomaly's line
folds onto the next. Names and messages taken from the data (a model, a member, a chat) are
shown ``printable``: an escape sequence in a log never reaches the terminal. Rich is imported
inside the functions, so ``status`` does not pay for it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from usagectl.models import counted, printable, printable_lines
from usagectl.render.formats import UNPRICED, format_compact, format_int, format_money, format_pct, format_used_pct

if TYPE_CHECKING:
    from rich.console import RenderableType

    from usagectl.services.dashboard import DashboardData, DayPoint, Frame, TopRow
    from usagectl.services.status_line import StatusLine

SPARKS = "▁▂▃▄▅▆▇█"
LEVEL_STYLE = {"ok": "green", "warning": "yellow", "caution": "dark_orange", "critical": "red", "exceeded": "bold red"}
WIDE = 110
# what stays when the terminal is short, most important first; the feed keeps FEED_MIN lines
PRIORITY = ("overview", "budgets", "series", "feed", "anomalies", "models", "top")
FEED_MIN = 5  # border, header, rule and one event


@dataclass(frozen=True)
class _Panel:
    key: str
    body: Any  # a Rich renderable
    lines: int  # body lines (the panel adds 2 for its border)
    elastic: bool = False  # may shrink to FEED_MIN lines
    title: str | None = None  # default: TITLES[key]

    @property
    def height(self) -> int:
        return self.lines + 2


def sparkline(values: list[int], *, repeat: int = 1) -> str:
    """One block per value, scaled to the largest: 0 -> space, else ▁..█ (ceil of 8 eighths)."""
    top = max(values, default=0)
    out = []
    for v in values:
        ch = " " if v <= 0 or top <= 0 else SPARKS[max(0, -(-v * 8 // top) - 1)]
        out.append(ch * repeat)
    return "".join(out)


def bar(pct: Decimal | None, width: int) -> str:
    """``█████░░░░░`` for a 0-100 percent (capped at 100)."""
    if pct is None:
        return ""
    filled = int(min(Decimal(100), max(Decimal(0), pct)) * width / 100)
    return "█" * filled + "░" * (width - filled)


def _local(ts: datetime, tz: str) -> datetime:
    return ts.astimezone(ZoneInfo(tz))


def _inner(width: int) -> int:
    """Text width inside a panel ``width`` columns wide (border and padding take 2 each side)."""
    return max(1, width - 4)


def _wrapped_lines(text: Any, width: int) -> int:
    """Lines ``text`` takes once Rich wraps it to ``width`` (a panel's height must count them,
    or its last lines are cut off)."""
    import io

    from rich.console import Console

    return len(text.wrap(Console(file=io.StringIO(), width=width), width))


def _overview(d: DashboardData, width: int) -> _Panel:
    """Sized to its wrapped text: in a half-width column the projection line wraps, and a fixed
    height would drop the last line, the only unpriced warning on the screen."""
    from rich.text import Text

    t = Text()
    used = int(d.overview("used_tokens") or 0)
    quota, qpct = d.overview("quota_tokens"), d.overview("quota_pct")
    if quota:
        t.append(f"Tokens    {format_compact(used)} / {format_compact(quota)} ({format_used_pct(qpct)}) ")
        t.append(bar(qpct, 20), style="cyan")
    else:
        t.append(f"Tokens    {format_int(used)} (no plan quota set)")
    t.append(f"\nToday     {format_int(d.today_tokens)} tokens  {format_money(d.today_cost_usd)}")
    t.append(f"\nCost      {format_money(d.overview('cost_usd'))} this month")
    proj = d.overview("projected_cost_usd")
    ptok, ppct = d.overview("projected_tokens"), d.overview("projected_quota_pct")
    extra = f", {format_compact(ptok)} tokens" if ptok is not None else ""
    extra += f" = {format_used_pct(ppct)} of quota" if ppct is not None else ""
    t.append(f"\nProjected {format_money(proj) if proj is not None else '–'} at month end{extra}")
    ahead = d.overview("after_now_tokens")
    if ahead:  # a clock ahead: in the month's tokens and the budgets, added to the projection as they are
        t.append(
            f"\nAhead     {format_int(int(ahead))} tokens dated after now, counted, not extrapolated", style="yellow"
        )
    unpriced = d.overview("unpriced_requests")
    if unpriced:
        t.append(f"\nUnpriced  {counted(int(unpriced), 'request')}, NOT in the cost", style="yellow")
    return _Panel("overview", t, _wrapped_lines(t, _inner(width)))


def _series_title(d: DashboardData, points: tuple[DayPoint, ...]) -> str:
    """The chart's title: "Last N days" when it ends today, else the day it ends (QA: ``--until``
    40 days ago titled a chart of 09-20 – 10-19 "Last 30 days")."""
    n, last = len(points), points[-1].day
    return f"Last {n} days (tokens)" if last == d.today else f"{n} day{'s' * (n != 1)} to {last} (tokens)"


def _series(d: DashboardData, width: int) -> _Panel:
    from rich.text import Text

    points = d.series[-max(1, width - 4) :]  # a long --since keeps the days that fit, newest last
    tokens = [p.tokens for p in points]
    repeat = max(1, min(3, (width - 4) // max(1, len(tokens))))
    t = Text(sparkline(tokens, repeat=repeat), style="cyan")
    first, last = points[0].day, points[-1].day
    gap = max(1, len(tokens) * repeat - 10)
    t.append(f"\n{first:%m-%d}{' ' * gap}{last:%m-%d}")
    peak = max(points, key=lambda p: p.tokens)
    priced = [p.cost_usd for p in points if p.cost_usd is not None]
    if not any(tokens) and not priced:  # not "peak 0 on <the first day>" (QA)
        t.append(f"\nno usage in these {len(tokens)} days")
        return _Panel("series", t, _wrapped_lines(t, _inner(width)), title=_series_title(d, points))
    cost = format_money(sum(priced, Decimal(0))) if priced or not any(tokens) else "unpriced"
    head = f"peak {format_compact(peak.tokens)} on {peak.day}" if any(tokens) else "no tokens"  # e.g. web searches only
    t.append(f"\n{head}  ·  {cost} in {len(tokens)} days")
    unpriced = sum(p.unpriced_tokens for p in points)
    if unpriced:  # never $0 for usage without a price: the panel says how much the cost leaves out
        t.append(f"  ·  {format_compact(unpriced)} tokens unpriced", style="yellow")
    return _Panel("series", t, _wrapped_lines(t, _inner(width)), title=_series_title(d, points))


NO_USAGE = "no usage this month"  # an empty table panel says so instead of a blank line


def _table(*headers: tuple[str, str]) -> Any:
    from rich import box
    from rich.table import Table

    table = Table(box=box.SIMPLE_HEAD, padding=(0, 1), pad_edge=False, show_edge=False, expand=True)
    for name, justify in headers:
        table.add_column(name, justify=justify, no_wrap=True, overflow="ellipsis")  # type: ignore[arg-type]
    return table


def _fit_label(name: str, suffix: str, width: int) -> str:
    """``name + suffix`` in ``width`` columns, cutting ``name`` (with "…") so that the suffix
    stays: "claude-sonnet-4… (bedrock)" rather than "claude-sonnet-4-5 (be…"."""
    if len(name) + len(suffix) <= width:
        return name + suffix
    keep = width - len(suffix) - 1
    if keep >= 2:
        return name[:keep] + "…" + suffix
    return (name + suffix)[: max(0, width - 1)] + "…"


def _models(d: DashboardData, width: int, rows: int = 5) -> _Panel:
    """The month's models by cost; more than ``rows`` of them: the first ``rows - 1`` and one
    "(N others)" line holding the rest, so the shares add up and no model (an unpriced one
    last of all) goes unseen. A model listed under two providers (Anthropic and Bedrock) names
    its provider, or the two rows would look like one model counted twice (QA). The numbers keep
    their full width; only the name is shortened."""
    section = next(s for s in d.month.sections if s.key == "models")
    shown = section.rows if len(section.rows) <= rows else section.rows[: rows - 1]
    names = [r["model"] for r in section.rows]
    cells = []
    for r in shown:
        suffix = f" ({printable(r['provider'])})" if names.count(r["model"]) > 1 and r.get("provider") else ""
        cells.append((printable(r["model"]), suffix, format_compact(r["total_tokens"]), format_pct(r["token_share_pct"]),
                      format_money(r["cost_usd"]), ""))  # fmt: skip
    rest = section.rows[len(shown) :]
    if rest:
        priced = [r["cost_usd"] for r in rest if r["cost_usd"] is not None]
        unpriced = any(r["unpriced_requests"] for r in rest)
        cost = UNPRICED if not priced else ("≥" if unpriced else "") + format_money(sum(priced, Decimal(0)))
        share = sum((r["token_share_pct"] or Decimal(0) for r in rest), Decimal(0))
        cells.append((f"({len(rest)} others)", "", format_compact(sum(r["total_tokens"] for r in rest)),
                      format_pct(share), cost, "dim"))  # fmt: skip
    widths = [max([len(head), *(len(c[i]) for c in cells)]) for i, head in ((2, "Tokens"), (3, "Share"), (4, "Cost"))]
    label_w = max(1, _inner(width) - sum(widths) - 3 * GAP)
    table = _table(("Model", "left"))
    table.columns[0].ratio = 1
    for head, w in zip(("Tokens", "Share", "Cost"), widths, strict=True):
        table.add_column(head, justify="right", no_wrap=True, width=w)
    for name, suffix, tok, pct, cost, style in cells:
        table.add_row(_fit_label(name, suffix, label_w), tok, pct, cost, style=style)
    if not section.rows:
        table.add_row(NO_USAGE, "", "", "", style="dim")
    return _Panel("models", table, 2 + max(1, min(rows, len(section.rows))))


BAR_MAX, BAR_MIN = 10, 4  # budget bar width; below BAR_MIN it is left out
GAP = 3  # between table columns: padding 1 + the box's divider + padding 1


BUDGET_ROWS, ANOMALY_ROWS = 6, 4  # lines of these panels; the rest is counted in a "+N more" line


def _more(n: int, command: str) -> Any:
    """The line under a cut list: how many are not shown and the command that lists them all."""
    from rich.text import Text

    return Text(f"+{n} more: {command}", style="dim", no_wrap=True, overflow="ellipsis")


def _budgets(d: DashboardData, width: int) -> _Panel:
    """The worst budgets (the service sorts them by level and percent), at most ``BUDGET_ROWS``
    and a "+N more" line for the rest (QA: the first 6 in config order, with no sign of a 7th
    that was exceeded). Used (amount and %) and level are the facts of this panel: they keep
    their full width. The bar repeats the percentage, so it gets only what the full labels
    leave: it shrinks, and below ``BAR_MIN`` it is left out; only then is a label cut (with "…")."""
    from rich import box
    from rich.console import Group
    from rich.table import Table

    shown = d.budgets[:BUDGET_ROWS]
    hidden = len(d.budgets) - len(shown)
    rows = []
    for s in shown:
        spent = format_money(s.spent) if s.budget.kind == "usd" else format_compact(int(s.spent))
        rows.append((printable(s.budget.label), f"{spent} {format_used_pct(s.percent)}", s.level, s.percent))
    used_w = max(len("Used"), *(len(r[1]) for r in rows))
    level_w = max(len("Level"), *(len(r[2]) for r in rows))
    label_w = max(len("Budget"), *(len(r[0]) for r in rows))
    room = _inner(width) - used_w - level_w - 2 * GAP  # for the label, and the bar with its gap
    bar_w = min(BAR_MAX, room - label_w - GAP)
    with_bar = bar_w >= BAR_MIN
    table = Table(box=box.SIMPLE_HEAD, padding=(0, 1), pad_edge=False, show_edge=False, expand=True)
    table.add_column("Budget", no_wrap=True, overflow="ellipsis", ratio=1)
    table.add_column("Used", justify="right", no_wrap=True, width=used_w)
    if with_bar:
        table.add_column("", no_wrap=True, width=bar_w)
    table.add_column("Level", no_wrap=True, width=level_w)
    for (label, used, level, pct), s in zip(rows, shown, strict=True):
        cells = (label, used, bar(pct, bar_w), level) if with_bar else (label, used, level)
        table.add_row(*cells, style=LEVEL_STYLE.get(s.level, ""))
    if hidden:
        return _Panel("budgets", Group(table, _more(hidden, "usagectl budget status")), 3 + len(shown))
    return _Panel("budgets", table, 2 + len(shown))


def _top_cost(r: TopRow) -> str:
    """A group's cost, never $0 for unpriced usage: "unpriced" when none of it has a known cost,
    "≥$X" when part of it is unpriced (the priced part is only a lower bound)."""
    if r.all_unpriced:
        return UNPRICED
    return f"≥{format_money(r.cost_usd)}" if r.unpriced_requests else format_money(r.cost_usd)


def _top(d: DashboardData, width: int) -> _Panel:
    """The month's top members (or features) with their tokens and cost. Numbers and headers are
    never cut (QA at 80 columns: a 74-character e-mail kept its width, Tokens was left out and
    the cost read "$1…"): the name is shortened with "…", as in the Models panel; the token
    counts are abbreviated (1.40M) already; only when the name would get less than its header's
    width is the Tokens column left out."""
    head = f"Top {d.top_kind}s"
    cells = [(printable(r.name), format_compact(r.tokens), _top_cost(r)) for r in d.top]
    tok_w = max([len("Tokens"), *(len(c[1]) for c in cells)])
    cost_w = max([len("Cost"), *(len(c[2]) for c in cells)])
    room = _inner(width) - cost_w - GAP  # for the name, and the tokens with their gap
    with_tokens = room - tok_w - GAP >= len(head)
    name_w = max(1, room - tok_w - GAP if with_tokens else room)
    table = _table((head, "left"))
    table.columns[0].ratio = 1
    if with_tokens:
        table.add_column("Tokens", justify="right", no_wrap=True, width=tok_w)
    table.add_column("Cost", justify="right", no_wrap=True, width=cost_w)
    for name, tokens, cost in cells:
        table.add_row(_fit_label(name, "", name_w), *([tokens] if with_tokens else []), cost)
    if not d.top:
        table.add_row(NO_USAGE, *([""] * (len(table.columns) - 1)), style="dim")
    return _Panel("top", table, 2 + max(1, len(d.top)))


FOLD_MIN = 20  # narrowest useful continuation of an anomaly's line under its date; below it, none
Word = tuple[str, str]  # a word of a panel line and its style
Line = tuple[int, list[Word]]  # a panel line: its indent and its words


def _anomaly_text(a: dict[str, Any]) -> tuple[str, list[str]]:
    """What an anomaly says, its kind named once: a spike's detail starts with its kind ("spike
    of $4.76 vs …"; "spike high spike of" read it twice, QA), another kind heads its detail
    ("off-hours: 3 requests at 02:00, …"). Then the clauses after the first "; " (who caused a
    total's spike, since when a drop lasts), which may be left out when the line is full; the
    first part is always shown whole."""
    kind, detail = printable(str(a.get("kind", ""))), printable(str(a.get("detail", "")))
    what = detail if detail.split(" ", 1)[0] == kind else (f"{kind}: {detail}" if detail else kind)
    main, _, rest = what.partition("; ")
    return main, (rest.split(", ") if rest else [])


def _glued(words: list[str]) -> list[str]:
    """Words that fold together: an opening label and its number, "(z 7.9)" (a line ending in
    "(z" and the next starting "7.9)" read as two numbers)."""
    out: list[str] = []
    for w in filter(None, words):
        label = out[-1] if out else ""
        if label.startswith("(") and ")" not in label and len(label) <= 12 and not any(c.isdigit() for c in label):
            out[-1] += " " + w
        else:
            out.append(w)
    return out


def _line_width(line: Line) -> int:
    from rich.cells import cell_len

    indent, words = line
    return indent + sum(cell_len(w) for w, _ in words) + max(0, len(words) - 1)


def _fold(words: list[Word], width: int, indent: int) -> list[Line]:
    """``words`` filled into lines of ``width`` cells, the lines after the first ``indent`` cells
    in (under the date). A line breaks between words, so no number is cut; only a word wider
    than a whole line (a long name) is split, folded onto the next line, not cut."""
    from rich.cells import cell_len, chop_cells

    lines: list[Line] = [(0, [])]
    for word, style in words:
        for piece in chop_cells(word, max(1, width - indent)) if cell_len(word) > width - indent else [word]:
            if lines[-1][1] and _line_width(lines[-1]) + 1 + cell_len(piece) > width:
                lines.append((indent, []))
            lines[-1][1].append((piece, style))
    return lines


def _anomaly_lines(a: dict[str, Any], width: int) -> list[Line]:
    """One anomaly in ``width`` cells. Numbers are never cut (QA at 80 columns: "expected $0…",
    "(z 7.…"): what it is folds onto more lines, under the date; the clauses after it (who
    caused a total's spike) follow on its last line while they fit, and "; …" or ", …" says
    that more are left out (``usagectl anomalies`` lists them all)."""
    from rich.cells import cell_len

    day, sev = printable(str(a.get("day", ""))), printable(str(a.get("severity", "")))
    main, extras = _anomaly_text(a)
    words: list[Word] = [(day, ""), (printable(str(a.get("series", ""))), ""),
                         (sev, "red" if sev in ("high", "critical") else "yellow")]  # fmt: skip
    words += [(w, "") for w in _glued(main.split(" "))]
    indent = cell_len(day) + 1 if width - cell_len(day) - 1 >= FOLD_MIN else 0
    lines = _fold(words, width, indent)
    last = lines[-1][1]  # the clauses join its last word: "(z 6.3); excess from …"
    used, sep = _line_width(lines[-1]), ";"
    for i, clause in enumerate(extras):
        added = f"{sep} {clause}"
        more = len(", …") if i < len(extras) - 1 else 0  # the room to say that the next is left out
        if used + cell_len(added) + more > width:
            added = f"{sep} …"
            if used + len(added) > width:
                break
        last[-1] = (last[-1][0] + added, last[-1][1])
        used += cell_len(added)
        if added.endswith("…"):
            break
        sep = ","
    return lines


def _anomalies(d: DashboardData, width: int) -> _Panel:
    """The worst anomalies (the service sorts them: severity, the total series, newest day), at
    most ``ANOMALY_ROWS`` and a "+N more" line (QA: the first 4 by series name, the total's
    spike unseen). An anomaly too long for the panel folds onto more lines, which the panel's
    height counts (cut at the border, "$0.29" read "$0…"); so does a failed provider's error."""
    from rich.text import Text

    inner = _inner(width)
    lines: list[Line] = []
    for a in d.anomalies[:ANOMALY_ROWS]:
        lines += _anomaly_lines(a, inner)
    hidden = len(d.anomalies) - ANOMALY_ROWS
    if hidden > 0:
        # the command of the panel's own days (and zone, filters): the bare one checks 14 days
        hint = [f"+{hidden}", "more:", *(printable(p) for p in d.anomaly_command)]
        lines += _fold([(w, "dim") for w in hint], inner, 0)
    if d.anomaly_error:
        lines += _fold([(w, "yellow") for w in printable(d.anomaly_error).split(" ") if w], inner, 0)
    t = Text(no_wrap=True, overflow="fold")
    for n, (indent, words) in enumerate(lines):
        t.append(("\n" if n else "") + " " * indent)
        for i, (word, style) in enumerate(words):
            t.append((" " if i else "") + word, style=style)
    return _Panel("anomalies", t, len(lines))


MODEL_MIN, WHO_MIN = 10, 5  # narrowest useful text columns of the feed; below them one is dropped
FeedRow = tuple[str, str, str, int, str]  # time, model, who, tokens, cost


@dataclass(frozen=True)
class _FeedPlan:
    compact: bool  # token counts as 800k / 1.20M rather than 800,000
    widths: tuple[int, int, int]  # time, tokens, cost: always whole
    who_w: int | None  # width of the Who column; None: left out
    with_model: bool  # the Model column takes what is left (at least MODEL_MIN)


def _feed_plan(rows: list[FeedRow], inner: int) -> _FeedPlan:
    """How the feed fits ``inner`` columns without cutting a number (time, tokens, cost): first
    the text columns (model, who) shrink to ``MODEL_MIN`` / ``WHO_MIN``, then the token counts
    are abbreviated, then Who is left out, then Model (QA at 110-120 columns: "800,…",
    "unpric…" and a cut time while the model column had room)."""
    time_w = max([len("Time"), *(len(r[0]) for r in rows)])
    cost_w = max([len("Cost"), *(len(r[4]) for r in rows)])
    who_need = max([len("Who"), *(len(r[2]) for r in rows)])
    for compact in (False, True):
        fmt = format_compact if compact else format_int
        widths = (time_w, max([len("Tokens"), *(len(fmt(r[3])) for r in rows)]), cost_w)
        room = inner - sum(widths) - 4 * GAP  # for model and who, in five columns
        if room >= MODEL_MIN + WHO_MIN:
            return _FeedPlan(compact, widths, min(who_need, max(WHO_MIN, room // 3)), True)
    return _FeedPlan(True, widths, None, inner - sum(widths) - 3 * GAP >= MODEL_MIN)


def _feed(d: DashboardData, tz: str, width: int) -> _Panel:
    rows: list[FeedRow] = [
        (f"{_local(e['ts'], tz):%m-%d %H:%M:%S}", printable(e.get("model") or "(none)"),
         printable(e.get("member") or e.get("feature") or e.get("source") or ""), int(e["total_tokens"]),
         format_money(e["cost_usd"]))
        for e in d.feed
    ]  # fmt: skip
    plan = _feed_plan(rows, _inner(width))
    time_w, tok_w, cost_w = plan.widths
    table = _table()
    table.add_column("Time", no_wrap=True, width=time_w)
    if plan.with_model:
        table.add_column("Model", no_wrap=True, overflow="ellipsis", ratio=1)
    if plan.who_w is not None:
        table.add_column("Who", no_wrap=True, overflow="ellipsis", width=plan.who_w)
    table.add_column("Tokens", justify="right", no_wrap=True, width=tok_w)
    table.add_column("Cost", justify="right", no_wrap=True, width=cost_w)
    fmt = format_compact if plan.compact else format_int
    for when, model, who, tokens, cost in rows:
        text = ([model] if plan.with_model else []) + ([who] if plan.who_w is not None else [])
        table.add_row(when, *text, fmt(tokens), cost)
    return _Panel("feed", table, 2 + max(1, len(d.feed)), elastic=True)


TITLES = {
    "overview": "Month overview",
    "budgets": "Budgets",
    "series": "Daily tokens",
    "anomalies": "Anomalies",
    "models": "Models this month",
    "top": "Top this month",
    "feed": "Latest events",
}


def _header(frame: Frame, refresh: float | None) -> Any:
    """One line: the state of this refresh comes before the "every Ns · q quits" reminder, and
    what does not fit ends in "…" (it is one line: at 100 columns a busy state after the
    reminder was cut to "database busy," without a sign)."""
    from rich.text import Text

    t = Text(no_wrap=True, overflow="ellipsis")
    t.append("usagectl dashboard", style="bold")
    t.append(f"  {_local(frame.now, frame.tz):%Y-%m-%d %H:%M:%S} {frame.tz}")
    if frame.state == "busy":  # only the live screen tries again; --once has exited by then
        t.append("  ·  database busy, retrying" if refresh else "  ·  database busy", style="bold yellow")
    elif frame.state == "error":
        t.append(f"  ·  error: {printable(frame.message or '')}", style="bold red")
    if frame.imported:
        t.append(f"  ·  +{frame.imported} new", style="green")
    if frame.sync_notes:  # what the sync could not read: its usage is not on the panels (`sync` names it)
        t.append(f"  ·  {len(frame.sync_notes)} not read (usagectl sync says which)", style="bold red")
    if refresh:
        t.append(f"  ·  every {refresh:g}s  ·  q quits")
    return t


def _feed_width(before: list[_Panel], width: int) -> int:
    """The feed's width: ``build`` pairs panels from the top in a wide terminal, so after an odd
    number of them the feed shares a row (the narrower half), else it has the row to itself."""
    return width // 2 if width >= WIDE and len(before) % 2 else width


def panels(frame: Frame, width: int) -> list[_Panel]:
    d = frame.data
    if d is None:
        return []
    half = width if width < WIDE else width // 2  # the narrower of two columns
    out = [_overview(d, half)]
    if d.budgets:
        out.append(_budgets(d, half))
    out.append(_series(d, half))
    if d.anomalies or d.anomaly_error:
        out.append(_anomalies(d, half))
    out += [_models(d, half), _top(d, half)]
    out.append(_feed(d, frame.tz, _feed_width(out, width)))
    return out


def build(frame: Frame, width: int, height: int | None, refresh: float | None = None) -> tuple[Any, int]:
    """The frame as a Rich Layout and its height. ``height`` None: as tall as the content."""
    from rich.layout import Layout
    from rich.panel import Panel
    from rich.text import Text

    rows: list[list[_Panel]] = []
    items = panels(frame, width)
    if width >= WIDE:
        while items:
            rows.append(items[:2] if not items[0].elastic else items[:1])
            items = items[len(rows[-1]) :]
    else:
        rows = [[p] for p in items]
    heights = [max(p.height for p in row) for row in rows]
    keep = [True] * len(rows)
    used = sum(heights)
    if height is not None:  # fit by priority; the feed first takes FEED_MIN lines, then what is left
        avail, used = height - 1, 0
        elastic = [any(p.elastic for p in row) for row in rows]
        for i in sorted(range(len(rows)), key=lambda i: min(PRIORITY.index(p.key) for p in rows[i])):
            need = min(heights[i], FEED_MIN) if elastic[i] else heights[i]
            keep[i] = used + need <= avail
            if keep[i]:
                used += need
                heights[i] = need
        for i in range(len(rows)):
            if keep[i] and elastic[i]:
                grow = min(max(p.height for p in rows[i]) - heights[i], avail - used)
                heights[i] += grow
                used += grow
    kept = [(row, h) for row, h, k in zip(rows, heights, keep, strict=True) if k]
    root = Layout(name="root")
    parts = [Layout(_header(frame, refresh), name="header", size=1)]
    if frame.data is None:  # the whole message, wrapped (QA: cut at the box edge mid-sentence)
        msg = Text(printable_lines(frame.message or "no data yet"))
        size = 2 + _wrapped_lines(msg, _inner(width))
        parts.append(Layout(Panel(msg, title="usagectl"), size=size))
        used += size
    for i, (row, h) in enumerate(kept):
        boxes = [Panel(p.body, title=p.title or TITLES[p.key], title_align="left", padding=(0, 1)) for p in row]
        if len(boxes) == 1:
            parts.append(Layout(boxes[0], name=f"row{i}", size=h))
        else:
            lay = Layout(name=f"row{i}", size=h)
            lay.split_row(*(Layout(b) for b in boxes))
            parts.append(lay)
    if height is not None and used + 1 < height:
        parts.append(Layout(Text(" "), name="fill"))
    root.split_column(*parts)
    return root, (used + 1 if height is None else height)


def render_frame(
    frame: Frame, out: Any, *, width: int, color: bool | None = None, refresh: float | None = None
) -> None:
    """Print one frame (``--once``): every panel, as tall as it needs. ``refresh``: the frame is
    one of the live dashboard's on a terminal that cannot redraw (its header says so)."""
    from usagectl.render.table import make_console

    layout, h = build(frame, width, None, refresh)
    console = make_console(out, width=width, color=color)
    console.height = h
    console.print(layout, height=h)


def live_renderable(frame: Frame, refresh: float) -> RenderableType:
    """What ``rich.live.Live`` redraws: the layout fitted to the terminal's size at draw time,
    so a resize takes effect at the next redraw."""
    from rich.console import Console, ConsoleOptions, RenderResult

    class _Fit:
        def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
            layout, _ = build(frame, options.max_width, options.height or console.height, refresh)
            yield layout

    return _Fit()


def status_text(s: StatusLine) -> str:
    """``today 12.3k tok $0.42 · 2026-11 1.23M/5.00M tok 24.6% $12.34 · budget ok (plan quota 24.6%)``"""
    today = f"today {format_compact(s.today_tokens)} tok {format_money(s.today_cost_usd)}"
    month = f"{s.month} {format_compact(s.month_tokens)}"
    if s.quota_tokens:
        month += f"/{format_compact(s.quota_tokens)} tok {format_used_pct(s.quota_pct)}"
    else:
        month += " tok"
    month += f" {format_money(s.month_cost_usd)}"
    parts = [today, month]
    if s.today_unpriced_requests or s.month_unpriced_requests:
        parts.append(f"{format_int(s.month_unpriced_requests)} unpriced req")
    if s.worst_level is not None:
        parts.append(f"budget {s.worst_level} ({printable(str(s.worst_budget))} {format_used_pct(s.worst_pct)})")
    return " · ".join(parts)
