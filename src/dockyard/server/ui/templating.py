"""The Jinja2 environment of the UI: templates from ``templates/``, autoescaped, with a few filters.

Static files are linked with :func:`static_url`, which appends a hash of the file's content, so they can be
cached for a year (``/static`` answers with ``immutable``) and a new release is still fetched at once.

>>> format_duration(3_723_000)
'1h 2m 3s'
>>> format_number(0.123456789), format_number(12345678.9), format_number(3.0)
('0.1235', '1.235e+07', '3')
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

HERE = Path(__file__).parent
STATIC = HERE / "static"
TEMPLATES = HERE / "templates"

# The pages' policy: scripts and styles from this server only. Inline style attributes are allowed because
# ECharts and uPlot set them on the elements they draw; no inline script runs, nothing is framed.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


@functools.cache
def _digest(path: str) -> str:
    file = (STATIC / path).resolve()
    if not file.is_relative_to(STATIC.resolve()) or not file.is_file():
        raise ValueError(f"static_url: no static file {path!r}")
    return hashlib.sha256(file.read_bytes()).hexdigest()[:12]


def static_url(path: str) -> str:
    """``/static/<path>?v=<content hash>``."""
    return f"/static/{path}?v={_digest(path)}"


def format_time(ms: int | None) -> str:
    if ms is None:
        return ""
    return dt.datetime.fromtimestamp(ms / 1000, tz=dt.UTC).strftime("%Y-%m-%d %H:%M:%S")


def format_duration(ms: int | None) -> str:
    if ms is None or ms < 0:
        return ""
    seconds = ms // 1000
    if seconds < 60:
        return f"{ms / 1000:.1f}s"
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h {minutes}m {secs}s"
    return f"{minutes}m {secs}s"


def format_number(value: Any) -> str:
    """A metric for a table: integers as they are, others to four significant digits."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return "" if value is None else str(value)
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return f"{value:.4g}"


def format_bytes(size: int | None) -> str:
    if size is None:
        return ""
    amount = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if amount < 1024 or unit == "GB":
            return f"{amount:.0f} {unit}" if unit == "B" else f"{amount:.1f} {unit}"
        amount /= 1024
    return str(size)


def url_with(base: str, params: dict[str, Any], **changes: Any) -> str:
    """``base`` with the query ``params`` updated by ``changes`` (None removes a key; lists repeat it)."""
    merged = {**params, **changes}
    pairs: list[tuple[str, str]] = []
    for key, value in merged.items():
        if value is None or value == "" or value == []:
            continue
        for item in value if isinstance(value, (list, tuple)) else [value]:
            pairs.append((key, str(item)))
    return base + ("?" + urlencode(pairs) if pairs else "")


@functools.cache
def environment() -> Any:
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=True,
        undefined=jinja2.StrictUndefined,  # a misspelt name fails the page (and its test), not renders blank
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals.update(static_url=static_url, url_with=url_with)
    env.filters.update(
        time=format_time,
        duration=format_duration,
        number=format_number,
        bytes=format_bytes,
        urlpart=lambda value: quote(str(value), safe=""),
    )
    return env


def render_template(name: str, context: dict[str, Any]) -> str:
    return str(environment().get_template(name).render(context))
