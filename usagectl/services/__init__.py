"""Use cases. Return frozen dataclasses; no Typer, no Rich."""
