"""Rendering shared by the commands: rich tables for people, JSON for programs.

Tables go through :func:`console`. On a terminal they get rich's box and the terminal's width; when
stdout is a pipe or a file they are plain text (no box, no colour) at a fixed width of
:data:`PLAIN_WIDTH` columns, so output is stable for ``grep`` and tests. Cell values are always
:class:`rich.text.Text`, never markup, so a run named ``[bold]`` prints as itself.

JSON follows the snake_case shapes of MLflow's REST API (``{"runs": [{"info": ..., "data": ...}]}``),
timestamps are milliseconds since the epoch, and non-finite floats are the strings ``"NaN"``,
``"Infinity"`` and ``"-Infinity"`` so that every output is strict JSON.
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

import click
from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from dockyard.artifacts.base import FileInfo
from dockyard.tracking.entities import DatasetInput, Experiment, Run

PLAIN_WIDTH = 200
EMPTY = "-"


# ---------------------------------------------------------------------------------------- tables


def console() -> Console:
    """A console on the current stdout: rich on a terminal, plain and :data:`PLAIN_WIDTH` wide otherwise."""
    stream = sys.stdout
    is_tty = bool(getattr(stream, "isatty", lambda: False)())
    return Console(
        file=stream,
        force_terminal=is_tty,  # explicit, so FORCE_COLOR / TTY_COMPATIBLE cannot colour a pipe
        width=None if is_tty else PLAIN_WIDTH,
        highlight=False,
        emoji=False,
    )


def table(
    out: Console, *columns: str, keep: Collection[str] = (), min_widths: Mapping[str, int] | None = None
) -> Table:
    """An empty table with the given column headers, styled for ``out``.

    On a narrow terminal cells wrap, except in the columns named in ``keep`` (ids, numbers), which stay
    whole; ``min_widths`` stops a column from being squeezed below a width.
    """
    tbl = Table(
        box=box.SIMPLE_HEAD if out.is_terminal else None,
        show_edge=False,
        collapse_padding=out.is_terminal,  # the box adds a separator; plain tables keep two spaces
        show_header=True,
        header_style="bold" if out.is_terminal else "",
        pad_edge=False,
    )
    for name in columns:
        tbl.add_column(name, overflow="fold", no_wrap=name in keep, min_width=(min_widths or {}).get(name))
    return tbl


def min_width(out: Console, renderable: Any) -> int:
    """The fewest columns ``renderable`` needs without truncating (measured as if the screen were endless)."""
    return out.measure(renderable, options=out.options.update_width(100_000)).minimum


def cell(value: Any) -> Text:
    """A table cell showing ``value`` literally ('-' for None or an empty string)."""
    if value is None or value == "":
        return Text(EMPTY)
    if isinstance(value, float):
        return Text(format_float(value))
    return Text(str(value))


def emit(out: Console, renderable: Any = "") -> None:
    """Print ``renderable``; in plain mode without the trailing spaces rich pads table cells with."""
    if out.is_terminal:
        out.print(renderable)
        return
    with out.capture() as captured:
        out.print(renderable)
    click.echo("\n".join(line.rstrip() for line in captured.get().splitlines()))


def heading(out: Console, text: str) -> None:
    """A section heading (bold on a terminal)."""
    emit(out, Text(text, style="bold" if out.is_terminal else ""))


def key_value_table(
    out: Console, rows: Iterable[tuple[str, Any]], headers: tuple[str, str] = ("Key", "Value")
) -> Table:
    tbl = table(out, *headers)
    for key, value in rows:
        tbl.add_row(cell(key), cell(value))
    return tbl


# ---------------------------------------------------------------------------------------- values


def format_time(ms: int | None) -> str:
    """Milliseconds since the epoch as local time, e.g. ``2024-05-01 14:03:12`` ('-' for None)."""
    if ms is None:
        return EMPTY
    return datetime.fromtimestamp(ms / 1000).astimezone().strftime("%Y-%m-%d %H:%M:%S")


def format_duration(start_ms: int | None, end_ms: int | None) -> str:
    """``end - start`` for people: ``850ms``, ``12.3s``, ``4m 05s``, ``2h 07m``, ``3d 04h`` ('-' if unknown).

    >>> format_duration(0, 245_000)
    '4m 05s'
    """
    if start_ms is None or end_ms is None or end_ms < start_ms:
        return EMPTY
    ms = end_ms - start_ms
    if ms < 1000:
        return f"{ms}ms"
    seconds = ms / 1000
    if seconds < 60:
        return f"{seconds:.1f}s"
    whole = int(seconds)
    minutes, secs = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes}m {secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours}h {minutes:02d}m"
    days, hours = divmod(hours, 24)
    return f"{days}d {hours:02d}h"


def format_float(value: float) -> str:
    """A float for a table: six significant digits; NaN and infinities as in the JSON output."""
    if math.isnan(value) or math.isinf(value):
        return _non_finite(value)
    return f"{value:.6g}"


def _non_finite(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    return "Infinity" if value > 0 else "-Infinity"


# ---------------------------------------------------------------------------------------- JSON


def json_safe(value: Any) -> Any:
    """``value`` with every non-finite float replaced by ``"NaN"``, ``"Infinity"`` or ``"-Infinity"``."""
    if isinstance(value, float):
        return value if math.isfinite(value) else _non_finite(value)
    if isinstance(value, Mapping):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    return value


def echo_json(payload: Any) -> None:
    """Print ``payload`` as indented, strict JSON (keys in the order they were built)."""
    click.echo(json.dumps(json_safe(payload), indent=2, ensure_ascii=False, allow_nan=False))


def key_values(mapping: Mapping[str, Any]) -> list[dict[str, Any]]:
    """``{"b": 2, "a": 1}`` as ``[{"key": "a", "value": 1}, {"key": "b", "value": 2}]`` (sorted by key)."""
    return [{"key": key, "value": mapping[key]} for key in sorted(mapping)]


def experiment_to_dict(exp: Experiment) -> dict[str, Any]:
    return {
        "experiment_id": exp.experiment_id,
        "name": exp.name,
        "artifact_location": exp.artifact_location,
        "lifecycle_stage": exp.lifecycle_stage.value,
        "creation_time": exp.creation_time,
        "last_update_time": exp.last_update_time,
        "tags": key_values(exp.tags),
    }


def dataset_input_to_dict(item: DatasetInput) -> dict[str, Any]:
    ds = item.dataset
    return {
        "tags": key_values(item.tags),
        "dataset": {
            "name": ds.name,
            "digest": ds.digest,
            "source_type": ds.source_type,
            "source": ds.source,
            "schema": ds.schema,
            "profile": ds.profile,
        },
    }


def run_to_dict(run: Run) -> dict[str, Any]:
    info = run.info
    return {
        "info": {
            "run_id": info.run_id,
            "run_name": info.run_name,
            "experiment_id": info.experiment_id,
            "user_id": info.user_id,
            "status": info.status.value,
            "start_time": info.start_time,
            "end_time": info.end_time,
            "artifact_uri": info.artifact_uri,
            "lifecycle_stage": info.lifecycle_stage.value,
        },
        "data": {
            "metrics": key_values(run.data.metrics),
            "params": key_values(run.data.params),
            "tags": key_values(run.data.tags),
        },
        "inputs": {"dataset_inputs": [dataset_input_to_dict(d) for d in run.inputs.dataset_inputs]},
    }


def file_info_to_dict(info: FileInfo) -> dict[str, Any]:
    return {"path": info.path, "is_dir": info.is_dir, "file_size": info.file_size}


def format_size(size: int | None) -> str:
    """Bytes for people: ``512 B``, ``1.5 KiB``, ``3.0 MiB``."""
    if size is None:
        return EMPTY
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{size} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"  # pragma: no cover - the loop always returns


def pick_metric_columns(runs: Sequence[Run], first: Sequence[str] = (), limit: int = 4) -> list[str]:
    """The metric keys to show as columns: ``first`` (those present), then the most common, up to ``limit``."""
    counts: dict[str, int] = {}
    for run in runs:
        for key in run.data.metrics:
            counts[key] = counts.get(key, 0) + 1
    chosen = [key for key in dict.fromkeys(first) if key in counts][:limit]
    for key in sorted(counts, key=lambda k: (-counts[k], k)):
        if len(chosen) >= limit:
            break
        if key not in chosen:
            chosen.append(key)
    return chosen
