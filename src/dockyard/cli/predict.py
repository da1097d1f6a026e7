"""``dockyard predict MODEL_URI --input FILE --output FILE``: batch scoring of a file, in chunks.

The input is read ``--chunk-size`` rows at a time (Parquet by row batches, CSV and JSON Lines with
pandas' chunked readers), each chunk is predicted (the signature is enforced as when serving) and
appended to the output, so memory stays bounded by the chunk, not the file. The formats follow the file
extensions: ``.parquet``, ``.csv``, ``.jsonl`` (or ``.ndjson``). The output holds the predictions (a
``prediction`` column, ``prediction_0..n`` for several values per row, or the model's own columns when
it returns a table), after the input's columns with ``--keep-input``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click

from dockyard.cli.common import CONTEXT_SETTINGS, build_settings, tracking_uri_option
from dockyard.cli.serve import model_trust_options, trusting
from dockyard.core.errors import InvalidParameter, MissingExtra

FORMATS = {".parquet": "parquet", ".pq": "parquet", ".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl"}


def file_format(path: Path) -> str:
    found = FORMATS.get(path.suffix.lower())
    if found is None:
        raise InvalidParameter(f"{path}: unknown format {path.suffix!r} (use .parquet, .csv or .jsonl)")
    return found


def _count_lines(path: Path) -> int:
    count, last = 0, b"\n"
    with path.open("rb") as fh:
        while block := fh.read(1 << 20):
            count += block.count(b"\n")
            last = block[-1:]
    return count + (last != b"\n")


def read_chunks(path: Path, chunk_size: int) -> tuple[Iterator[Any], int | None]:
    """DataFrames of at most ``chunk_size`` rows (close it when done), and the number of rows."""
    kind = file_format(path)
    if kind == "parquet":
        try:
            import pyarrow.parquet as pq
        except ImportError:
            raise MissingExtra("pyarrow", "data") from None
        parquet = pq.ParquetFile(path)
        return (batch.to_pandas() for batch in parquet.iter_batches(batch_size=chunk_size)), parquet.metadata.num_rows
    import pandas as pd

    if kind == "csv":
        return pd.read_csv(path, chunksize=chunk_size), max(0, _count_lines(path) - 1)
    return pd.read_json(path, lines=True, chunksize=chunk_size), _count_lines(path)


def as_frame(predictions: Any, rows: int) -> Any:
    """Predictions as a DataFrame of ``rows`` rows."""
    import numpy as np
    import pandas as pd

    if isinstance(predictions, pd.DataFrame):
        return predictions.reset_index(drop=True)
    if isinstance(predictions, pd.Series):
        return pd.DataFrame({"prediction": predictions.to_numpy()})
    if isinstance(predictions, dict):
        return pd.DataFrame(
            {str(k): list(np.asarray(v)) if np.ndim(v) > 1 else np.asarray(v) for k, v in predictions.items()}
        )
    array = np.asarray(predictions)
    if array.ndim == 2:
        return pd.DataFrame({f"prediction_{i}": array[:, i] for i in range(array.shape[1])})
    if array.ndim == 1 and len(array) == rows:
        return pd.DataFrame({"prediction": array})
    raise InvalidParameter(f"the model returned {array.shape} for {rows} rows: not one prediction per row")


class Writer:
    """Appends DataFrames to one output file in its format."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.kind = file_format(path)
        self._parquet: Any = None
        self._first = True
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists():
            path.unlink()

    def write(self, frame: Any) -> None:
        if self.kind == "parquet":
            import pyarrow as pa
            import pyarrow.parquet as pq

            table = pa.Table.from_pandas(frame, preserve_index=False)
            if self._parquet is None:
                self._parquet = pq.ParquetWriter(self.path, table.schema)
            self._parquet.write_table(table.cast(self._parquet.schema))
        elif self.kind == "csv":
            frame.to_csv(self.path, mode="a", header=self._first, index=False)
        else:
            text = frame.to_json(orient="records", lines=True, date_format="iso") if len(frame) else ""
            with self.path.open("a", encoding="utf-8") as fh:
                fh.write(text if not text or text.endswith("\n") else text + "\n")
        self._first = False

    def close(self) -> None:
        if self._parquet is not None:
            self._parquet.close()
        elif self._first:
            self.path.touch()


@click.command("predict", context_settings=CONTEXT_SETTINGS)
@click.argument("model_uri", metavar="MODEL_URI")
@click.option(
    "--input",
    "-i",
    "input_path",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A .parquet, .csv or .jsonl file.",
)
@click.option(
    "--output",
    "-o",
    "output_path",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="A .parquet, .csv or .jsonl file (replaced).",
)
@click.option(
    "--chunk-size",
    default=10_000,
    show_default=True,
    type=click.IntRange(1, None),
    help="Rows read and predicted at a time.",
)
@click.option("--keep-input", is_flag=True, help="Write the input's columns before the predictions.")
@click.option("--progress/--no-progress", default=True, show_default=True, help="Show a progress bar on stderr.")
@model_trust_options
@tracking_uri_option
def predict(
    model_uri: str,
    input_path: Path,
    output_path: Path,
    chunk_size: int,
    keep_input: bool,
    progress: bool,
    allow_pickle: bool,
    trusted_types: tuple[str, ...],
    tracking_uri: str | None,
) -> None:
    """Score a file with MODEL_URI, chunk by chunk, into another file."""
    import pandas as pd
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from dockyard.cli.serve import ServeOptions, load_served
    from dockyard.serving.app import ServingOptions

    if input_path.resolve() == output_path.resolve():
        raise click.BadParameter("the output must be another file than the input", param_hint="--output")
    file_format(output_path)
    settings = trusting(build_settings(tracking_uri), allow_pickle)
    served, _ = load_served(ServeOptions(model_uri, settings, ServingOptions(), tuple(trusted_types)), warm=False)
    chunks, total = read_chunks(input_path, chunk_size)
    writer = Writer(output_path)
    done = 0
    columns = [
        TextColumn("[bold]scoring"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("rows"),
        TimeRemainingColumn(),
    ]
    with Progress(*columns, console=Console(stderr=True), disable=not progress, transient=False) as bar:
        task = bar.add_task("scoring", total=total)
        try:
            for chunk in chunks:
                predictions = as_frame(served.predictor.predict(chunk), len(chunk))
                if keep_input:
                    predictions = pd.concat([chunk.reset_index(drop=True), predictions], axis=1)
                writer.write(predictions)
                done += len(chunk)
                bar.update(task, completed=done)
        finally:
            writer.close()
            close = getattr(chunks, "close", None)
            if close is not None:
                close()
    click.echo(f"{done} rows scored into {output_path}", err=True)
