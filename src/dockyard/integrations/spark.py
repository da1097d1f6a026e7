"""Batch scoring on Spark: ``dockyard.spark_udf(spark, model_uri)``, a pandas UDF over any model.

The model URI is resolved on the driver, once: a path becomes an absolute path, ``runs:/`` and
``models:/`` URIs become the location of the model's files (a local directory or an artifact URI such
as ``s3://...``), without downloading anything. Each Python worker loads the model from that location
the first time it scores a batch and keeps it for every later batch and task (Spark reuses its Python
workers). On a cluster the location must be readable from the executors: an ``s3://`` URI, a shared
file system, or a directory shipped with ``spark.sparkContext.addFile(path, recursive=True)`` (a local
path the executor does not have is looked up among the files shipped that way).

The UDF takes the columns the signature names, in its order (``udf("a", "b")``), or one struct column
whose fields carry the names (``udf(struct(*df.columns))``). Each batch becomes a pandas DataFrame with
those names, goes through ``Predictor.predict`` (so the signature is enforced: a missing column fails
the task with ``missing input column 'c' (expected double)``) and comes back as a Series of
``result_type``: a scalar (``"double"``, ``"long"``, ``"string"``...) or an array
(``"array<double>"``) for models answering several values per row, such as ``predict_proba``.

This module imports PySpark only when ``spark_udf`` is called; ``import dockyard`` never does.
"""

from __future__ import annotations

import functools
import os
import typing
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dockyard.core.errors import InvalidModel, InvalidParameter, MissingExtra, ModelInputError

if TYPE_CHECKING:
    import pandas as pd
    from pyspark.sql import SparkSession
    from pyspark.sql.types import DataType

    from dockyard.models.loading import Predictor

# Spark scalar types -> the pandas dtype a result Series is cast to before Arrow takes it.
_DTYPES = {
    "double": "float64",
    "float": "float32",
    "long": "int64",
    "bigint": "int64",
    "integer": "int32",
    "int": "int32",
    "short": "int16",
    "smallint": "int16",
    "byte": "int8",
    "tinyint": "int8",
    "boolean": "bool",
    "string": "str",
}


def resolve_location(model_uri: str | os.PathLike[str]) -> str:
    """Where executors load the model from: an absolute local path or an artifact URI (no download).

    >>> resolve_location("/no/such/model")
    Traceback (most recent call last):
    ...
    dockyard.core.errors.InvalidModel: /no/such/model is not a model directory: missing file MLmodel
    """
    from dockyard.models.uris import parse_model_uri

    parsed = parse_model_uri(model_uri)
    if parsed.kind == "artifact":
        return parsed.uri
    if parsed.kind == "path":
        location = parsed.path or ""
    else:
        # runs:/ and models:/ need the tracking store or the registry: only here, on the driver.
        from dockyard.lifecycle.resolution import model_location

        location = model_location(parsed.uri)
        if parse_model_uri(location).kind != "path":
            return location
        location = parse_model_uri(location).path or ""
    path = Path(location).expanduser().resolve()
    if not (path / "MLmodel").is_file():
        raise InvalidModel(f"{os.fspath(model_uri)} is not a model directory: missing file MLmodel")
    return str(path)


def load_on_worker(location: str) -> Predictor:
    """The model at ``location``, loaded once per Python worker process (the cache outlives tasks).

    A local model is cached with its ``MLmodel`` file's modification time, so a model saved again at the
    same path is loaded again rather than served stale.
    """
    from dockyard.models.uris import parse_model_uri

    if parse_model_uri(location).kind != "path":
        return _load(location, 0)
    if not Path(location).is_dir():
        from pyspark import SparkFiles

        shipped = Path(SparkFiles.get(Path(location).name))
        if not shipped.is_dir():
            raise InvalidModel(
                f"the model directory {location} is not on this executor: put it on storage every executor "
                f"reads (s3://..., a shared path) or ship it with spark.sparkContext.addFile({location!r}, "
                "recursive=True)"
            )
        location = str(shipped)
    manifest = Path(location) / "MLmodel"
    return _load(location, manifest.stat().st_mtime_ns if manifest.is_file() else 0)


@functools.lru_cache(maxsize=4)
def _load(location: str, stamp: int) -> Predictor:
    from dockyard.models.loading import load_model

    return load_model(location)


def batch_frame(columns: tuple[Any, ...], names: list[str] | None) -> pd.DataFrame:
    """One batch of UDF arguments as the DataFrame the model expects.

    >>> import pandas as pd
    >>> batch_frame((pd.Series([1.0]), pd.Series([2])), ["x", "k"]).to_dict("list")
    {'x': [1.0], 'k': [2]}
    """
    import pandas as pd

    if len(columns) == 1 and isinstance(columns[0], pd.DataFrame):
        return columns[0]  # a struct column: its fields name the columns
    if names is None:
        return pd.DataFrame({i: column for i, column in enumerate(columns)})
    if len(columns) != len(names):
        raise ModelInputError(
            f"the model takes {len(names)} columns ({', '.join(names)}) but the UDF was called with "
            f"{len(columns)}: pass them in this order, or as one struct column with these field names"
        )
    return pd.DataFrame({name: column.reset_index(drop=True) for name, column in zip(names, columns, strict=True)})


