"""`usagectl dashboard` (live, full screen) and `usagectl status` (one line)."""

from __future__ import annotations

import contextlib
import os
import select
import signal
import sys
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Annotated, Any

import typer

from usagectl.cli._options import (
    ConfigOpt,
    CostCenterOpt,
    DbOpt,
    DepartmentOpt,
    FeatureOpt,
    IntegrationOpt,
    MemberOpt,
    ModelOpt,
    PlatformOpt,
    ProjectOpt,
    ProviderOpt,
    SinceOpt,
    TeamOpt,
    ToolOpt,
    TzOpt,
    UntilOpt,
    text_value,
    where_from,
)
from usagectl.errors import UsageError

if TYPE_CHECKING:
    from usagectl.services.dashboard import AnomalyProvider

MIN_REFRESH = 0.2  # seconds: a faster loop would spend the CPU on syncing and redrawing
# an hour: a slower "live" view is not one, and the wait goes to select(), which refuses a
# timeout beyond the platform's time_t (QA: --refresh inf or 1e10 crashed with OverflowError)
MAX_REFRESH = 3600.0
ONCE_BUSY_WAIT = 5.0  # seconds `--once` tries again while another process writes the database
ONCE_BUSY_POLL = 0.25


def _refresh_value(value: float) -> float:
    """The one-line usage error of every other option (``--top``, ``--periods``) rather than
    Click's usage block for ``min=``/``max=``; ``not <= <=`` also refuses ``nan``."""
    if not MIN_REFRESH <= value <= MAX_REFRESH:
        raise UsageError(f"--refresh {value:g}: must be between {MIN_REFRESH:g} and {MAX_REFRESH:g} seconds")
    return value


RefreshOpt = Annotated[
    float,
    typer.Option(
        "--refresh", callback=_refresh_value, help="Seconds between refreshes (sync + redraw).", show_default=True
    ),
]
OnceOpt = Annotated[
    bool,
    typer.Option(
        "--once", help="Print one frame to stdout and exit (no full screen); without a terminal this is what it does."
    ),
]
NoWatchOpt = Annotated[bool, typer.Option("--no-watch", help="Only re-read the database; do not sync the sources.")]
LineFormatOpt = Annotated[  # None = not given: --json with another --format is a conflict
    str | None,
    typer.Option(
        "--format",
        "-f",
        metavar="line|json",
        help="Output: one line (default) or JSON.",
        callback=text_value("--format"),
    ),
]
StatusJsonOpt = Annotated[bool, typer.Option("--json", help="Shorthand for --format json.")]


def _anomaly_provider() -> AnomalyProvider | None:
    """``usagectl.services.anomalies.recent_anomalies`` when this usagectl has it."""
    try:
        from usagectl.services.anomalies import recent_anomalies  # type: ignore[import-not-found,unused-ignore]
        from usagectl.services.dashboard import ANOMALY_DAYS  # the days the panel and its hint name
    except ImportError:
        return None

    def provider(ctx: Any, req: Any) -> list[dict[str, Any]]:
        return list(recent_anomalies(ctx, req, days=ANOMALY_DAYS))

    return provider


class KeyReader:
    """Waits up to a timeout for ``q`` on the terminal (cbreak mode: Ctrl-C still interrupts)
    or a resize (SIGWINCH, through a self-pipe). Restores the terminal on exit, whatever the exit."""

    def __init__(self) -> None:
        self.fd = sys.stdin.fileno() if sys.stdin and sys.stdin.isatty() else None
        self._saved: Any = None
        self._pipe = os.pipe()
        self._old_winch: Any = None
        self.resized = False

    def __enter__(self) -> KeyReader:
        if self.fd is not None:
            import termios
            import tty

            self._saved = termios.tcgetattr(self.fd)
            tty.setcbreak(self.fd)
        os.set_blocking(self._pipe[1], False)
        self._old_winch = signal.signal(signal.SIGWINCH, self._on_winch)
        return self

    def _on_winch(self, *_: Any) -> None:
        with contextlib.suppress(OSError):
            os.write(self._pipe[1], b"w")

    def __exit__(self, *_: Any) -> None:
        signal.signal(signal.SIGWINCH, self._old_winch or signal.SIG_DFL)
        if self.fd is not None and self._saved is not None:
            import termios

            termios.tcsetattr(self.fd, termios.TCSADRAIN, self._saved)
        for fd in self._pipe:
            os.close(fd)

    def wait(self, timeout: float) -> str | None:
        """'quit', 'resize' or None (timeout)."""
        fds = [self._pipe[0]] + ([self.fd] if self.fd is not None else [])
        ready, _, _ = select.select(fds, [], [], max(0.0, timeout))
        if self._pipe[0] in ready:
            os.read(self._pipe[0], 64)
            return "resize"
        if self.fd is not None and self.fd in ready:
            data = os.read(self.fd, 64)
            if b"q" in data or b"Q" in data or not data:
                return "quit"
        return None


