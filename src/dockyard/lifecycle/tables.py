"""Tables as run artifacts, in MLflow's format: ``log_table`` and ``load_table``.

A table is a JSON file in pandas' ``split`` layout without the index (``{"columns": [...], "data":
[[...], ...]}``), or a Parquet file; logging to a file the run already has appends the new rows. The run's
``mlflow.loggedArtifacts`` tag lists each table (``{"path": ..., "type": "table"}``), which is how
MLflow's UI finds them. Needs pandas (``pip install 'dockyard[data]'``).

>>> import tempfile
>>> from dockyard.tracking.client import TrackingClient
>>> client = TrackingClient(tempfile.mkdtemp())
>>> run_id = client.create_run("0").info.run_id
>>> log_table(client, run_id, {"question": ["a", "b"], "score": [0.5, 0.75]}, "eval.json")
>>> log_table(client, run_id, {"question": ["c"], "score": [1.0]}, "eval.json")
>>> load_table(client, "0", "eval.json")["question"].tolist()
['a', 'b', 'c']
"""

from __future__ import annotations

import io
import json
import posixpath
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from dockyard.artifacts.base import check_artifact_path
from dockyard.core.errors import ArtifactNotFound, InvalidParameter, MissingExtra
from dockyard.tracking.entities import ViewType

if TYPE_CHECKING:
    from dockyard.tracking.client import TrackingClient

LOGGED_ARTIFACTS_TAG = "mlflow.loggedArtifacts"
# Characters MLflow refuses in a table's file name (its UI embeds the name in JSON and in filters).
_FORBIDDEN = "\"',:[]{}"
_SUFFIXES = (".json", ".parquet")
_EXTRA_COLUMNS = ("run_id",)
_PAGE = 10_000


def _pandas() -> Any:
    try:
        import pandas as pd
    except ImportError:
        raise MissingExtra("pandas", "data") from None
    return pd


def check_table_file(artifact_file: str) -> str:
    """The normalised artifact path of a table, or InvalidParameter naming what is wrong."""
    if not isinstance(artifact_file, str):
        raise InvalidParameter(f"artifact_file must be a string, got {type(artifact_file).__name__}")
    bad = sorted({c for c in artifact_file if c in _FORBIDDEN})
    if bad:
        raise InvalidParameter(
            f"artifact_file {artifact_file!r}: the character {bad[0]!r} is not allowed in a table name"
        )
    path = check_artifact_path(artifact_file, field="artifact_file")
    if not path.endswith(_SUFFIXES):
        raise InvalidParameter(f"artifact_file {artifact_file!r}: a table is saved as .json or .parquet")
    return path


def _frame(data: Any) -> Any:
    pd = _pandas()
    if isinstance(data, pd.DataFrame):
        return data
    if not isinstance(data, dict):
        raise InvalidParameter(f"data must be a pandas DataFrame or a dict, got {type(data).__name__}")
    try:
        return pd.DataFrame(data)
    except ValueError:  # a dict of scalars: one row
        return pd.DataFrame([data])


def _encode(frame: Any, path: str) -> bytes:
    if path.endswith(".parquet"):
        try:
            import pyarrow  # noqa: F401  # pandas needs it to write Parquet: say which extra gives it
        except ImportError:
            raise MissingExtra("pyarrow", "data") from None
        buffer = io.BytesIO()
        frame.to_parquet(buffer, index=False)
        return buffer.getvalue()
    try:
        text = frame.to_json(orient="split", index=False, date_format="iso")
    except (TypeError, ValueError, OverflowError) as exc:
        raise InvalidParameter(f"data cannot be saved as a JSON table: {exc}") from None
    return str(text).encode("utf-8")


def _decode(data: bytes, path: str) -> Any:
    pd = _pandas()
    if path.endswith(".parquet"):
        return pd.read_parquet(io.BytesIO(data))
    # As stored: no type guessing, so appending never rewrites existing values ("02108" stays a string).
    return pd.read_json(io.StringIO(data.decode("utf-8")), orient="split", dtype=False)


def _existing(client: TrackingClient, run_id: str, path: str) -> bytes | None:
    folder = posixpath.dirname(path) or None
    if path not in {info.path for info in client.list_artifacts(run_id, folder) if not info.is_dir}:
        return None
    with client.artifact_store(run_id).open_read(path) as fh:
        return fh.read()


def log_table(client: TrackingClient, run_id: str, data: Any, artifact_file: str) -> None:
    """Save ``data`` (a DataFrame, or a dict of columns or of one row's values) as the table
    ``artifact_file`` of the run, after the rows already there."""
    path = check_table_file(artifact_file)
    frame = _frame(data)
    previous = _existing(client, run_id, path)
    if previous is not None:
        frame = _pandas().concat([_decode(previous, path), frame], ignore_index=True)
    client.artifact_store(run_id).write_bytes(path, _encode(frame, path))
    tag = client.get_run(run_id).data.tags.get(LOGGED_ARTIFACTS_TAG, "[]")
    try:
        listed = json.loads(tag)
    except json.JSONDecodeError:
        listed = []
    entry = {"path": path, "type": "table"}
    if isinstance(listed, list) and entry not in listed:
        client.set_tag(run_id, LOGGED_ARTIFACTS_TAG, json.dumps([*listed, entry]))


def load_table(
    client: TrackingClient,
    experiment_id: str,
    artifact_file: str,
    run_ids: Sequence[str] | None = None,
    extra_columns: Sequence[str] | None = None,
) -> Any:
    """The table ``artifact_file`` of ``run_ids`` (every active run of the experiment when None), one
    DataFrame; ``extra_columns=["run_id"]`` adds the run each row came from."""
    path = check_table_file(artifact_file)
    extra = list(extra_columns or [])
    unknown = [c for c in extra if c not in _EXTRA_COLUMNS]
    if unknown:
        raise InvalidParameter(
            f"extra_columns: {unknown[0]!r} is not supported (supported: {', '.join(_EXTRA_COLUMNS)})"
        )
    if run_ids is None:
        ids: list[str] = []
        token: str | None = None
        while True:
            page = client.search_runs([experiment_id], None, ViewType.ACTIVE_ONLY, _PAGE, None, token)
            ids.extend(r.info.run_id for r in page.items)
            token = page.next_page_token
            if not token:
                break
    else:
        ids = list(run_ids)
    frames = []
    for run_id in ids:
        data = _existing(client, run_id, path)
        if data is None:
            continue
        frame = _decode(data, path)
        if "run_id" in extra:
            frame["run_id"] = run_id
        frames.append(frame)
    if not frames:
        raise ArtifactNotFound(f"artifact_file {artifact_file!r}: no table of that name in the runs searched")
    return _pandas().concat(frames, ignore_index=True)
