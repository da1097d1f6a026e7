"""Dockyard's exception tree.

Every error a caller can act on is a class here. Each class carries the HTTP status the server answers
with and the MLflow ``error_code`` it puts in the JSON envelope, so that the official ``mlflow`` client
understands it and Dockyard's remote client can decode it back into the same class::

    DockyardError                                  500 INTERNAL_ERROR
    ├── InvalidParameter                           400 INVALID_PARAMETER_VALUE
    │   ├── InvalidFilter                          400 INVALID_PARAMETER_VALUE (names the position)
    │   ├── InvalidArtifactPath                    400 INVALID_PARAMETER_VALUE
    │   ├── ParamValueChanged                      400 INVALID_PARAMETER_VALUE
    │   ├── RunNotActive                           400 INVALID_PARAMETER_VALUE
    │   ├── AliasNotFound                          400 INVALID_PARAMETER_VALUE (as MLflow answers)
    │   ├── UnsupportedModel                       400 INVALID_PARAMETER_VALUE (no flavor saves this object)
    │   ├── InvalidModel                           400 INVALID_PARAMETER_VALUE (a model directory is broken)
    │   │   ├── UnsafeModel                        400 INVALID_PARAMETER_VALUE (loading would run code; not opted in)
    │   │   └── ModelIntegrityError                400 INVALID_PARAMETER_VALUE (files changed since registration)
    │   ├── ModelVersionNotReady                   400 INVALID_PARAMETER_VALUE (promoting a version not READY)
    │   └── NothingToRollBack                      400 INVALID_PARAMETER_VALUE (no earlier holder of the alias)
    ├── BadRequest                                 400 BAD_REQUEST
    │   ├── RequestTooLarge                        413 BAD_REQUEST
    │   ├── ModelInputError                        400 BAD_REQUEST (input does not match the signature)
    │   └── UnsupportedMediaType                   415 BAD_REQUEST (a body's content type: not JSON for the API)
    ├── ResourceNotFound                           404 RESOURCE_DOES_NOT_EXIST
    │   ├── ExperimentNotFound
    │   ├── RunNotFound
    │   ├── ArtifactNotFound
    │   ├── LoggedModelNotFound
    │   ├── TagNotFound
    │   ├── RegisteredModelNotFound
    │   ├── ModelVersionNotFound
    │   └── WebhookNotFound
    ├── InvalidState                               400 INVALID_STATE
    │   ├── GateRefused                            400 INVALID_STATE (an alias/stage move without a passing validation)
    │   └── ModelValidationFailed                  400 INVALID_STATE (dockyard.evaluate's thresholds not met)
    ├── ResourceAlreadyExists                      400 RESOURCE_ALREADY_EXISTS (400, as MLflow answers)
    │   ├── ExperimentAlreadyExists
    │   └── RegisteredModelAlreadyExists
    ├── Unauthenticated                            401 UNAUTHENTICATED (no or wrong credentials)
    ├── PermissionDenied                           403 PERMISSION_DENIED (the caller may not do this)
    ├── MissingExtra                               500 INTERNAL_ERROR (an optional dependency is absent)
    ├── StoreUnavailable                           503 TEMPORARILY_UNAVAILABLE
    │   └── ServerBusy                             503 TEMPORARILY_UNAVAILABLE (too many request bytes in flight)
    ├── LoggingFailed                              500 INTERNAL_ERROR (a background flush failed)
    ├── PredictionFailed                           500 INTERNAL_ERROR (the model raised while predicting)
    ├── PredictionTimeout                          504 DEADLINE_EXCEEDED (a scoring request ran too long)
    └── ReproductionFailed                         500 INTERNAL_ERROR (re-running a run's script failed)

>>> err = RunNotFound("Run 'abc' not found")
>>> (err.http_status, err.error_code)
(404, 'RESOURCE_DOES_NOT_EXIST')
>>> error_class_for("RESOURCE_DOES_NOT_EXIST") is ResourceNotFound
True
"""

from __future__ import annotations

from typing import ClassVar

__all__ = [
    "AliasNotFound",
    "ArtifactNotFound",
    "BadRequest",
    "DockyardError",
    "ExperimentAlreadyExists",
    "ExperimentNotFound",
    "GateRefused",
    "InvalidArtifactPath",
    "InvalidFilter",
    "InvalidModel",
    "InvalidParameter",
    "InvalidState",
    "LoggedModelNotFound",
    "LoggingFailed",
    "MissingExtra",
    "ModelInputError",
    "ModelIntegrityError",
    "ModelValidationFailed",
    "ModelVersionNotFound",
    "ModelVersionNotReady",
    "NothingToRollBack",
    "ParamValueChanged",
    "PermissionDenied",
    "PredictionFailed",
    "PredictionTimeout",
    "RegisteredModelAlreadyExists",
    "RegisteredModelNotFound",
    "ReproductionFailed",
    "RequestTooLarge",
    "ResourceAlreadyExists",
    "ResourceNotFound",
    "RunNotActive",
    "RunNotFound",
    "ServerBusy",
    "StoreUnavailable",
    "TagNotFound",
    "Unauthenticated",
    "UnsafeModel",
    "UnsupportedMediaType",
    "UnsupportedModel",
    "WebhookNotFound",
    "error_class_for",
    "error_from_dict",
    "require",
]


