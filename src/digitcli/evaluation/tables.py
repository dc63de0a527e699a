"""The tables `digitcli evaluate` prints (Rich): accuracy per kind, per-digit
scores, and the confusion matrix."""

from __future__ import annotations

from rich.table import Table

from .labelled import NumberMetrics
from .metrics import Metrics


def accuracy_table(title: str, groups: dict[str, Metrics]) -> Table:
    table = Table(title=title, show_edge=False, header_style="bold", title_justify="left")
    table.add_column("set")
    table.add_column("images", justify="right")
    table.add_column("correct", justify="right")
    table.add_column("accuracy", justify="right")
    table.add_column("low confidence", justify="right")
    table.add_column("calibration error", justify="right")
    for name, metrics in groups.items():
        correct = round(metrics.accuracy * metrics.count)
        calibrated = metrics.calibration_error is not None
        table.add_row(name, str(metrics.count), str(correct), f"[bold]{metrics.accuracy:.2%}[/bold]",
                      f"{metrics.low_confidence:.1%}" if calibrated else "",
                      f"{metrics.calibration_error:.3f}" if calibrated else "")
    return table


def per_class_table(metrics: Metrics) -> Table:
    table = Table(title="per digit", show_edge=False, header_style="bold", title_justify="left")
    for column in ("digit", "precision", "recall", "F1", "support"):
        table.add_column(column, justify="right")
    for digit in range(len(metrics.precision)):
        table.add_row(str(digit), f"{metrics.precision[digit]:.2%}", f"{metrics.recall[digit]:.2%}",
                      f"{metrics.f1[digit]:.4f}", str(int(metrics.confusion[digit].sum())))
    return table


def confusion_table(metrics: Metrics) -> Table:
    table = Table(title="confusion matrix (rows: true digit, columns: predicted)", show_edge=False,
                  header_style="bold", title_justify="left")
    table.add_column("")
    n = metrics.confusion.shape[0]
    for p in range(n):
        table.add_column(str(p), justify="right")
    for t in range(n):
        cells = []
        for p in range(n):
            count = int(metrics.confusion[t, p])
            cells.append(f"[green]{count}[/green]" if t == p else (f"[red]{count}[/red]" if count else "[dim]·[/dim]"))
        table.add_row(f"[bold]{t}[/bold]", *cells)
    return table


def numbers_table(title: str, groups: dict[str, NumberMetrics]) -> Table:
    table = Table(title=title, show_edge=False, header_style="bold", title_justify="left")
    for column in ("set", "numbers", "exact", "digit error rate", "low confidence", "calibration error"):
        table.add_column(column, justify="left" if column == "set" else "right")
    for name, metrics in groups.items():
        table.add_row(name, str(metrics.count), f"[bold]{metrics.exact:.1%}[/bold]", f"{metrics.digit_error_rate:.1%}",
                      f"{metrics.low_confidence:.1%}", f"{metrics.calibration_error:.3f}")
    return table
