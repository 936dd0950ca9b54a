"""usagectl: where your LLM tokens and money go. Importing this package imports nothing heavy."""

__version__ = "0.1.0"
