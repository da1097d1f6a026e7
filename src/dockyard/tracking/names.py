"""Random, readable run names ("brave-otter-417") for runs created without one.

>>> import random
>>> name = random_run_name(random.Random(0))
>>> len(name.split("-"))
3
"""

from __future__ import annotations

import random

_ADJECTIVES = (  # noqa: SIM905  a word list reads better as prose than as 58 quoted strings
    "amber agile bold brave bright calm clever cosmic crisp dapper eager fancy fast fearless gentle "
    "glossy golden grand happy honest humble jolly keen kind lively lucky merry mighty nimble noble "
    "patient polite proud quick quiet rapid rare regal robust rustic shiny silent sleek smooth snappy "
    "spry steady stellar sturdy sunny swift tidy upbeat vivid warm wise witty zesty"
).split()
_NOUNS = (  # noqa: SIM905  a word list reads better as prose than as 54 quoted strings
    "anchor badger beacon bison buoy canoe capstan cedar comet compass crane dinghy dolphin falcon "
    "ferry finch galleon gull harbor heron hull jetty kayak keel kestrel lantern lark lynx marlin "
    "mast narwhal orca osprey otter pelican pier puffin quay raven reef rudder sail schooner seal "
    "sloop sparrow starling tern tide trawler walrus wharf whale yacht"
).split()

_rng = random.SystemRandom()


def random_run_name(rng: random.Random | None = None) -> str:
    r = rng or _rng
    return f"{r.choice(_ADJECTIVES)}-{r.choice(_NOUNS)}-{r.randint(0, 999)}"