def _live(dash: Any, refresh: float) -> None:
    from rich.console import Console
    from rich.live import Live

    from usagectl.render.dashboard import live_renderable
    from usagectl.render.table import console_environ

    # Rich detects the terminal and honours NO_COLOR itself; a COLUMNS of 0 counts as not set
    console = Console(highlight=False, _environ=console_environ())
    if console.is_dumb_terminal:
        _frames(dash, refresh)
        return
    with KeyReader() as keys, Live(console=console, screen=True, auto_refresh=False, transient=True) as live:
        while True:
            frame = dash.refresh()
            live.update(live_renderable(frame, refresh), refresh=True)
            deadline = time.monotonic() + refresh
            while (left := deadline - time.monotonic()) > 0:
                event = keys.wait(left)
                if event == "quit":
                    return
                if event == "resize":
                    live.refresh()  # same data, new size: no query


def _frames(dash: Any, refresh: float) -> None:
    """The live dashboard on a terminal that cannot move the cursor (``TERM=dumb``: Emacs'
    M-x shell, some CI ptys), where Rich's full-screen ``Live`` draws nothing at all (QA: 0
    bytes until q). Each frame is printed whole, one under the other, as ``--once`` prints it
    but with the live header ("every Ns · q quits"): the first at once, then one whenever what
    it shows changes, not at every refresh (an unchanged 40-line frame every 2 s would only push
    the last one out of sight); with nothing new, the panels read again each minute move the
    month's projection: a frame a minute. Each is as wide as a ``--once`` frame, measured when
    printed."""
    from usagectl.render.dashboard import render_frame

    shown: tuple[Any, ...] | None = None
    with KeyReader() as keys:
        while True:
            frame = dash.refresh()
            if (key := _frame_key(frame)) != shown:
                if shown is not None:
                    sys.stdout.write("\n")
                render_frame(frame, sys.stdout, width=_once_width(), refresh=refresh)
                sys.stdout.flush()
                shown = key
            deadline = time.monotonic() + refresh
            while (left := deadline - time.monotonic()) > 0:
                if keys.wait(left) == "quit":  # a resize shows in the next frame printed
                    return


def _frame_key(frame: Any) -> tuple[Any, ...]:
    """What a printed frame shows, but its clock: the state and its message, what the sync could
    not read, and the data without the time it was queried at (the panels are queried again
    every minute with the same numbers) or its change token (a write that changed no number).
    The "+N new" of a sync is left out too: the data it brought changes anyway."""
    import dataclasses

    data = frame.data
    shown = (
        None
        if data is None
        else tuple(getattr(data, f.name) for f in dataclasses.fields(data) if f.name not in ("queried_at", "token"))
    )
    return (frame.state, frame.message, frame.sync_notes, frame.tz, shown)


def _once_frame(dash: Any) -> Any:
    """One frame for ``--once``: while another process writes the database (a short ``sync``),
    try again for up to ``ONCE_BUSY_WAIT`` seconds; still busy, the frame says so (it does not
    promise a retry) and the command exits 3."""
    frame = dash.refresh()
    deadline = time.monotonic() + ONCE_BUSY_WAIT
    while frame.state == "busy" and time.monotonic() < deadline:
        time.sleep(ONCE_BUSY_POLL)
        frame = dash.refresh()
    return frame


ONCE_WIDTH = 100  # columns of a frame written to a file or a pipe when COLUMNS does not say


def _once_width() -> int:
    """The width of a ``--once`` frame: ``COLUMNS`` when it is set (a positive whole number), as
    every report honours it (QA: ``COLUMNS=80 usagectl dashboard --once > frame.txt`` was 100
    wide and wrapped when shown in 80 columns), else the terminal's, else ``ONCE_WIDTH``. A
    width of 0 counts as not given: a pseudo-terminal nobody sized (``docker run -t``,
    ``script`` in CI) is 0 x 0, and a frame 0 wide printed nothing at all (QA)."""
    from usagectl.render.table import env_size

    given = env_size("COLUMNS")
    if given is not None:
        return given
    if sys.stdout.isatty():
        with contextlib.suppress(OSError, ValueError):
            if (columns := os.get_terminal_size(sys.stdout.fileno()).columns) > 0:
                return columns
    return ONCE_WIDTH


