from __future__ import annotations

import copy
import pickle

import pytest

from dockyard.core import errors
from dockyard.core.errors import (
    AliasNotFound,
    ArtifactNotFound,
    BadRequest,
    DockyardError,
    ExperimentAlreadyExists,
    ExperimentNotFound,
    GateRefused,
    InvalidArtifactPath,
    InvalidFilter,
    InvalidModel,
    InvalidParameter,
    InvalidState,
    LoggedModelNotFound,
    LoggingFailed,
    MissingExtra,
    ModelInputError,
    ModelIntegrityError,
    ModelValidationFailed,
    ModelVersionNotFound,
    ModelVersionNotReady,
    NothingToRollBack,
    ParamValueChanged,
    PermissionDenied,
    PredictionFailed,
    PredictionTimeout,
    RegisteredModelAlreadyExists,
    RegisteredModelNotFound,
    ReproductionFailed,
    RequestTooLarge,
    ResourceAlreadyExists,
    ResourceNotFound,
    RunNotActive,
    RunNotFound,
    ServerBusy,
    StoreUnavailable,
    TagNotFound,
    Unauthenticated,
    UnsafeModel,
    UnsupportedMediaType,
    UnsupportedModel,
    WebhookNotFound,
    error_class_for,
    require,
)

# (class, parent, http_status, error_code), exactly as the tree in the module docstring.
TREE = [
    (DockyardError, Exception, 500, "INTERNAL_ERROR"),
    (InvalidParameter, DockyardError, 400, "INVALID_PARAMETER_VALUE"),
    (InvalidFilter, InvalidParameter, 400, "INVALID_PARAMETER_VALUE"),
    (InvalidArtifactPath, InvalidParameter, 400, "INVALID_PARAMETER_VALUE"),
    (ParamValueChanged, InvalidParameter, 400, "INVALID_PARAMETER_VALUE"),
    (RunNotActive, InvalidParameter, 400, "INVALID_PARAMETER_VALUE"),
    (AliasNotFound, InvalidParameter, 400, "INVALID_PARAMETER_VALUE"),
    (UnsupportedModel, InvalidParameter, 400, "INVALID_PARAMETER_VALUE"),
    (InvalidModel, InvalidParameter, 400, "INVALID_PARAMETER_VALUE"),
    (UnsafeModel, InvalidModel, 400, "INVALID_PARAMETER_VALUE"),
    (ModelIntegrityError, InvalidModel, 400, "INVALID_PARAMETER_VALUE"),
    (ModelVersionNotReady, InvalidParameter, 400, "INVALID_PARAMETER_VALUE"),
    (NothingToRollBack, InvalidParameter, 400, "INVALID_PARAMETER_VALUE"),
    (BadRequest, DockyardError, 400, "BAD_REQUEST"),
    (RequestTooLarge, BadRequest, 413, "BAD_REQUEST"),
    (ModelInputError, BadRequest, 400, "BAD_REQUEST"),
    (UnsupportedMediaType, BadRequest, 415, "BAD_REQUEST"),
    (ResourceNotFound, DockyardError, 404, "RESOURCE_DOES_NOT_EXIST"),
    (ExperimentNotFound, ResourceNotFound, 404, "RESOURCE_DOES_NOT_EXIST"),
    (RunNotFound, ResourceNotFound, 404, "RESOURCE_DOES_NOT_EXIST"),
    (ArtifactNotFound, ResourceNotFound, 404, "RESOURCE_DOES_NOT_EXIST"),
    (LoggedModelNotFound, ResourceNotFound, 404, "RESOURCE_DOES_NOT_EXIST"),
    (TagNotFound, ResourceNotFound, 404, "RESOURCE_DOES_NOT_EXIST"),
    (RegisteredModelNotFound, ResourceNotFound, 404, "RESOURCE_DOES_NOT_EXIST"),
    (ModelVersionNotFound, ResourceNotFound, 404, "RESOURCE_DOES_NOT_EXIST"),
    (WebhookNotFound, ResourceNotFound, 404, "RESOURCE_DOES_NOT_EXIST"),
    (InvalidState, DockyardError, 400, "INVALID_STATE"),
    (GateRefused, InvalidState, 400, "INVALID_STATE"),
    (ModelValidationFailed, InvalidState, 400, "INVALID_STATE"),
    (ResourceAlreadyExists, DockyardError, 400, "RESOURCE_ALREADY_EXISTS"),
    (ExperimentAlreadyExists, ResourceAlreadyExists, 400, "RESOURCE_ALREADY_EXISTS"),
    (RegisteredModelAlreadyExists, ResourceAlreadyExists, 400, "RESOURCE_ALREADY_EXISTS"),
    (Unauthenticated, DockyardError, 401, "UNAUTHENTICATED"),
    (PermissionDenied, DockyardError, 403, "PERMISSION_DENIED"),
    (MissingExtra, DockyardError, 500, "INTERNAL_ERROR"),
    (StoreUnavailable, DockyardError, 503, "TEMPORARILY_UNAVAILABLE"),
    (ServerBusy, StoreUnavailable, 503, "TEMPORARILY_UNAVAILABLE"),
    (LoggingFailed, DockyardError, 500, "INTERNAL_ERROR"),
    (PredictionFailed, DockyardError, 500, "INTERNAL_ERROR"),
    (PredictionTimeout, DockyardError, 504, "DEADLINE_EXCEEDED"),
    (ReproductionFailed, DockyardError, 500, "INTERNAL_ERROR"),
]

