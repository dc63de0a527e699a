"""Progress on stderr for long work, shown only to a person watching."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

from rich.console import Console

from ..config import SETTINGS


@contextlib.contextmanager
def progress(console: Console, total: int, label: str = "reading") -> Iterator[Callable[..., None]]:
    """Yield a function to call once per item: it advances a transient bar on
    stderr when stderr is a terminal and the batch is long enough to need one."""
    if not console.is_terminal or total < SETTINGS.predict.progress_after:
        yield lambda *_: None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    bar = Progress(TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                   console=console, transient=True)
    task = bar.add_task(label, total=total)
    with bar:
        yield lambda *_: bar.advance(task)