@contextlib.contextmanager
def _quiet_interrupt() -> Iterator[None]:
    try:
        yield
    except KeyboardInterrupt:
        raise typer.Exit(0) from None


def dashboard(
    refresh: RefreshOpt = 2.0, once: OnceOpt = False, no_watch: NoWatchOpt = False,
    since: SinceOpt = None, until: UntilOpt = None, tz: TzOpt = None,
    model: ModelOpt = None, provider: ProviderOpt = None, member: MemberOpt = None, team: TeamOpt = None,
    department: DepartmentOpt = None,
    cost_center: CostCenterOpt = None, project: ProjectOpt = None, feature: FeatureOpt = None, tool: ToolOpt = None,
    integration: IntegrationOpt = None, platform: PlatformOpt = None, db: DbOpt = None, config: ConfigOpt = None,
) -> None:  # fmt: skip
    """Live usage dashboard: month overview, last 30 days, models, budgets, top members, anomalies
    and the latest events. Each refresh syncs the registered sources (new bytes only) and redraws
    what changed; `q` or Ctrl-C quits. --since/--until set the days of the chart (default 30)."""
    from usagectl.services.context import make_context
    from usagectl.services.dashboard import Dashboard
    from usagectl.services.reports import ReportRequest

    ctx = make_context(config, db)
    where = where_from(model=model, provider=provider, member=member, team=team, department=department,
                       cost_center=cost_center,
                       project=project, feature=feature, tool=tool, integration=integration, platform=platform)  # fmt: skip
    req = ReportRequest(since=since, until=until, tz=tz, where=where)
    dash = Dashboard(ctx, req, watch=not no_watch, anomalies=_anomaly_provider())
    if once or not sys.stdout.isatty():
        from usagectl.render.dashboard import render_frame

        frame = _once_frame(dash)
        render_frame(frame, sys.stdout, width=_once_width())
        if frame.error is not None:
            raise frame.error  # the root handler prints "usagectl: error: …" and the hint, as for any command
        if frame.sync_notes:  # as `sync` says it: what could not be read is not on the frame (exit 4)
            from usagectl.errors import InputError

            raise InputError("; ".join(frame.sync_notes[:5]))
        return
    with _quiet_interrupt():
        _live(dash, refresh)


def status(
    fmt: LineFormatOpt = None, as_json: StatusJsonOpt = False, tz: TzOpt = None,
    model: ModelOpt = None, provider: ProviderOpt = None, member: MemberOpt = None, team: TeamOpt = None,
    department: DepartmentOpt = None,
    cost_center: CostCenterOpt = None, project: ProjectOpt = None, feature: FeatureOpt = None, tool: ToolOpt = None,
    integration: IntegrationOpt = None, platform: PlatformOpt = None, db: DbOpt = None, config: ConfigOpt = None,
) -> None:  # fmt: skip
    """One line for a shell prompt or a status bar: today's tokens and cost, the month against
    the plan quota, and the worst budget level."""
    from usagectl.errors import UsageError
    from usagectl.services.context import make_context
    from usagectl.services.reports import ReportRequest
    from usagectl.services.status_line import cached_status_line

    given = fmt.lower() if fmt is not None else None
    if as_json and given not in (None, "json"):
        raise UsageError(f"--json and --format {fmt} conflict: give one of them")
    fmt = "json" if as_json else (given or "line")
    if fmt not in ("line", "json"):
        raise UsageError(f"--format {fmt!r}: expected line or json")
    where = where_from(model=model, provider=provider, member=member, team=team, department=department,
                       cost_center=cost_center,
                       project=project, feature=feature, tool=tool, integration=integration, platform=platform)  # fmt: skip
    from usagectl.config import find_config_path
    from usagectl.services.cache_dir import file_stat

    config_stat = file_stat(find_config_path(config)[0])  # before the read: the key of what was read
    ctx = make_context(config, db)
    result = cached_status_line(ctx, ReportRequest(tz=tz, where=where), config_stat=config_stat)
    if fmt == "json":
        from usagectl.render.text import json_dumps

        sys.stdout.write(json_dumps(result.as_dict(where)) + "\n")
    else:
        from usagectl.render.dashboard import status_text

        sys.stdout.write(status_text(result) + "\n")


def register(root: typer.Typer) -> None:
    root.command("dashboard", help="Live usage dashboard in the terminal (q quits); --once prints one frame.")(
        dashboard
    )
    root.command("status", help="One-line usage status (today, month vs quota, worst budget) for prompts and bars.")(
        status
    )
