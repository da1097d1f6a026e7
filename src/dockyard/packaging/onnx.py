"""``--onnx``: a scikit-learn, XGBoost or LightGBM model converted to ONNX, checked, served by onnxruntime.

Conversion uses skl2onnx (scikit-learn, pipelines included) and onnxmltools (XGBoost, LightGBM), with one
float32 input tensor ``input`` of shape ``[None, n_features]`` whose columns are the signature's, in its
order. The bundle then needs onnxruntime and numpy alone: no scikit-learn, SciPy or pandas (a table's
numeric columns go to the model as one array, see :func:`dockyard.models.enforce.enforce_schema`).

Before anything is written, the converted model must agree with the original on the input example and
on ``rows`` generated rows (seeded, drawn around the example's range of each column): class labels
exactly, and every prediction and probability within ``|onnx - original| <= atol + rtol * |original|``
(default ``rtol=1e-4``, ``atol=1e-5``: float32 arithmetic, not a different model). A disagreement is
refused with the largest difference, its row and both values. The served model keeps the output
``predict`` gives (labels for a classifier, values for a regressor; probabilities when the model's
``predict_fn`` is ``predict_proba``), so the bundle answers as the original does.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dockyard.core.errors import InvalidModel, MissingExtra
from dockyard.models.requirements import installed_version
from dockyard.models.signature import ColSpec, ModelSignature, TensorSpec

if TYPE_CHECKING:
    from dockyard.models.loading import Predictor
    from dockyard.packaging.bundle import PackageOptions

SUPPORTED = {"sklearn": "scikit-learn", "xgboost": "XGBoost", "lightgbm": "LightGBM"}
INPUT = "input"
_NUMERIC = ("integer", "long", "float", "double")


@dataclass(frozen=True)
class Converted:
    """What the conversion wrote and found."""

    report: str  # one line: how close ONNX came, on how many rows
    requirements: list[str]  # the ONNX model's libraries, pinned: onnxruntime and numpy
    largest_difference: float
    rows_checked: int


def _width(predictor: Predictor) -> tuple[int, list[str] | None]:
    """The number of input features and the column names, from the signature (or the estimator)."""
    signature = predictor.signature
    schema = None if signature is None else signature.inputs
    if schema is None:
        width = getattr(predictor.native, "n_features_in_", None)
        if not isinstance(width, int):
            raise InvalidModel(
                "--onnx needs the model's input signature (its numeric columns) to fix the ONNX input: "
                "log the model with a signature or an input example"
            )
        return width, None
    specs = schema.specs
    if schema.is_tensor:
        spec = specs[0]
        if len(specs) != 1 or not isinstance(spec, TensorSpec) or len(spec.shape) != 2 or spec.shape[1] < 1:
            raise InvalidModel("--onnx converts models of one 2-D numeric input tensor [-1, n] or of numeric columns")
        return int(spec.shape[1]), None
    other = [s for s in specs if not isinstance(s, ColSpec) or s.type not in _NUMERIC]
    if other:
        kind = other[0].describe() if isinstance(other[0], ColSpec) else "a tensor"
        raise InvalidModel(
            f"--onnx converts models whose input columns are all numeric; column {other[0].name!r} is {kind}"
        )
    return len(specs), schema.names() if schema.has_names else None


def _example_matrix(predictor: Predictor, width: int, columns: list[str] | None) -> Any:
    """The input example as a 2-D float64 array in the signature's column order (None: no example)."""
    import numpy as np

    example = predictor.input_example
    if example is None:
        return None
    data, _ = predictor.prepare(example)
    if hasattr(data, "to_numpy"):
        data = data[columns].to_numpy() if columns else data.to_numpy()
    matrix = np.asarray(data, dtype="float64")
    return matrix.reshape(-1, width)


def generated_rows(example: Any, width: int, rows: int, integer_columns: list[int], seed: int = 0) -> Any:
    """``rows`` rows drawn uniformly around each column's range in ``example`` (a column's range widened by
    its span, at least 1 either side), whole numbers in integer columns; seeded, so a refusal repeats."""
    import numpy as np

    rng = np.random.default_rng(seed)
    if example is None or len(example) == 0:
        low, high = np.full(width, -1.0), np.full(width, 1.0)
    else:
        low, high = example.min(axis=0), example.max(axis=0)
    span = np.maximum(high - low, np.maximum(np.abs(high), 1.0))
    out = rng.uniform(low - span, high + span, size=(rows, width))
    if integer_columns:
        out[:, integer_columns] = np.round(out[:, integer_columns])
    return out


