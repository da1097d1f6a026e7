"""The validation report: ``validation.json`` (the whole result) and ``validation.html`` (a readable page:
the verdict, each rule, the metrics of the candidate and the baseline side by side as a table and a bar
chart, the data checks against the training profile, and a confusion matrix or an actual-vs-predicted
plot). The page is self-contained (inline CSS and SVG, no script), and every value is escaped."""

from __future__ import annotations

import json
import math
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dockyard.delivery.validation import ValidationResult

CSS = """
body{font-family:system-ui,sans-serif;margin:2rem;color:#1f2328;max-width:1100px}
h1{font-size:1.4rem}h2{font-size:1.1rem;margin-top:2rem}
table{border-collapse:collapse;margin:.5rem 0}td,th{border:1px solid #d0d7de;padding:.3rem .6rem;text-align:left}
th{background:#f6f8fa}.pass{color:#1a7f37;font-weight:600}.fail{color:#cf222e;font-weight:600}
.num{text-align:right;font-variant-numeric:tabular-nums}.muted{color:#656d76}
"""


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        return f"{value:.6g}"
    return str(value)


def _verdict(ok: bool) -> str:
    return '<span class="pass">PASS</span>' if ok else '<span class="fail">FAIL</span>'


def _bars(metrics: dict[str, float], baseline: dict[str, float]) -> str:
    """Grouped horizontal bars for the metrics in [0, 1] (scores), candidate and baseline."""
    names = [k for k, v in metrics.items() if 0.0 <= v <= 1.0 and "(" not in k and "latency" not in k]
    if not names:
        return ""
    row, width = 22, 300
    height = row * len(names) * (2 if baseline else 1) + 10
    parts = [f'<svg width="{width + 260}" height="{height}" role="img" aria-label="metrics">']
    y = 5
    for name in names:
        for label, value, color in (
            ("candidate", metrics.get(name), "#0969da"),
            ("baseline", baseline.get(name), "#8c959f"),
        ):
            if label == "baseline" and not baseline:
                continue
            length = 0 if value is None else max(0.0, min(1.0, value)) * width
            parts.append(f'<text x="0" y="{y + 14}" font-size="12">{escape(name)} ({label})</text>')
            parts.append(f'<rect x="180" y="{y + 3}" width="{length:.1f}" height="14" fill="{color}"/>')
            parts.append(f'<text x="{185 + length:.1f}" y="{y + 14}" font-size="11">{escape(_fmt(value))}</text>')
            y += row
    parts.append("</svg>")
    return "".join(parts)


def _scatter(points: list[list[float]]) -> str:
    if not points:
        return ""
    xs = [p[0] for p in points] + [p[1] for p in points]
    low, high = min(xs), max(xs)
    span = (high - low) or 1.0
    size = 320

    def at(v: float) -> float:
        return 10 + (v - low) / span * (size - 20)

    dots = "".join(f'<circle cx="{at(a):.1f}" cy="{size - at(p):.1f}" r="2" fill="#0969da"/>' for a, p in points)
    diagonal = f'<line x1="10" y1="{size - 10}" x2="{size - 10}" y2="10" stroke="#8c959f"/>'
    return f'<svg width="{size}" height="{size}" role="img" aria-label="actual vs predicted">{diagonal}{dots}</svg>'


def _confusion(extras: dict[str, Any]) -> str:
    data = extras.get("confusion")
    if not data:
        return ""
    classes = data["classes"]
    head = "".join(f"<th>{escape(c)}</th>" for c in classes)
    rows = "".join(
        f"<tr><th>{escape(c)}</th>" + "".join(f'<td class="num">{n}</td>' for n in line) + "</tr>"
        for c, line in zip(classes, data["matrix"], strict=True)
    )
    intro = "<h2>Confusion matrix</h2><p class='muted'>rows: actual, columns: predicted</p>"
    return f"{intro}<table><tr><th></th>{head}</tr>{rows}</table>"