class DockyardError(Exception):
    """Base of every Dockyard error."""

    http_status: ClassVar[int] = 500
    error_code: ClassVar[str] = "INTERNAL_ERROR"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def to_dict(self) -> dict[str, object]:
        """The MLflow JSON error envelope, plus the class name so Dockyard's client can rebuild it.

        MLflow's client reads ``error_code`` and ``message`` and ignores the rest.
        """
        return {"error_code": self.error_code, "message": self.message, "error_class": type(self).__name__}


class InvalidParameter(DockyardError):
    """A value supplied by the caller is wrong: the message names the field and the reason."""

    http_status = 400
    error_code = "INVALID_PARAMETER_VALUE"


class InvalidFilter(InvalidParameter):
    """A search filter or order_by clause that does not parse.

    ``position`` is the 0-based character offset where parsing failed.
    """

    def __init__(self, message: str, *, text: str = "", position: int | None = None) -> None:
        if position is not None:
            message = f"{message} (at position {position} of {text!r})"
        super().__init__(message)
        self.text = text
        self.position = position

    def to_dict(self) -> dict[str, object]:
        return {**super().to_dict(), "position": self.position, "text": self.text}


class InvalidArtifactPath(InvalidParameter):
    """An artifact path that is absolute or escapes its root with '..'."""


class ParamValueChanged(InvalidParameter):
    """A param was logged again with a different value: params are immutable."""


class RunNotActive(InvalidParameter):
    """A write to a run that is deleted (MLflow answers INVALID_PARAMETER_VALUE)."""


class AliasNotFound(InvalidParameter):
    """No version holds the alias. MLflow answers INVALID_PARAMETER_VALUE (400) here, not 404, and its
    clients expect that code, so this is an invalid parameter rather than a missing resource."""


class UnsupportedModel(InvalidParameter):
    """No installed flavor can save this object; the message lists the flavors there are."""


class InvalidModel(InvalidParameter):
    """A model directory or ``MLmodel`` file is missing a file or is corrupted; the message names it."""


class UnsafeModel(InvalidModel):
    """Loading the model would run code from its files (a pickle, ``torch.load`` of a whole module, its
    ``code/`` directory) or build types nobody trusted (skops), and the caller did not opt in; the message
    names the file, the format and the switch."""


class ModelIntegrityError(InvalidModel):
    """A registered version's files differ from the ones it was registered with; the message names the
    first file that differs."""


class ModelVersionNotReady(InvalidParameter):
    """Promoting a model version whose status is not READY (still registering, or failed)."""


class NothingToRollBack(InvalidParameter):
    """A rollback of an alias with no earlier holder to go back to (or whose earlier holder is gone)."""


class BadRequest(DockyardError):
    http_status = 400
    error_code = "BAD_REQUEST"


class RequestTooLarge(BadRequest):
    """A request body over the server's limit (DOCKYARD_MAX_REQUEST_BYTES)."""

    http_status = 413


class ModelInputError(BadRequest):
    """Model input does not match the model's signature; the message names the column and what it expected."""


class UnsupportedMediaType(BadRequest):
    """A body whose content type the endpoint does not take: a scoring request neither JSON nor CSV (MLflow
    answers 415 too), or a tracking server API call with a body that is not ``application/json`` (what a
    browser sends cross-site without asking first)."""

    http_status = 415


class ResourceNotFound(DockyardError):
    http_status = 404
    error_code = "RESOURCE_DOES_NOT_EXIST"


class ExperimentNotFound(ResourceNotFound):
    pass


class RunNotFound(ResourceNotFound):
    pass


class ArtifactNotFound(ResourceNotFound):
    pass


class LoggedModelNotFound(ResourceNotFound):
    pass


class TagNotFound(ResourceNotFound):
    """Deleting a tag that is not set (MLflow answers RESOURCE_DOES_NOT_EXIST)."""


class RegisteredModelNotFound(ResourceNotFound):
    pass


class ModelVersionNotFound(ResourceNotFound):
    """The version does not exist or was deleted."""


class WebhookNotFound(ResourceNotFound):
    pass


class InvalidState(DockyardError):
    """The request is well formed but the resource is not in a state that allows it."""

    http_status = 400
    error_code = "INVALID_STATE"


