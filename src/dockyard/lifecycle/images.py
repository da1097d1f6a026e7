"""Images as run artifacts, as MLflow logs them: ``log_image``.

Two forms, as in MLflow:

- ``artifact_file="plots/sample.png"``: the image saved as that file, in the format its suffix names;
- ``key="predictions", step=3``: an image series. Each call writes
  ``images/<key>+step+<step>+timestamp+<ms>+<uuid>.png`` and a copy at most 256 pixels on its longest
  side (``...+compressed.webp``), and sets the run tag ``mlflow.loggedImages``: the names and the tag
  MLflow's UI reads (a ``/`` in the key becomes ``~``, so the files stay in one folder).

An image is a ``PIL.Image.Image`` or a numpy array: ``H x W`` or ``H x W x 1`` (grayscale), ``H x W x 3``
(RGB), ``H x W x 4`` (RGBA), of bools, integers in [0, 255] or floats in [0, 1] (floats outside are
rescaled with a warning, as MLflow does). Needs Pillow.
"""

from __future__ import annotations

import io
import re
import sys
import uuid
import warnings
from typing import TYPE_CHECKING, Any

from dockyard.artifacts.base import check_artifact_path
from dockyard.core.clock import now_ms
from dockyard.core.errors import InvalidParameter, MissingExtra

if TYPE_CHECKING:
    from dockyard.tracking.client import TrackingClient

LOGGED_IMAGES_TAG = "mlflow.loggedImages"
THUMBNAIL_SIZE = 256  # longest side, in pixels, of the compressed copy MLflow's UI shows in its charts
_KEY = re.compile(r"^[A-Za-z0-9_\-./ ]+$")
_CHANNELS = (1, 3, 4)


def _pil() -> Any:
    try:
        from PIL import Image
    except ImportError:
        raise MissingExtra("Pillow", "data") from None
    return Image


def _from_array(array: Any) -> Any:
    import numpy as np

    kind = array.dtype.kind
    if kind not in "biuf":
        raise InvalidParameter(f"image: arrays of {array.dtype} are not images (use bool, integers or floats)")
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] not in _CHANNELS):
        raise InvalidParameter(
            f"image: shape {tuple(array.shape)} is not an image (use H x W, or H x W x 1, 3 or 4 channels)"
        )
    if array.size == 0:
        raise InvalidParameter(f"image: shape {tuple(array.shape)} has no pixels")
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    if kind == "b":
        pixels = array.astype(np.uint8) * 255
    elif kind in "iu":
        smallest, largest = int(array.min()), int(array.max())
        if smallest < 0 or largest > 255:
            raise InvalidParameter(f"image: integer pixels must be in [0, 255], found {smallest} to {largest}")
        pixels = array.astype(np.uint8)
    else:
        low, high = float(array.min()), float(array.max())
        values = array.astype(np.float64)
        if low < 0.0 or high > 1.0:
            warnings.warn(
                f"log_image: float pixels outside [0, 1] (found {low} to {high}) are rescaled to [0, 1]",
                UserWarning,
                stacklevel=4,
            )
            values = (values - low) / (high - low) if high > low else np.zeros_like(values)
        pixels = np.round(values * 255).astype(np.uint8)
    return _pil().fromarray(pixels)  # uint8: H x W is "L", 3 channels "RGB", 4 "RGBA"


def to_pil_image(image: Any) -> Any:
    """``image`` (a PIL image or a numpy array) as a PIL image; InvalidParameter for anything else."""
    pil = _pil()
    if isinstance(image, pil.Image):
        return image
    numpy = sys.modules.get("numpy")  # an array means numpy is imported already
    if numpy is not None and isinstance(image, numpy.ndarray):
        return _from_array(image)
    raise InvalidParameter(f"image must be a numpy array or a PIL image, got {type(image).__name__}")


def _encode(image: Any, fmt: str) -> bytes:
    buffer = io.BytesIO()
    if fmt in ("JPEG", "WEBP") and image.mode not in ("RGB", "RGBA", "L"):
        image = image.convert("RGBA" if fmt == "WEBP" else "RGB")
    if fmt == "JPEG" and image.mode == "RGBA":
        image = image.convert("RGB")
    image.save(buffer, format=fmt)
    return buffer.getvalue()


def _format_for(path: str) -> str:
    suffix = "." + path.rsplit(".", 1)[-1].lower() if "." in path.rsplit("/", 1)[-1] else ""
    fmt = _pil().registered_extensions().get(suffix)
    if fmt is None:
        raise InvalidParameter(f"artifact_file {path!r}: no image format for the suffix {suffix or '(none)'!r}")
    return str(fmt)


def thumbnail(image: Any) -> Any:
    """A copy of ``image`` whose longest side is at most :data:`THUMBNAIL_SIZE` pixels."""
    copy = image.copy()
    copy.thumbnail((THUMBNAIL_SIZE, THUMBNAIL_SIZE))
    return copy


def log_image(
    client: TrackingClient,
    run_id: str,
    image: Any,
    artifact_file: str | None = None,
    key: str | None = None,
    step: int | None = None,
    timestamp: int | None = None,
    synchronous: bool = True,
) -> None:
    """Log ``image`` as ``artifact_file``, or as step ``step`` of the image series ``key``."""
    if artifact_file is not None and (key is not None or step is not None or timestamp is not None):
        raise InvalidParameter("log_image: give artifact_file alone, or key (with step and timestamp), not both")
    if artifact_file is None and key is None:
        raise InvalidParameter("log_image: give artifact_file (a static image) or key (an image series)")
    picture = to_pil_image(image)

    def write(path: str, data: bytes) -> None:
        if synchronous:
            client.artifact_store(run_id).write_bytes(path, data)
        else:
            client.write_artifact_in_background(run_id, path, data)

    if artifact_file is not None:
        path = check_artifact_path(artifact_file, field="artifact_file")
        write(path, _encode(picture, _format_for(path)))
        return
    assert key is not None  # noqa: S101  # narrowing for mypy: checked above
    if not _KEY.match(key):
        raise InvalidParameter(
            f"key {key!r}: use letters, digits, underscores, dashes, periods, spaces and slashes only"
        )
    if step is not None and (isinstance(step, bool) or not isinstance(step, int)):
        raise InvalidParameter(f"step must be an integer, got {step!r}")
    if timestamp is not None and (isinstance(timestamp, bool) or not isinstance(timestamp, int)):
        raise InvalidParameter(f"timestamp must be an integer (milliseconds), got {timestamp!r}")
    stem = f"images/{key.replace('/', '~')}+step+{step or 0}+timestamp+{now_ms() if timestamp is None else timestamp}"
    stem = f"{stem}+{uuid.uuid4()}"
    files = {f"{stem}.png": _encode(picture, "PNG"), f"{stem}+compressed.webp": _encode(thumbnail(picture), "WEBP")}
    for path, data in files.items():
        write(path, data)
    client.set_tag(run_id, LOGGED_IMAGES_TAG, "True", synchronous=synchronous)
