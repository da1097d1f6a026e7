"""A third-party flavor registers through the same entry-point group as the built-ins and just works."""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from dockyard.models import flavors, load_model, save_model

PLUGIN = '''
import json
from pathlib import Path

from dockyard.models.flavors import Loaded, SavedFlavor


class Doubler:
    """The "model" a made-up library would have."""

    def __init__(self, factor):
        self.factor = factor


class DoublerFlavor:
    name = "doubler"
    loader_module = "doubler_plugin"
    package = "doubler-plugin"
    version_key = "doubler_version"
    priority = 5

    def handles(self, obj):
        return isinstance(obj, Doubler)

    def save(self, obj, directory, **options):
        (directory / "factor.json").write_text(json.dumps(obj.factor))
        section = {"data": "factor.json", "doubler_version": "0.1"}
        return SavedFlavor(section, {"loader_module": self.loader_module, "data": "factor.json"})

    def load(self, directory, section):
        return Doubler(json.loads((Path(directory) / section["data"]).read_text()))

    def predictor(self, directory, pyfunc, model):
        native = self.load(directory, pyfunc)
        return Loaded(native, lambda data, params=None: [x * native.factor for x in data])


FLAVOR = DoublerFlavor()
'''


@pytest.fixture
def plugin(tmp_path: Path) -> Iterator[object]:
    site = tmp_path / "site"
    site.mkdir()
    (site / "doubler_plugin.py").write_text(PLUGIN)
    dist = site / "doubler_plugin-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: doubler-plugin\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text(
        textwrap.dedent(
            """\
            [dockyard.flavors]
            doubler = doubler_plugin:FLAVOR
            """
        )
    )
    sys.path.insert(0, str(site))
    flavors.reset_cache()
    try:
        import doubler_plugin  # type: ignore[import-not-found]

        yield doubler_plugin
    finally:
        sys.path.remove(str(site))
        sys.modules.pop("doubler_plugin", None)
        flavors.reset_cache()


def test_third_party_flavor_saves_and_loads(tmp_path: Path, plugin: object) -> None:
    assert "doubler" in flavors.flavor_names()
    model = plugin.Doubler(3)  # type: ignore[attr-defined]
    info = save_model(model, tmp_path / "m", input_example=[1, 2], signature=False)
    assert set(info.flavors) == {"doubler", "python_function"}
    assert load_model(tmp_path / "m").predict([1, 2]) == [3, 6]
    assert "dockyard" not in (tmp_path / "m" / "requirements.txt").read_text()  # the runtime is a bundle's business


def test_unknown_objects_still_list_every_flavor(tmp_path: Path, plugin: object) -> None:
    from dockyard.core.errors import UnsupportedModel

    with pytest.raises(UnsupportedModel, match=r"doubler.*sklearn|sklearn.*doubler"):
        save_model(object(), tmp_path / "m")
