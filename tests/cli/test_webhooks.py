"""dockyard models webhooks add / list / test / deliveries / remove."""

from __future__ import annotations

import json
import socket
import sqlite3
from collections.abc import Callable
from contextlib import closing
from pathlib import Path

import pytest
from click.testing import Result

from dockyard.registry.webhook_secrets import KEY_FILE, PREFIX


def ok(result: Result) -> Result:
    assert result.exit_code == 0, result.output
    return result


def test_webhook_lifecycle(
    cli: Callable[..., Result],
    one_error_line: Callable[[Result], str],
    store_path: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The local receiver is on 127.0.0.1, which webhooks may reach only when allowed.
    monkeypatch.setenv("DOCKYARD_WEBHOOK_ALLOWED_HOSTS", "127.0.0.1")
    with socket.socket() as sock:  # a port nothing listens on once the socket closes
        sock.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{sock.getsockname()[1]}/hook"
    added = ok(cli("models", "webhooks", "add", url, "--event", "model_version.created", "--name", "ci"))
    first, secret_line = added.stdout.splitlines()
    webhook_id = first.split()[2]
    assert first.endswith("(ci) for model_version.created.") and secret_line.startswith("Signing secret (shown once): ")
    ok(cli("models", "webhooks", "add", url, "--event", "model_version_alias.created", "--secret", "s", "--disabled"))
    hooks = json.loads(ok(cli("models", "webhooks", "list", "--json")).stdout)["webhooks"]
    assert [(h["name"], h["status"]) for h in hooks] == [("ci", "ACTIVE"), ("127.0.0.1", "DISABLED")]
    assert hooks[0]["events"] == [{"entity": "MODEL_VERSION", "action": "CREATED"}]
    assert "secret" not in hooks[0]
    with closing(sqlite3.connect(store_path)) as conn:  # encrypted at rest, with a key next to the store
        stored = [row[0] for row in conn.execute("SELECT secret FROM webhooks ORDER BY creation_timestamp")]
    assert all(s.startswith(PREFIX) for s in stored) and secret_line.split()[-1] not in stored[0]
    assert (Path(store_path).parent / KEY_FILE).is_file()
    assert ok(cli("models", "webhooks", "list")).stdout.splitlines()[0].split() == [
        "ID",
        "Name",
        "Status",
        "URL",
        "Events",
    ]

    assert "delivery failed" in one_error_line(cli("models", "webhooks", "test", webhook_id))
    attempts = json.loads(ok(cli("models", "webhooks", "deliveries", webhook_id, "--json")).stdout)["deliveries"]
    assert [(d["event"], d["attempt"], d["status"]) for d in attempts] == [("model_version.created", 1, "failed")]
    table = ok(cli("models", "webhooks", "deliveries", "--max-results", "5")).stdout.splitlines()
    assert table[0].split()[:3] == ["When", "Webhook", "Event"] and "failed" in table[1]

    assert ok(cli("models", "webhooks", "remove", webhook_id)).stdout == f"Removed webhook {webhook_id}.\n"
    assert "not found" in one_error_line(cli("models", "webhooks", "remove", webhook_id))
    assert "model_version.exploded" in one_error_line(
        cli("models", "webhooks", "add", url, "--event", "model_version.exploded")
    )
    assert "http" in one_error_line(cli("models", "webhooks", "add", "ftp://x/y", "--event", "model_version.created"))
    metadata = "http://169.254.169.254/latest/meta-data/"
    assert "not a public address (link-local)" in one_error_line(
        cli("models", "webhooks", "add", metadata, "--event", "model_version.created")
    )