# Classes whose constructor takes a single message.
SIMPLE = [cls for cls, *_ in TREE if cls is not MissingExtra]

# The class an error_code decodes into on the client side.
CANONICAL = {
    "INTERNAL_ERROR": DockyardError,
    "INVALID_PARAMETER_VALUE": InvalidParameter,
    "BAD_REQUEST": BadRequest,
    "RESOURCE_DOES_NOT_EXIST": ResourceNotFound,
    "RESOURCE_ALREADY_EXISTS": ResourceAlreadyExists,
    "INVALID_STATE": InvalidState,
    "TEMPORARILY_UNAVAILABLE": StoreUnavailable,
    "UNAUTHENTICATED": Unauthenticated,
    "PERMISSION_DENIED": PermissionDenied,
    "DEADLINE_EXCEEDED": PredictionTimeout,
}


def _make(cls: type[DockyardError], message: str = "something went wrong") -> DockyardError:
    if cls is MissingExtra:
        return MissingExtra("pandas", "data")
    return cls(message)


@pytest.mark.parametrize(("cls", "parent", "status", "code"), TREE, ids=[c[0].__name__ for c in TREE])
def test_class_status_code_and_parent(cls: type[DockyardError], parent: type, status: int, code: str) -> None:
    assert cls.__bases__ == (parent,)
    assert cls.http_status == status
    assert cls.error_code == code
    err = _make(cls)
    assert err.http_status == status
    assert err.error_code == code
    assert isinstance(err, DockyardError)
    assert isinstance(err, Exception)


def test_tree_covers_every_public_error_class() -> None:
    public = {
        obj
        for name, obj in vars(errors).items()
        if isinstance(obj, type) and issubclass(obj, DockyardError) and not name.startswith("_")
    }
    assert public == {cls for cls, *_ in TREE}


@pytest.mark.parametrize("cls", SIMPLE, ids=[c.__name__ for c in SIMPLE])
def test_message_attribute_str_and_to_dict(cls: type[DockyardError]) -> None:
    err = cls("Run 'abc' not found")
    assert err.message == "Run 'abc' not found"
    assert str(err) == "Run 'abc' not found"
    assert err.args == ("Run 'abc' not found",)
    envelope = err.to_dict()
    assert {k: envelope[k] for k in ("error_code", "message", "error_class")} == {
        "error_code": cls.error_code,
        "message": "Run 'abc' not found",
        "error_class": cls.__name__,
    }