class GateRefused(InvalidState):
    """An alias or stage move the registered model's gate refuses: the message names each failed or
    missing rule (see :mod:`dockyard.registry.gates`)."""


class ModelValidationFailed(InvalidState):
    """``dockyard.evaluate``: a metric missed one of its ``validation_thresholds`` (MLflow's
    ``ModelValidationFailedException``); the message names each metric, its value and the threshold."""


class ResourceAlreadyExists(DockyardError):
    http_status = 400
    error_code = "RESOURCE_ALREADY_EXISTS"


class ExperimentAlreadyExists(ResourceAlreadyExists):
    pass


class RegisteredModelAlreadyExists(ResourceAlreadyExists):
    pass


class Unauthenticated(DockyardError):
    """No credentials, or credentials the server does not accept (``dockyard server --auth``)."""

    http_status = 401
    error_code = "UNAUTHENTICATED"


class PermissionDenied(DockyardError):
    """The caller is known but lacks the permission the call needs."""

    http_status = 403
    error_code = "PERMISSION_DENIED"


class MissingExtra(DockyardError):
    """An optional dependency is not installed; the message names the extra to install."""

    def __init__(self, package: str, extra: str) -> None:
        super().__init__(f"{package} is required for this; install it with: pip install 'dockyard[{extra}]'")
        self.package = package
        self.extra = extra

    def __reduce__(self) -> tuple[type[MissingExtra], tuple[str, str]]:
        return (MissingExtra, (self.package, self.extra))


class StoreUnavailable(DockyardError):
    http_status = 503
    error_code = "TEMPORARILY_UNAVAILABLE"


class ServerBusy(StoreUnavailable):
    """The scoring server holds as many request bytes as its memory cap allows; retry shortly."""


class LoggingFailed(DockyardError):
    """A background flush of queued metrics, params or tags failed; ``__cause__`` holds the store error."""


class PredictionFailed(DockyardError):
    """The model itself raised while predicting; ``__cause__`` holds its exception."""


class PredictionTimeout(DockyardError):
    """A scoring request took longer than the server's ``--timeout``."""

    http_status = 504
    error_code = "DEADLINE_EXCEEDED"


class ReproductionFailed(DockyardError):
    """``dockyard runs reproduce``: the worktree, the environment or the re-run script failed."""


# The classes the remote client decodes an envelope into, by MLflow error_code.
_BY_CODE: dict[str, type[DockyardError]] = {
    "INVALID_PARAMETER_VALUE": InvalidParameter,
    "BAD_REQUEST": BadRequest,
    "RESOURCE_DOES_NOT_EXIST": ResourceNotFound,
    "RESOURCE_ALREADY_EXISTS": ResourceAlreadyExists,
    "INVALID_STATE": InvalidState,
    "TEMPORARILY_UNAVAILABLE": StoreUnavailable,
    "DEADLINE_EXCEEDED": PredictionTimeout,
    "UNAUTHENTICATED": Unauthenticated,
    "PERMISSION_DENIED": PermissionDenied,
    "INTERNAL_ERROR": DockyardError,
}


def error_class_for(error_code: str) -> type[DockyardError]:
    """The exception class for an MLflow ``error_code`` (``DockyardError`` when unknown)."""
    return _BY_CODE.get(error_code, DockyardError)


def _subclasses(cls: type[DockyardError]) -> dict[str, type[DockyardError]]:
    out = {cls.__name__: cls}
    for sub in cls.__subclasses__():
        out.update(_subclasses(sub))
    return out


def error_from_dict(envelope: dict[str, object], status: int = 500) -> DockyardError:
    """Rebuild the exception a server sent: its own class when it names one of ours, else by code.

    >>> err = error_from_dict(RunNotFound("Run 'x' not found").to_dict())
    >>> type(err).__name__, err.message
    ('RunNotFound', "Run 'x' not found")
    """
    message = str(envelope.get("message", "")) or f"HTTP {status}"
    code = str(envelope.get("error_code", ""))
    cls = _subclasses(DockyardError).get(str(envelope.get("error_class", "")))
    if cls is InvalidFilter:
        bad_filter = InvalidFilter(message)
        position = envelope.get("position")
        bad_filter.position = position if isinstance(position, int) else None
        bad_filter.text = str(envelope.get("text", ""))
        return bad_filter
    if cls is None or cls is MissingExtra or cls.error_code != code:
        cls = error_class_for(code)
    error = cls.__new__(cls)
    DockyardError.__init__(error, message)
    return error


def require(module: str, extra: str) -> None:
    """Raise :class:`MissingExtra` unless ``module`` can be imported."""
    import importlib.util

    try:
        found = importlib.util.find_spec(module)
    except ModuleNotFoundError:  # a parent package is missing
        found = None
    if found is None:
        raise MissingExtra(module, extra)