def render_html(result: ValidationResult) -> str:
    title = f"Validation of {result.model_uri}"
    rules = "".join(
        f"<tr><td><code>{escape(r.rule)}</code></td><td class='num'>{escape(_fmt(r.value))}</td>"
        f"<td class='num'>{escape(_fmt(r.baseline_value))}</td><td>{_verdict(r.passed)}</td>"
        f"<td class='muted'>{escape(r.detail or '')}</td></tr>"
        for r in result.results
    )
    skipped = "".join(
        f"<li><code>{escape(s)}</code>: nothing holds the target yet, no baseline</li>" for s in result.skipped
    )
    names = list(result.metrics) + [k for k in result.baseline_metrics if k not in result.metrics]
    metrics = "".join(
        f"<tr><td>{escape(k)}</td><td class='num'>{escape(_fmt(result.metrics.get(k)))}</td>"
        f"<td class='num'>{escape(_fmt(result.baseline_metrics.get(k)))}</td></tr>"
        for k in names
    )
    drift = ""
    if result.drift is not None:
        lines = "".join(
            f"<tr><td>{escape(c.column)}</td><td>{escape(c.kind)}</td><td class='num'>{escape(_fmt(c.psi))}</td>"
            f"<td class='num'>{escape(_fmt(c.p_value))}</td><td class='num'>{c.null_rate:.1%}</td>"
            f"<td>{'<span class=fail>drift</span>' if c.drifted else 'ok'}</td>"
            f"<td>{escape('; '.join(c.reasons))}</td></tr>"
            for c in result.drift.columns
        )
        missing = "".join(f"<li>{escape(m)}</li>" for m in result.drift.missing)
        drift = (
            "<h2>Data against the training profile</h2><table><tr><th>Column</th><th>Kind</th><th>PSI</th>"
            f"<th>p-value</th><th>Nulls</th><th>Status</th><th>Why</th></tr>{lines}</table>"
            + (f"<p>Columns of the profile missing from the data:</p><ul>{missing}</ul>" if missing else "")
        )
    elif not result.data.get("profile"):
        drift = (
            "<h2>Data against the training profile</h2><p class='muted'>The model was logged without training "
            "data: no profile to compare with.</p>"
        )
    baseline = escape(result.baseline_uri or "none")
    plot = _scatter(result.extras.get("points", []))
    return (
        f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{escape(title)}</title>"
        f"<style>{CSS}</style></head><body><h1>{escape(title)} {_verdict(result.passed)}</h1>"
        f"<p>Task: {escape(result.task)} &middot; baseline: <code>{baseline}</code> &middot; "
        f"data: {escape(str(result.data.get('source')))} ({result.data.get('rows')} rows, "
        f"sha256 <code>{escape(str(result.data.get('digest'))[:16])}</code>)</p>"
        "<h2>Rules</h2><table><tr><th>Rule</th><th>Value</th><th>Baseline</th><th>Outcome</th><th>Note</th></tr>"
        f"{rules}</table>"
        + (f"<p>Not checked:</p><ul>{skipped}</ul>" if skipped else "")
        + "<h2>Metrics</h2><table><tr><th>Metric</th><th>Candidate</th><th>Baseline</th></tr>"
        f"{metrics}</table>{_bars(result.metrics, result.baseline_metrics)}"
        f"{_confusion(result.extras)}"
        + (f"<h2>Actual vs predicted</h2>{plot}" if plot else "")
        + f"{drift}</body></html>"
    )


def write_report(result: ValidationResult, folder: Path) -> list[Path]:
    """Write ``validation.json`` and ``validation.html`` into ``folder``; returns their paths."""
    json_path, html_path = folder / "validation.json", folder / "validation.html"
    json_path.write_text(json.dumps(json_safe(result.to_dict()), indent=2, sort_keys=True), encoding="utf-8")
    html_path.write_text(render_html(result), encoding="utf-8")
    return [json_path, html_path]


def json_safe(value: Any) -> Any:
    """``value`` with NaN and infinities as None (JSON has neither)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    return value


def render_markdown(result: ValidationResult) -> str:
    """A Markdown summary of the comparison (for a pull-request comment): verdict, rules, metrics side by side."""
    verdict = "passed" if result.passed else "**failed**"
    who = f"`{result.name}` version {result.version}" if result.name else f"`{result.model_uri}`"
    base = f"version {result.baseline_version}" if result.baseline_version else (result.baseline_uri or "none")
    lines = [
        f"### Validation of {who}: {verdict}",
        "",
        f"Baseline: {base} · data: {result.data.get('rows')} rows (sha256 `{str(result.data.get('digest'))[:12]}`)",
        "",
        "| Rule | Value | Baseline | Outcome |",
        "|---|---:|---:|---|",
    ]
    for r in result.results:
        outcome = "✅ pass" if r.passed else "❌ fail" + (f" ({r.detail})" if r.detail else "")
        lines.append(f"| `{r.rule}` | {_fmt(r.value)} | {_fmt(r.baseline_value)} | {outcome} |")
    lines += ["", "| Metric | Candidate | Baseline |", "|---|---:|---:|"]
    for name, value in result.metrics.items():
        lines.append(f"| {name} | {_fmt(value)} | {_fmt(result.baseline_metrics.get(name))} |")
    if result.drift is not None and result.drift.drifted:
        lines += ["", "Drift against the training profile: " + ", ".join(c.column for c in result.drift.drifted)]
    return "\n".join(lines) + "\n"
