"""A progress bar over the models being fetched or probed, on an interactive stderr."""

from __future__ import annotations

from typing import Any, TextIO


class RichProgress:
    """A progress bar over the models being fetched, on stderr."""

    def __init__(self, stderr: TextIO, description: str = "fetching models") -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

        self._progress = Progress(
            "[progress.description]{task.description}",
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=Console(file=stderr),
            transient=True,
        )
        self._description = description
        self._task: Any = None

    def start(self, total: int | None) -> None:
        self._progress.start()
        self._task = self._progress.add_task(self._description, total=total or 0)

    def add_total(self, count: int) -> None:
        if self._task is not None:
            task = self._progress.tasks[0]
            self._progress.update(self._task, total=(task.total or 0) + count)

    def advance(self, name: str) -> None:
        if self._task is not None:
            self._progress.advance(self._task)

    def stop(self) -> None:
        self._progress.stop()
