"""The one console every command writes its messages to: stderr, so stdout stays the result."""

from rich.console import Console

console = Console(stderr=True)
