"""The model being served, and how it changes: a holder whose reference is swapped, never mutated.

A :class:`ServedModel` is one loaded version with what it is (registered name and version, logged
model id, run id). The :class:`ModelHolder` keeps the current one; a prediction reads the reference
once and uses that model to the end, so swapping in another version never interrupts a request.

:class:`AliasFollower` polls a lookup (``() -> (model URI, version)``, the registry behind
``models:/name@alias``) and, when the version changes, loads the new one fully (and runs its input
example through it) before swapping the reference. A failed poll or load is logged and the current
version keeps serving: so does a version the loader refuses (a pickle the server was not allowed to
load, files that changed since the version was registered), tried again at the next poll.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dockyard.models.loading import Predictor
    from dockyard.models.signature import Schema

log = logging.getLogger("dockyard.serving")

Lookup = Callable[[], tuple[str, str]]  # -> (model URI to load, registered version)
Loader = Callable[[str], "Predictor"]  # model URI -> loaded predictor (checked: safe to load, files as registered)


@dataclass(frozen=True)
class ServedModel:
    """One loaded model and what it is."""

    predictor: Predictor
    model_uri: str
    name: str | None = None
    version: str | None = None
    loaded_at: float = field(default_factory=time.time)

    @property
    def model_id(self) -> str | None:
        return self.predictor.model_id

    @property
    def run_id(self) -> str | None:
        return self.predictor.run_id

    @property
    def input_schema(self) -> Schema | None:
        signature = self.predictor.signature
        return None if signature is None else signature.inputs

    @property
    def label(self) -> str:
        """What ``/metrics`` and response headers call this version: the registered version, else the id."""
        return self.version or self.model_id or "unversioned"

    def describe(self) -> dict[str, Any]:
        return {
            "model_uri": self.model_uri,
            "model_name": self.name,
            "model_version": self.version,
            "model_id": self.model_id,
            "run_id": self.run_id,
            "flavor": self.predictor.flavor,
            "loaded_at": self.loaded_at,
        }


class ModelHolder:
    """The current :class:`ServedModel`; ``swap`` replaces it in one reference assignment."""

    def __init__(self, model: ServedModel) -> None:
        self._current = model
        self._listeners: list[Callable[[ServedModel, ServedModel], None]] = []

    @property
    def current(self) -> ServedModel:
        return self._current

    def on_swap(self, listener: Callable[[ServedModel, ServedModel], None]) -> None:
        self._listeners.append(listener)

    def swap(self, model: ServedModel) -> None:
        old, self._current = self._current, model
        for listener in self._listeners:
            listener(old, model)


def warm_up(predictor: Predictor) -> None:
    """Run the model's input example through it once, so the first real request pays no lazy setup."""
    try:
        example = predictor.input_example
        if example is not None:
            predictor.predict(example)
    except Exception as exc:  # a model without a usable example still serves; say why it was skipped
        log.warning("warm-up prediction on the input example failed: %s", exc)


class AliasFollower:
    """Polls ``lookup`` every ``interval`` seconds in a daemon thread and swaps in new versions."""

    def __init__(
        self, holder: ModelHolder, lookup: Lookup, loader: Loader, *, interval: float, model_uri: str, name: str
    ) -> None:
        self.holder = holder
        self.lookup = lookup
        self.loader = loader
        self.interval = interval
        self.model_uri = model_uri
        self.name = name
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="dockyard-alias-follower", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.interval + 5)
            self._thread = None

    def check(self) -> bool:
        """One poll: swap if the alias moved. True when a new version was swapped in."""
        source, version = self.lookup()
        if version == self.holder.current.version:
            return False
        predictor = self.loader(source)
        warm_up(predictor)
        previous = self.holder.current.version
        self.holder.swap(ServedModel(predictor, self.model_uri, self.name, version))
        log.warning(
            "%s moved from version %s to %s: now serving version %s", self.model_uri, previous, version, version
        )
        return True

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.check()
            except Exception as exc:  # the registry may be briefly unreachable: keep serving, retry later
                current = self.holder.current.version
                log.warning(
                    "could not check %s for a new version (serving version %s): %s", self.model_uri, current, exc
                )
