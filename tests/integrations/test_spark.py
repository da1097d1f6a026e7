"""``dockyard.spark_udf`` on a real Spark (``local[2]``, one session for the module)."""

from __future__ import annotations

import os
import shutil
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dockyard.integrations.spark import batch_frame
from serving.conftest import COLUMNS, save_classifier

pytestmark = [
    # PySpark 4.x checks the pandas version on every pandas conversion and warns about pandas 3; the
    # scoring itself works (these tests are the proof). Nothing of ours to fix.
    pytest.mark.filterwarnings("ignore:PySpark does not yet fully support pandas:FutureWarning"),
]


@pytest.fixture(scope="module")
def spark(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    pytest.importorskip("pyspark")
    from pyspark.sql import SparkSession

    root = tmp_path_factory.mktemp("spark")
    with pytest.MonkeyPatch.context() as patch:
        # Python workers must run this interpreter (with dockyard, pandas and scikit-learn), not `python3`.
        patch.setenv("PYSPARK_PYTHON", sys.executable)
        patch.setenv("PYSPARK_DRIVER_PYTHON", sys.executable)
        patch.setenv("SPARK_LOCAL_IP", "127.0.0.1")
        session = (
            SparkSession.builder.master("local[2]")
            .appName("dockyard-tests")
            .config("spark.ui.enabled", "false")
            .config("spark.ui.showConsoleProgress", "false")
            .config("spark.sql.shuffle.partitions", "2")
            .config("spark.default.parallelism", "2")
            .config("spark.sql.warehouse.dir", str(root / "warehouse"))
            .config("spark.local.dir", str(root / "local"))
            .config("spark.driver.extraJavaOptions", f"-Dderby.system.home={root}")
            .getOrCreate()
        )
        session.sparkContext.setLogLevel("FATAL")
        try:
            yield session
        finally:
            session.stop()


@pytest.fixture(scope="module")
def frame() -> Any:
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(7)
    return pd.DataFrame(rng.normal(size=(40, 3)), columns=COLUMNS)


@pytest.fixture(scope="module")
def spark_frame(spark: Any, frame: Any) -> Any:
    rows = [tuple(float(v) for v in row) for row in frame.itertuples(index=False)]
    return spark.createDataFrame(rows, "a double, b double, c double")


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    import dockyard.sklearn

    root = tmp_path_factory.mktemp("spark-models")
    classifier = save_classifier(root / "classifier")
    proba = root / "proba"
    dockyard.sklearn.save_model(
        dockyard.sklearn.load_model(classifier), proba, input_example=None, predict_fn="predict_proba"
    )
    return {"classifier": classifier, "proba": proba}


def scored(df: Any, column: Any) -> tuple[Any, list[Any]]:
    """The input rows as pandas and the UDF's output for each, from one collect (so rows line up)."""
    import pandas as pd

    rows = df.withColumn("p", column).collect()
    return pd.DataFrame([[row[c] for c in COLUMNS] for row in rows], columns=COLUMNS), [row.p for row in rows]


def in_process(model: Path, rows: Any) -> list[Any]:
    import dockyard.models

    return dockyard.models.load_model(model).predict(rows).tolist()


@pytest.mark.slow
def test_scores_columns_like_the_model_in_process(spark: Any, spark_frame: Any, models: Any) -> None:
    from pyspark.sql.functions import struct

    import dockyard

    predict = dockyard.spark_udf(spark, str(models["classifier"]))
    assert predict.returnType.simpleString() == "bigint"  # the signature's output type (long)
    rows, got = scored(spark_frame, predict(*COLUMNS))
    expected = in_process(models["classifier"], rows)
    assert len(got) == 40 and got == expected and set(got) == {0, 1}
    rows, got = scored(spark_frame, predict(struct(*reversed(COLUMNS))))  # the fields name the columns
    assert got == in_process(models["classifier"], rows)
    as_double = dockyard.spark_udf(spark, str(models["classifier"]), result_type="double")
    rows, got = scored(spark_frame, as_double(*COLUMNS))
    assert got == [float(v) for v in in_process(models["classifier"], rows)]
    assert all(isinstance(v, float) for v in got)
    as_string = dockyard.spark_udf(spark, str(models["classifier"]), result_type="string")
    rows, got = scored(spark_frame, as_string(*COLUMNS))
    assert got == [str(v) for v in in_process(models["classifier"], rows)]


@pytest.mark.slow
def test_predict_proba_as_an_array_column(spark: Any, spark_frame: Any, models: Any) -> None:
    from pyspark.sql.functions import struct

    import dockyard

    predict = dockyard.spark_udf(spark, models["proba"], result_type="array<double>")
    rows, got = scored(spark_frame, predict(struct(*COLUMNS)))
    expected = in_process(models["proba"], rows)
    assert len(got) == 40 and all(len(row) == 2 for row in got)
    flat = [p for row in got for p in row]
    assert flat == pytest.approx([p for row in expected for p in row])  # each row a [p0, p1] pair
    scalar = dockyard.spark_udf(spark, models["proba"], result_type="double")
    with pytest.raises(Exception, match=r"2 values per row.*array<double>"):
        scored(spark_frame, scalar(*COLUMNS))


@pytest.mark.slow
def test_a_missing_column_fails_naming_it(spark: Any, spark_frame: Any, models: Any) -> None:
    from pyspark.sql.functions import struct

    import dockyard

    predict = dockyard.spark_udf(spark, models["classifier"])
    with pytest.raises(Exception, match=r"missing input column 'c' \(expected double\)"):
        scored(spark_frame, predict(struct("a", "b")))


def test_batches_are_named_after_the_signature() -> None:
    """What each worker does with a batch (no Spark needed): positional columns take the signature's names."""
    import pandas as pd

    from dockyard.core.errors import ModelInputError

    a, b = pd.Series([1.0, 2.0], index=[5, 6]), pd.Series([3.0, 4.0], index=[5, 6])
    assert batch_frame((a, b), ["x", "y"]).to_dict("list") == {"x": [1.0, 2.0], "y": [3.0, 4.0]}
    struct = pd.DataFrame({"y": [3.0], "x": [1.0]})
    assert batch_frame((struct,), ["x", "y"]) is struct  # the fields already name the columns
    assert batch_frame((a, b), None).columns.tolist() == [0, 1]
    with pytest.raises(ModelInputError, match=r"takes 3 columns \(a, b, c\) but the UDF was called with 2"):
        batch_frame((a, b), ["a", "b", "c"])


@pytest.mark.slow
def test_runs_and_logged_model_uris_resolve_on_the_driver(
    spark: Any, spark_frame: Any, frame: Any, models: Any
) -> None:
    import dockyard
    import dockyard.sklearn

    estimator = dockyard.sklearn.load_model(models["classifier"])
    with dockyard.start_run() as run:
        info = dockyard.sklearn.log_model(estimator, name="model", input_example=frame[:3])
    for uri in (f"runs:/{run.info.run_id}/model", f"models:/{info.model_id}"):
        predict = dockyard.spark_udf(spark, uri, result_type="long")
        rows, got = scored(spark_frame, predict(*COLUMNS))
        assert got == estimator.predict(rows).tolist(), uri


@pytest.mark.slow
def test_a_directory_shipped_with_add_file_is_found_on_executors(
    spark: Any, spark_frame: Any, models: Any, tmp_path: Path
) -> None:
    import dockyard

    shipped = tmp_path / f"model-{uuid.uuid4().hex[:8]}"
    shutil.copytree(models["classifier"], shipped)
    spark.sparkContext.addFile(str(shipped), recursive=True)
    predict = dockyard.spark_udf(spark, shipped)  # resolved (and checked) on the driver
    spark.sparkContext.parallelize([0], 2).count()  # executors fetch the shipped files with a task
    shutil.rmtree(shipped)  # executors no longer see the driver's path: only the shipped copy
    rows, got = scored(spark_frame, predict(*COLUMNS))
    assert not os.path.exists(shipped)
    assert got == in_process(models["classifier"], rows)


@pytest.mark.slow
def test_bad_arguments_fail_on_the_driver(spark: Any, models: Any, tmp_path: Path) -> None:
    import dockyard
    from dockyard.core.errors import InvalidModel, InvalidParameter

    with pytest.raises(InvalidModel, match="missing file MLmodel"):
        dockyard.spark_udf(spark, tmp_path / "nothing")
    with pytest.raises(InvalidParameter, match="result_type 'no such type'"):
        dockyard.spark_udf(spark, models["classifier"], result_type="no such type")