@contextlib.contextmanager
def _skl2onnx_bool_attributes() -> Iterator[None]:
    """skl2onnx 1.20 passes the Python bool ``False`` as a leaf's ``nodes_missing_value_tracks_true`` (an
    ONNX list of ints) when converting HistGradientBoosting models, which protobuf 5+ refuses; while
    converting, that one argument is passed on as an int. The model converted is the same."""
    from skl2onnx.common import tree_ensemble

    original = tree_ensemble.add_node

    def add_node(*args: Any, nodes_missing_value_tracks_true: Any = 0, **kwargs: Any) -> Any:
        return original(*args, nodes_missing_value_tracks_true=int(nodes_missing_value_tracks_true), **kwargs)

    tree_ensemble.add_node = add_node
    try:
        yield
    finally:
        tree_ensemble.add_node = original


def _convert(flavor: str, native: Any, width: int) -> Any:
    """The ONNX ModelProto of ``native`` (outputs: label and probabilities, or the predicted values)."""
    try:
        if flavor == "sklearn":
            from skl2onnx import convert_sklearn
            from skl2onnx.common.data_types import FloatTensorType
            from sklearn.base import is_classifier

            # Probabilities as one tensor, not a list of dicts (ZipMap): what the check and the server read.
            options = {"zipmap": False} if is_classifier(native) else None
            with _skl2onnx_bool_attributes():
                return convert_sklearn(native, initial_types=[(INPUT, FloatTensorType([None, width]))], options=options)
        import onnxmltools
        from onnxmltools.convert.common.data_types import FloatTensorType as MLFloat

        types = [(INPUT, MLFloat([None, width]))]
        if flavor == "xgboost":
            return onnxmltools.convert_xgboost(native, initial_types=types)
        return onnxmltools.convert_lightgbm(native, initial_types=types, zipmap=False)
    except ImportError as exc:
        raise MissingExtra(exc.name or "skl2onnx", "onnx") from None
    except (RuntimeError, ValueError, TypeError, NotImplementedError, KeyError, AttributeError, NameError) as exc:
        raise InvalidModel(
            f"--onnx: the {SUPPORTED[flavor]} model ({type(native).__name__}) could not be converted to ONNX: "
            f"{' '.join(str(exc).split())[:300]}"
        ) from None


def _session(proto: Any) -> Any:
    try:
        import onnxruntime
    except ImportError:
        raise MissingExtra("onnxruntime", "onnx") from None
    return onnxruntime.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])


def _original_outputs(predictor: Predictor, matrix: Any, columns: list[str] | None) -> tuple[Any, Any]:
    """The original model's predictions (through its ``predict``, as served) and probabilities (or None)."""
    import numpy as np

    data: Any = matrix
    if columns is not None:
        import pandas as pd

        data = pd.DataFrame(matrix, columns=columns)
    predictions = np.asarray(predictor.predict(data))
    proba = getattr(predictor.native, "predict_proba", None)
    probabilities = None
    if callable(proba):
        prepared, _ = predictor.prepare(data)
        probabilities = np.asarray(proba(prepared))
    return predictions, probabilities


def _largest(onnx_values: Any, original: Any, rtol: float, atol: float) -> tuple[float, int, bool]:
    """(largest |difference|, its row, whether every value is within tolerance)."""
    import numpy as np

    a = np.asarray(onnx_values, dtype="float64").reshape(len(original), -1)
    b = np.asarray(original, dtype="float64").reshape(len(original), -1)
    if a.shape != b.shape:
        raise InvalidModel(f"--onnx: the ONNX model answers shape {list(a.shape)}, the original {list(b.shape)}")
    difference = np.abs(a - b)
    row = int(np.unravel_index(int(np.argmax(difference)), difference.shape)[0]) if difference.size else 0
    within = bool(np.all(difference <= atol + rtol * np.abs(b)))
    return float(difference.max()) if difference.size else 0.0, row, within


def _refuse(what: str, row: int, matrix: Any, columns: list[str] | None, onnx_value: Any, original: Any) -> None:
    values = matrix[row].tolist()
    shown = dict(zip(columns, values, strict=True)) if columns else values
    raise InvalidModel(
        f"--onnx: the ONNX model's {what} differ from the original's: row {row} {shown} gives "
        f"{onnx_value!r} (ONNX) vs {original!r} (original); refusing to package a model that answers differently"
    )