def to_result(predictions: Any, rows: int, result_type: DataType) -> pd.Series:
    """Predictions as a Series of ``result_type``: one value per row, or one array per row."""
    import numpy as np
    import pandas as pd
    from pyspark.sql.types import ArrayType

    values = predictions.to_numpy() if isinstance(predictions, pd.DataFrame | pd.Series) else np.asarray(predictions)
    if values.ndim == 0 or len(values) != rows:
        raise ModelInputError(f"the model returned {values.shape[0] if values.ndim else 'a scalar'} for {rows} rows")
    if isinstance(result_type, ArrayType):
        dtype = _DTYPES.get(result_type.elementType.simpleString())
        if values.ndim == 1:
            values = values.reshape(rows, 1)
        rows_out = [np.asarray(row, dtype=dtype) if dtype not in (None, "str") else list(row) for row in values]
        return pd.Series(rows_out)
    if values.ndim == 2 and values.shape[1] == 1:
        values = values[:, 0]
    if values.ndim != 1:
        raise ModelInputError(
            f"the model returned {values.shape[1]} values per row, which a {result_type.simpleString()} column "
            "cannot hold: use result_type='array<double>' (or another array type)"
        )
    dtype = _DTYPES.get(result_type.simpleString())
    series = pd.Series(values)
    return series if dtype is None else series.astype(dtype)


def _parse_type(result_type: str | DataType | None, predictor_outputs: list[str] | None) -> DataType:
    from pyspark.sql.types import DataType

    if isinstance(result_type, DataType):
        return result_type
    if result_type is None:
        # One named or unnamed scalar output in the signature: its type; otherwise double, as MLflow.
        result_type = predictor_outputs[0] if predictor_outputs and len(predictor_outputs) == 1 else "double"
    if not isinstance(result_type, str):
        raise InvalidParameter(f"result_type must be a Spark type or its DDL string, not {result_type!r}")
    try:
        return DataType.fromDDL(result_type)
    except Exception as exc:  # pyspark raises its own parse errors; name the argument instead
        raise InvalidParameter(f"result_type {result_type!r} is not a Spark type: {exc}") from None


def _output_types(predictor: Predictor) -> list[str] | None:
    signature = predictor.signature
    if signature is None or signature.outputs is None or signature.outputs.is_tensor:
        return None
    kinds = {
        "double": "double",
        "float": "float",
        "long": "long",
        "integer": "int",
        "boolean": "boolean",
        "string": "string",
    }
    out = [kinds.get(str(getattr(spec, "type", "")), "") for spec in signature.outputs]
    return None if "" in out else out


def spark_udf(
    spark: SparkSession,
    model_uri: str | os.PathLike[str],
    result_type: str | DataType | None = None,
    *,
    params: dict[str, Any] | None = None,
) -> Any:
    """A pandas UDF scoring Spark columns with the model at ``model_uri`` (MLflow's ``spark_udf`` shape).

    ``result_type`` is a Spark type or its DDL string (``"double"``, ``"long"``, ``"string"``,
    ``"array<double>"``); by default the type of the signature's single output, else ``"double"``.
    ``params`` are passed to every ``predict`` call::

        predict = dockyard.spark_udf(spark, "models:/churn@champion", result_type="long")
        scored = df.withColumn("churn", predict(*feature_columns))
    """
    try:
        import pandas as pd
        from pyspark.sql.functions import pandas_udf
    except ImportError:
        raise MissingExtra("pyspark", "spark") from None
    del spark  # the active session parses types; taking it keeps MLflow's call shape
    location = resolve_location(model_uri)
    predictor = load_on_worker(location)  # on the driver: fail now, and learn the signature's names
    inputs = None if predictor.signature is None else predictor.signature.inputs
    names = inputs.names() if inputs is not None and not inputs.is_tensor and inputs.has_names else None
    spark_type = _parse_type(result_type, _output_types(predictor))

    def score(batches: Iterator[Any]) -> Iterator[pd.Series]:
        model = load_on_worker(location)
        for batch in batches:
            columns = tuple(batch) if isinstance(batch, tuple) else (batch,)
            frame = batch_frame(columns, names)
            yield to_result(model.predict(frame, params), len(frame), spark_type)

    # pandas_udf reads these hints to pick the iterator-of-batches form: real objects, not strings, and
    # typing's spellings, which are what its checks recognise.
    score.__annotations__ = {
        "batches": typing.Iterator[typing.Tuple[typing.Union[pd.Series, pd.DataFrame], ...]],  # noqa: UP006, UP007
        "return": typing.Iterator[pd.Series],
    }
    return pandas_udf(score, returnType=spark_type)  # type: ignore[call-overload]


__all__ = ["spark_udf"]
