"""Build only the part of the command tree that a command line actually runs.

Typer turns every registered command into a Click command (inspecting its signature and
building its parameters) before it dispatches. With ~80 commands that is a fixed cost on every
run, paid by the commands that must be fast (`report month`, `status` from a shell prompt).
:func:`pruned` returns a copy of the Typer app that keeps, at each level of the path the
argument list names (``report`` → ``by`` → ``model``), only the group or command on that path;
everything else about the app (callbacks, options, error handling) is the same object, so the
command that runs is the one the full tree would have run. Anything that is not a plain path to
a known command (``--help`` at the root, a typo) keeps the whole tree, so listings and the
"No such command" message with its suggestions are unchanged. A group class with a static
``command_for(arg)`` names the command its own parsing turns ``arg`` into.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence

import typer
from typer.main import get_command_name


def _command_name(info: typer.models.CommandInfo) -> str | None:
    if info.name:
        return info.name
    callback = info.callback
    return get_command_name(callback.__name__) if callback is not None else None


def pruned(app: typer.Typer, args: Sequence[str]) -> typer.Typer:
    """A shallow copy of ``app`` reduced to the path ``args`` names (or ``app`` itself)."""
    if list(args) == ["--version"]:  # the root's eager option alone: no command is needed at all
        return _bare(app)
    if not args or args[0].startswith("-"):
        return app
    name = args[0]
    # a group that reads its first argument itself (``report by model,project``) says which of
    # its commands that argument runs
    command_for = getattr(app.info.cls, "command_for", None)
    if command_for is not None:
        name = command_for(name)
    commands = [c for c in app.registered_commands if _command_name(c) == name]
    groups = [g for g in app.registered_groups if g.name == name]
    if len(commands) + len(groups) != 1 or any(g.name is None for g in app.registered_groups):
        return app  # unknown, ambiguous or merged (nameless) groups: let the full tree decide
    out = copy.copy(app)
    out.registered_commands = commands
    out.registered_groups = []
    if groups:
        info = copy.copy(groups[0])
        if info.typer_instance is not None:
            info.typer_instance = pruned(info.typer_instance, args[1:])
        out.registered_groups = [info]
    return out


def _bare(app: typer.Typer) -> typer.Typer:
    """``app`` without its commands: its root callback and options only (``usagectl --version``
    built all ~80 commands first and took 0.6 s, longer than a report)."""
    out = copy.copy(app)
    out.registered_commands = []
    out.registered_groups = []
    return out