def check_agreement(
    session: Any, predictor: Predictor, matrix: Any, columns: list[str] | None, *, rtol: float, atol: float
) -> tuple[float, str, bool]:
    """Refuse unless ONNX and the original agree on every row of ``matrix``; the largest difference and
    the name of the ONNX output that serves ``predict``, and whether it must be flattened to one value a
    row to answer as ``predict`` does."""
    import numpy as np

    predictions, probabilities = _original_outputs(predictor, matrix, columns)
    names = [o.name for o in session.get_outputs()]
    results = dict(zip(names, session.run(None, {INPUT: matrix.astype("float32")}), strict=True))
    classifier = probabilities is not None and len(names) >= 2
    largest = 0.0
    if classifier:
        labels, onnx_proba = results[names[0]], results[names[1]]
        as_text = np.asarray(labels).astype(str).ravel()
        wrong: Any = np.flatnonzero(as_text != predictions.astype(str).ravel()) if predictions.ndim == 1 else []
        if len(wrong):
            row = int(wrong[0])
            _refuse("predicted labels", row, matrix, columns, labels[row].item(), predictions[row].item())
        largest, row, within = _largest(onnx_proba, probabilities, rtol, atol)
        if not within:
            _refuse(
                f"probabilities (largest difference {largest:.3g})",
                row,
                matrix,
                columns,
                np.asarray(onnx_proba)[row].tolist(),
                probabilities[row].tolist(),
            )
        if predictions.ndim == 2:  # predict_fn=predict_proba: the probabilities are what is served
            return largest, names[1], False
        return largest, names[0], np.asarray(labels).ndim > 1
    values = results[names[0]]
    largest, row, within = _largest(values, predictions, rtol, atol)
    if not within:
        _refuse(
            f"predictions (largest difference {largest:.3g})",
            row,
            matrix,
            columns,
            np.asarray(values).reshape(len(matrix), -1)[row].tolist(),
            np.asarray(predictions).reshape(len(matrix), -1)[row].tolist(),
        )
    return largest, names[0], np.asarray(values).ndim > 1 and np.asarray(predictions).ndim == 1


def _keep_output(proto: Any, name: str, *, flat: bool) -> Any:
    """``proto`` answering only ``name`` (the other outputs are dropped from the graph's outputs); ``flat``:
    reshaped to one value per row, as the original's ``predict`` answers (a regressor's ``[n, 1]``)."""
    kept = [o for o in proto.graph.output if o.name == name]
    del proto.graph.output[:]
    if not flat:
        proto.graph.output.extend(kept)
        return proto
    import numpy as np
    from onnx import helper, numpy_helper

    flat_name, shape_name = f"{name}_flat", f"{name}_flat_shape"
    proto.graph.initializer.append(numpy_helper.from_array(np.array([-1], dtype="int64"), shape_name))
    proto.graph.node.append(helper.make_node("Reshape", [name, shape_name], [flat_name], name=f"{name}_flatten"))
    element = kept[0].type.tensor_type.elem_type
    proto.graph.output.append(helper.make_tensor_value_info(flat_name, element, [None]))
    return proto


def convert_to_onnx(predictor: Predictor, target: Path, options: PackageOptions) -> Converted:
    """Convert, check and write the ONNX model into ``target`` (a new folder); refuses as the module says."""
    import numpy as np

    if predictor.flavor not in SUPPORTED:
        raise InvalidModel(
            f"--onnx: a {predictor.flavor} model cannot be converted to ONNX "
            f"(--onnx converts {', '.join(SUPPORTED.values())} models); package it without --onnx"
        )
    width, columns = _width(predictor)
    example = _example_matrix(predictor, width, columns)
    signature = predictor.signature
    integer_columns = []
    if signature is not None and signature.inputs is not None and not signature.inputs.is_tensor:
        integer_columns = [
            i for i, s in enumerate(signature.inputs.specs) if getattr(s, "type", "") in ("integer", "long")
        ]
    generated = generated_rows(example, width, options.onnx_rows, integer_columns)
    matrix = generated if example is None else np.vstack([example, generated])
    proto = _convert(predictor.flavor, predictor.native, width)
    session = _session(proto)
    largest, served, flat = check_agreement(
        session, predictor, matrix, columns, rtol=options.onnx_rtol, atol=options.onnx_atol
    )
    proto = _keep_output(proto, served, flat=flat)
    from dockyard.models.saving import save_model

    outputs = None if signature is None else signature.outputs
    inputs = None if signature is None else signature.inputs
    save_model(
        proto,
        target,
        flavor="onnx",
        signature=ModelSignature(inputs, outputs) if inputs is not None else False,
        input_example=predictor.input_example,
        metadata={"converted_from": predictor.flavor},
    )
    checked = len(matrix)
    source = "the input example and " if example is not None else ""
    report = (
        f"ONNX check: {source}{options.onnx_rows} generated rows ({checked} in all) agree with the original "
        f"(largest difference {largest:.3g}; tolerance {options.onnx_atol:g} + {options.onnx_rtol:g} x |value|)"
    )
    requirements = [f"onnxruntime=={installed_version('onnxruntime')}", f"numpy=={installed_version('numpy')}"]
    return Converted(report, requirements, largest, checked)