def test_to_dict_is_the_mlflow_envelope_plus_the_class_name() -> None:
    envelope = RunNotFound("Run 'abc' not found").to_dict()
    assert list(envelope) == ["error_code", "message", "error_class"]
    assert envelope == {
        "error_code": "RESOURCE_DOES_NOT_EXIST",
        "message": "Run 'abc' not found",
        "error_class": "RunNotFound",
    }


@pytest.mark.parametrize(("cls", "parent", "status", "code"), TREE, ids=[c[0].__name__ for c in TREE])
def test_error_from_dict_rebuilds_the_same_class(
    cls: type[DockyardError], parent: type, status: int, code: str
) -> None:
    from dockyard.core.errors import error_from_dict

    err = _make(cls)
    rebuilt = error_from_dict(err.to_dict(), status)
    assert type(rebuilt) is (cls if cls is not MissingExtra else DockyardError)
    assert rebuilt.message == err.message


def test_error_from_dict_keeps_filter_position_and_falls_back_to_the_code() -> None:
    from dockyard.core.errors import error_from_dict

    rebuilt = error_from_dict(InvalidFilter("expected a value", text="a >", position=3).to_dict(), 400)
    assert isinstance(rebuilt, InvalidFilter) and rebuilt.position == 3
    foreign = error_from_dict({"error_code": "RESOURCE_DOES_NOT_EXIST", "message": "gone"}, 404)
    assert type(foreign) is ResourceNotFound and foreign.message == "gone"
    unknown = error_from_dict({"error_code": "SOMETHING_NEW", "message": "?"}, 500)
    assert type(unknown) is DockyardError


@pytest.mark.parametrize("cls", SIMPLE, ids=[c.__name__ for c in SIMPLE])
def test_can_be_raised_and_caught_as_dockyard_error(cls: type[DockyardError]) -> None:
    with pytest.raises(DockyardError) as info:
        raise cls("boom")
    assert type(info.value) is cls


@pytest.mark.parametrize(("code", "expected"), sorted(CANONICAL.items()))
def test_error_class_for_known_codes(code: str, expected: type[DockyardError]) -> None:
    assert error_class_for(code) is expected


@pytest.mark.parametrize(("cls", "parent", "status", "code"), TREE, ids=[c[0].__name__ for c in TREE])
def test_error_class_for_round_trip(cls: type[DockyardError], parent: type, status: int, code: str) -> None:
    """Encoding an error and decoding its code gives a class it is an instance of, with the same status
    (except 413 and 415, which MLflow's codes cannot express: they decode as a 400 BAD_REQUEST)."""
    err = _make(cls)
    decoded = error_class_for(err.to_dict()["error_code"])
    assert isinstance(err, decoded)
    assert decoded.error_code == code
    assert decoded.http_status == (400 if cls in (RequestTooLarge, UnsupportedMediaType) else status)
    rebuilt = decoded(str(err.to_dict()["message"]))
    assert rebuilt.to_dict()["error_code"] == err.to_dict()["error_code"]
    assert rebuilt.message == err.message


@pytest.mark.parametrize(
    "code", ["", "NOT_A_CODE", "invalid_parameter_value", "permission_denied", "ENDPOINT_NOT_FOUND"]
)
def test_error_class_for_unknown_code_is_base(code: str) -> None:
    assert error_class_for(code) is DockyardError


def test_invalid_filter_message_names_position_and_text() -> None:
    err = InvalidFilter("unexpected token '='", text="metrics.loss == = 1", position=14)
    assert err.message == "unexpected token '=' (at position 14 of 'metrics.loss == = 1')"
    assert str(err) == err.message
    assert err.text == "metrics.loss == = 1"
    assert err.position == 14
    assert err.to_dict() == {
        "error_code": "INVALID_PARAMETER_VALUE",
        "message": err.message,
        "error_class": "InvalidFilter",
        "position": err.position,
        "text": err.text,
    }


