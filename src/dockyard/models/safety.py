"""Safe loading: the caller, never the model, decides whether a model may run code when it is loaded.

Some model formats run code from the model's files as they load: a pickle or cloudpickle (scikit-learn's
``serialization_format: pickle``/``cloudpickle``, a custom Python model's ``python_model.pkl``),
``torch.load`` of a whole PyTorch module, and a model's ``code/`` directory put on ``sys.path``. Loading
such a model is refused with :class:`~dockyard.core.errors.UnsafeModel` unless the caller opts in:
``allow_pickle=True`` on the loading API, ``--allow-pickle`` on ``dockyard serve`` and ``dockyard
predict``, or ``DOCKYARD_ALLOW_PICKLE=true`` (MLflow's ``MLFLOW_ALLOW_MODEL_CODE_EXECUTION=true`` too).
The check runs before a byte of the file is unpickled.

skops files are safe to open, but they name the types to build; a type's code runs when the model
predicts (``FunctionTransformer(func=os.system)``). A skops file loads only when every type in it is in
skops' own trusted set, Dockyard's list of internal types of the model libraries
(:data:`BUILTIN_TRUSTED_TYPES`), or the ``trusted_types`` the caller passes. The ``skops_trusted_types``
a model's ``MLmodel`` lists is written for MLflow and never trusted: the model would vouch for itself.

One load runs under one :class:`LoadPolicy`, set by :func:`dockyard.models.loading.load_predictor` and
friends for the time of the load (a context variable, so flavors, built in or plugged in, keep their
``load(directory, section)`` signature). Code that calls a flavor directly gets the environment's
choice.

>>> with applied(LoadPolicy(allow_pickle=False)):
...     require_code_execution("model.pkl", "a pickle (serialization_format: pickle)")  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
dockyard.core.errors.UnsafeModel: model.pkl is a pickle (serialization_format: pickle), which runs code ...
>>> with applied(LoadPolicy(allow_pickle=True)):
...     require_code_execution("model.pkl", "a pickle (serialization_format: pickle)")
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from dockyard.core.config import allow_pickle_from_env
from dockyard.core.errors import InvalidParameter, UnsafeModel

OPT_IN = "pass allow_pickle=True, --allow-pickle or DOCKYARD_ALLOW_PICKLE=true to load it if you trust its source"

# Types of the model libraries that skops does not trust by default but that hold only data: the fitted
# state of common estimators (trees, neighbour indexes, calibrators) and the scikit-learn wrappers of
# LightGBM and XGBoost, whose boosters restore from their own model format. None of them is a function,
# and none calls anything named by the file. skops leaves the tree types out because a crafted file can
# crash the process the first time it predicts (scikit-learn indexes the node arrays unchecked): that is
# a denial of service by whoever can write the model, not code execution, and tree models are the
# common case. Exact names only: trusting a prefix such as "sklearn." would trust functions too, and
# some of those run what they are given.
BUILTIN_TRUSTED_TYPES: frozenset[str] = frozenset(
    {
        "collections.OrderedDict",
        "numpy.dtype",
        "sklearn.calibration._CalibratedClassifier",
        "sklearn.calibration._SigmoidCalibration",
        "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
        "sklearn.metrics._dist_metrics.EuclideanDistance64",
        "sklearn.metrics._dist_metrics.ManhattanDistance64",
        "sklearn.metrics._dist_metrics.MinkowskiDistance64",
        "sklearn.neighbors._ball_tree.BallTree",
        "sklearn.neighbors._kd_tree.KDTree",
        "sklearn.tree._tree.Tree",
        "sklearn.utils._bunch.Bunch",
        "lightgbm.basic.Booster",
        "lightgbm.sklearn.LGBMClassifier",
        "lightgbm.sklearn.LGBMRanker",
        "lightgbm.sklearn.LGBMRegressor",
        "xgboost.core.Booster",
        "xgboost.sklearn.XGBClassifier",
        "xgboost.sklearn.XGBRanker",
        "xgboost.sklearn.XGBRegressor",
        "xgboost.sklearn.XGBRFClassifier",
        "xgboost.sklearn.XGBRFRegressor",
    }
)


@dataclass(frozen=True)
class LoadPolicy:
    """What one load may do: run code from the model's files, and which extra skops types to trust."""

    allow_pickle: bool = False
    trusted_types: frozenset[str] = frozenset()

    @classmethod
    def of(cls, allow_pickle: bool | None = None, trusted_types: Iterable[str] | None = None) -> LoadPolicy:
        """The policy for a caller's arguments; ``allow_pickle=None`` leaves it to the environment."""
        if allow_pickle is not None and not isinstance(allow_pickle, bool):
            raise InvalidParameter(f"allow_pickle must be True or False, got {allow_pickle!r}")
        if isinstance(trusted_types, str):
            raise InvalidParameter("trusted_types must be a list of type names such as ['mypackage.MyTransformer']")
        names = frozenset(trusted_types or ())
        bad = sorted(repr(n) for n in names if not isinstance(n, str) or not n.strip())
        if bad:
            raise InvalidParameter(f"trusted_types: {', '.join(bad)} is not a type name (module.Name)")
        return cls(allow_pickle_from_env() if allow_pickle is None else allow_pickle, names)


_current: ContextVar[LoadPolicy | None] = ContextVar("dockyard_load_policy", default=None)


def current() -> LoadPolicy:
    """The policy of the load in progress; outside one, the environment's (DOCKYARD_ALLOW_PICKLE...)."""
    found = _current.get()
    return found if found is not None else LoadPolicy.of()


@contextmanager
def applied(policy: LoadPolicy) -> Iterator[LoadPolicy]:
    """Run a load under ``policy`` (restored afterwards, also on error)."""
    token = _current.set(policy)
    try:
        yield policy
    finally:
        _current.reset(token)


def require_code_execution(name: str, kind: str) -> None:
    """Refuse, unless the caller opted in, to load ``name``, which is ``kind`` and runs code when loaded."""
    if not current().allow_pickle:
        raise UnsafeModel(f"{name} is {kind}, which runs code when loaded; {OPT_IN}")


def untrusted(types: Iterable[str]) -> list[str]:
    """Those of ``types`` (found in a skops file) that neither Dockyard nor the caller trusts."""
    trusted = BUILTIN_TRUSTED_TYPES | current().trusted_types
    return sorted(set(types) - trusted)
