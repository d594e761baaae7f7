"""A progress bar of epochs (rich): epoch, losses, elapsed and ETA."""

from __future__ import annotations

from types import TracebackType

from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)


class EpochBar:
    """`with EpochBar(total, label) as bar: bar.update(epoch, train_loss, val_loss)`."""

    def __init__(self, total: int, label: str, *, enabled: bool = True) -> None:
        self._progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[losses]}"),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            disable=not enabled,
        )
        self._task = self._progress.add_task(label, total=total, losses="")

    def __enter__(self) -> EpochBar:
        self._progress.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self._progress.stop()

    def update(self, epoch: int, train_loss: float, val_loss: float | None) -> None:
        """Show epoch `epoch` done with its losses."""
        losses = f"train {train_loss:.4g}" + ("" if val_loss is None else f" · val {val_loss:.4g}")
        self._progress.update(self._task, completed=epoch, losses=losses)

    def restart(self) -> None:
        """The run starts over (a retried attempt)."""
        self._progress.reset(self._task, losses="restarted")