def test_invalid_filter_position_zero_is_reported() -> None:
    err = InvalidFilter("expected an identifier", text="= 1", position=0)
    assert err.message == "expected an identifier (at position 0 of '= 1')"
    assert err.position == 0


@pytest.mark.parametrize("text", ["", "params.x = 'a'"])
def test_invalid_filter_without_position_keeps_message(text: str) -> None:
    err = InvalidFilter("bad filter", text=text)
    assert err.message == "bad filter"
    assert err.position is None
    assert err.text == text


def test_invalid_filter_defaults() -> None:
    err = InvalidFilter("bad filter")
    assert (err.message, err.text, err.position) == ("bad filter", "", None)


def test_invalid_filter_is_caught_as_invalid_parameter() -> None:
    with pytest.raises(InvalidParameter, match=r"at position 3 of 'a b c'"):
        raise InvalidFilter("bad", text="a b c", position=3)


@pytest.mark.parametrize(("package", "extra"), [("pandas", "data"), ("boto3", "s3"), ("uvicorn", "server")])
def test_missing_extra_message_names_package_and_extra(package: str, extra: str) -> None:
    err = MissingExtra(package, extra)
    assert err.package == package
    assert err.extra == extra
    assert err.message == f"{package} is required for this; install it with: pip install 'dockyard[{extra}]'"
    assert f"pip install 'dockyard[{extra}]'" in str(err)
    assert err.to_dict() == {"error_code": "INTERNAL_ERROR", "message": err.message, "error_class": "MissingExtra"}


@pytest.mark.parametrize(("module", "extra"), [("json", "x"), ("os.path", "x"), ("pytest", "dev"), ("numpy", "data")])
def test_require_passes_for_importable_module(module: str, extra: str) -> None:
    assert require(module, extra) is None


def test_require_raises_missing_extra_naming_the_extra() -> None:
    with pytest.raises(MissingExtra) as info:
        require("dockyard_no_such_module_xyz", "s3")
    assert info.value.package == "dockyard_no_such_module_xyz"
    assert info.value.extra == "s3"
    assert "pip install 'dockyard[s3]'" in info.value.message


def test_require_raises_missing_extra_for_missing_submodule_of_present_package() -> None:
    with pytest.raises(MissingExtra, match=r"dockyard\[data\]"):
        require("dockyard.no_such_submodule_xyz", "data")


def test_require_dotted_module_with_missing_parent_raises_missing_extra() -> None:
    with pytest.raises(MissingExtra, match=r"dockyard\[onnx\]"):
        require("dockyard_no_such_pkg_xyz.sub", "onnx")


@pytest.mark.parametrize("cls", SIMPLE, ids=[c.__name__ for c in SIMPLE])
def test_simple_errors_survive_pickle(cls: type[DockyardError]) -> None:
    err = cls("boom")
    back = pickle.loads(pickle.dumps(err))  # noqa: S301  unpickles only what it just pickled
    assert type(back) is cls
    assert back.message == "boom"


@pytest.mark.parametrize("clone", [copy.copy, lambda e: pickle.loads(pickle.dumps(e))], ids=["copy", "pickle"])  # noqa: S301  unpickles only what it just pickled
def test_missing_extra_survives_copy_and_pickle(clone) -> None:  # type: ignore[no-untyped-def]
    back = clone(MissingExtra("pandas", "data"))
    assert (back.package, back.extra) == ("pandas", "data")
    assert back.message == MissingExtra("pandas", "data").message


def test_invalid_filter_survives_pickle() -> None:
    err = InvalidFilter("bad", text="a = ", position=3)
    back = pickle.loads(pickle.dumps(err))  # noqa: S301  unpickles only what it just pickled
    assert type(back) is InvalidFilter
    assert (back.message, back.text, back.position) == ("bad (at position 3 of 'a = ')", "a = ", 3)
