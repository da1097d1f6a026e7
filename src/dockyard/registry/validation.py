"""Input rules for the registry, with MLflow's names, limits and reserved words.

Every error names the field and the reason.

>>> check_alias("champion")
'champion'
>>> check_alias("v2")
Traceback (most recent call last):
...
dockyard.core.errors.InvalidParameter: alias 'v2' is reserved: 'v<number>' names a version in models:/NAME@v<number>
>>> check_version("3")
3
>>> check_stage("production")
<Stage.PRODUCTION: 'Production'>
"""

from __future__ import annotations

import re
from collections.abc import Collection
from typing import Any

from dockyard.core import validation as cv
from dockyard.core.errors import InvalidParameter
from dockyard.registry.entities import Stage, WebhookStatus
from dockyard.registry.webhook_destinations import AllowedHosts, check_url

MAX_MODEL_NAME_LENGTH = 256
MAX_TAG_VALUE_LENGTH = 100_000  # MLflow's MAX_MODEL_REGISTRY_TAG_VALUE_LENGTH
MAX_ALIAS_LENGTH = 255
MAX_DESCRIPTION_LENGTH = 100_000
MAX_SEARCH_MODELS = 1000
MAX_SEARCH_VERSIONS = 200_000
MAX_EVENTS_PAGE = 10_000
MAX_WEBHOOKS_PAGE = 1000
MAX_DELIVERIES_PAGE = 10_000

_ALIAS = re.compile(r"[\w\-]+")
_VERSION_ALIAS = re.compile(r"[vV]\d+")
LATEST = "latest"


def check_model_name(name: Any, field: str = "name") -> str:
    """MLflow's rule: not empty, no '/' or ':' (they would break ``models:/NAME/...`` URIs)."""
    if not isinstance(name, str):
        raise InvalidParameter(f"registered model {field} must be a string, got {type(name).__name__}")
    if not name.strip():
        raise InvalidParameter(f"Missing value for required parameter '{field}'")
    if "/" in name or ":" in name:
        raise InvalidParameter(f"Invalid model name {name!r}: names cannot contain '/' or ':'")
    if len(name) > MAX_MODEL_NAME_LENGTH:
        raise InvalidParameter(
            f"registered model {field} is {len(name)} characters; the limit is {MAX_MODEL_NAME_LENGTH}"
        )
    return name


def check_version(version: Any, field: str = "version") -> int:
    """A version number: an int or a string of digits (the wire form), at least 1."""
    if isinstance(version, bool):
        raise InvalidParameter(f"{field} must be an integer, got a boolean")
    if isinstance(version, int):
        number = version
    elif isinstance(version, str) and version.strip().isdigit():
        number = int(version.strip())
    else:
        raise InvalidParameter(f"Parameter '{field}' must be an integer, got {version!r}")
    if not 1 <= number < 2**31:
        raise InvalidParameter(f"{field} {number} is not a valid version number (1 or more)")
    return number


def check_alias(alias: Any, *, for_write: bool = True) -> str:
    """Letters, digits, '_' and '-'; at most 255 characters. For writes, ``latest`` (any case) and
    ``v<number>`` are reserved, because ``models:/NAME@latest`` and ``@v3`` already mean versions."""
    if not isinstance(alias, str) or not alias:
        raise InvalidParameter("Registered model alias name cannot be empty")
    if not _ALIAS.fullmatch(alias):
        raise InvalidParameter(
            f"Invalid alias name {alias!r}: names may only contain letters, digits, underscores (_) and dashes (-)"
        )
    if len(alias) > MAX_ALIAS_LENGTH:
        raise InvalidParameter(f"alias is {len(alias)} characters; the limit is {MAX_ALIAS_LENGTH}")
    if for_write:
        if alias.lower() == LATEST:
            raise InvalidParameter("alias 'latest' (in any case) is reserved: it means the highest version")
        if _VERSION_ALIAS.fullmatch(alias):
            raise InvalidParameter(
                f"alias {alias!r} is reserved: 'v<number>' names a version in models:/NAME@v<number>"
            )
    return alias


def check_stage(stage: Any, field: str = "stage") -> Stage:
    if not isinstance(stage, (str, Stage)):
        raise InvalidParameter(f"{field} must be a string, got {type(stage).__name__}")
    try:
        return Stage.parse(stage)
    except ValueError as exc:
        raise InvalidParameter(f"{field}: {exc}") from None


def check_tag(key: Any, value: Any, what: str) -> tuple[str, str]:
    """A tag key follows the tracking rules; a value may be up to 100,000 characters."""
    if value is None:
        raise InvalidParameter(f"{what} {key!r}: tag value cannot be None")
    return cv.check_key(key, f"{what} key"), cv.check_string(value, f"{what} {key!r} value", MAX_TAG_VALUE_LENGTH)


def check_tags(tags: Any, what: str) -> dict[str, str]:
    """A dict, or a list of objects with ``key`` and ``value`` (MLflow's tag entities)."""
    if tags is None:
        return {}
    if isinstance(tags, dict):
        items = list(tags.items())
    elif isinstance(tags, (list, tuple)):
        items = [(getattr(t, "key", None), getattr(t, "value", None)) for t in tags]
    else:
        raise InvalidParameter(f"{what}s must be a dict of key -> value")
    return dict(check_tag(k, v, what) for k, v in items)


def check_description(description: Any, field: str = "description") -> str | None:
    if description is None:
        return None
    return cv.check_string(description, field, MAX_DESCRIPTION_LENGTH)


def check_optional_text(value: Any, field: str, limit: int) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise InvalidParameter(f"{field} must be a string, got {type(value).__name__}")
    return cv.check_string(value, field, limit)


def check_user(user: Any) -> str:
    return cv.check_string(user, "user_id", 256, allow_empty=False)


def check_webhook_url(url: Any, allowed: AllowedHosts | None = None) -> str:
    """An absolute ``http(s)://`` URL with a host, without credentials, not naming a non-public address
    unless ``allowed`` lists it (see :mod:`~dockyard.registry.webhook_destinations`; DNS is checked when
    a delivery is sent)."""
    return check_url(url, allowed or AllowedHosts())


def check_webhook_events(events: Any, known: Collection[str]) -> list[str]:
    """A non-empty list of known event names (``model_version.created``...), without repeats."""
    if isinstance(events, str) or not isinstance(events, (list, tuple)) or not events:
        raise InvalidParameter(f"webhook events must be a non-empty list, from: {', '.join(known)}")
    unknown = [e for e in events if e not in known]
    if unknown:
        raise InvalidParameter(f"unknown webhook event(s) {', '.join(map(str, unknown))}; known: {', '.join(known)}")
    return list(dict.fromkeys(events))


def check_webhook_status(status: Any) -> WebhookStatus:
    try:
        return WebhookStatus(str(status).upper())
    except ValueError:
        raise InvalidParameter(f"webhook status {status!r} must be ACTIVE or DISABLED") from None
