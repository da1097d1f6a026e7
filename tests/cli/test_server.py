from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from dockyard.cli import main
from dockyard.cli.server import ServerOptions, _options, build_app


def test_unusable_backend_is_one_error_line() -> None:
    result = CliRunner().invoke(main, ["server", "--backend-store-uri", "mysql://host/db", "--port", "0"])
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        "Error: tracking_uri 'mysql://host/db': unsupported database (use a path, sqlite:///... or postgresql://...)"
    ]


def test_a_server_cannot_be_the_backend_of_a_server() -> None:
    result = CliRunner().invoke(main, ["server", "--backend-store-uri", "http://other:5000"])
    assert result.exit_code == 2
    assert "not another server" in result.output


def test_options_default_to_the_local_store_and_proxy(tmp_path: Path) -> None:
    options = _options(str(tmp_path / "s.db"), None, None, True)
    assert options.backend_store_uri == f"sqlite:///{tmp_path / 's.db'}"
    assert options.artifacts_destination == str(tmp_path / "artifacts")
    app = build_app(options)
    tracking = app.state.ctx.tracking
    assert tracking.get_experiment("0").artifact_location == "mlflow-artifacts:/0"


def test_without_proxy_experiments_use_the_destination_directly(tmp_path: Path) -> None:
    options = ServerOptions(
        settings=_options(str(tmp_path / "s.db"), None, None, False).settings,
        backend_store_uri=f"sqlite:///{tmp_path / 's.db'}",
        artifacts_destination=str(tmp_path / "dest"),
        default_artifact_root=None,
        serve_artifacts=False,
    )
    app = build_app(options)
    assert app.state.ctx.artifacts is None
    assert app.state.ctx.tracking.get_experiment("0").artifact_location == str(tmp_path / "dest" / "0")
