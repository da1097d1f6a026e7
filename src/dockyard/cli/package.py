"""``dockyard package MODEL_URI --output DIR``: a self-contained serving bundle of one model.

The CLI builds the settings and a Client (the store and registry the URI is resolved against) and calls
:func:`dockyard.packaging.package_model`; it prints what was written, the bundle's size, its environment's
installed size and the biggest packages in it. Refusals (an unknown URI, a model whose files changed since
registration, a model that cannot convert to ONNX, an output folder that exists) end with one
``Error: ...`` line and exit code 1, and leave no folder behind.
"""

from __future__ import annotations

from pathlib import Path

import click

from dockyard.cli.common import CONTEXT_SETTINGS, build_client, tracking_uri_option
from dockyard.cli.serve import model_trust_options
from dockyard.packaging.bundle import TARGETS


@click.command("package", context_settings=CONTEXT_SETTINGS)
@click.argument("model_uri", metavar="MODEL_URI")
@click.option(
    "--output",
    "-o",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="The bundle's folder (must not exist, unless --force).",
)
@click.option(
    "--target",
    "targets",
    multiple=True,
    type=click.Choice(TARGETS),
    help="Also write: docker (Dockerfile), kubernetes (k8s/ manifests), zipapp (NAME.pyz). Repeatable.",
)
@click.option(
    "--onnx",
    is_flag=True,
    help="Convert the model (scikit-learn, XGBoost, LightGBM) to ONNX and serve it with onnxruntime alone; "
    "refused if its predictions differ from the original's.",
)
@click.option("--force", is_flag=True, help="Replace the output folder if it exists.")
@click.option(
    "--image",
    default=None,
    metavar="IMAGE",
    help="The image the Dockerfile builds and the Kubernetes manifests run [default: NAME:VERSION].",
)
@click.option(
    "--exclude-requirement",
    "exclude",
    multiple=True,
    metavar="NAME",
    help="Leave this package of the model's recorded requirements out of requirements.txt (repeatable).",
)
@click.option(
    "--onnx-tolerance",
    default=1e-4,
    show_default=True,
    type=click.FloatRange(0, 1),
    help="Relative tolerance of the ONNX check (absolute: 1e-5): predictions and probabilities must agree.",
)
@click.option(
    "--replicas",
    default=2,
    show_default=True,
    type=click.IntRange(1, 1000),
    help="Replicas in the Kubernetes manifests (the autoscaler's minimum).",
)
@model_trust_options
@tracking_uri_option
def package(
    model_uri: str,
    output: Path,
    targets: tuple[str, ...],
    onnx: bool,
    force: bool,
    image: str | None,
    exclude: tuple[str, ...],
    onnx_tolerance: float,
    replicas: int,
    allow_pickle: bool,
    trusted_types: tuple[str, ...],
    tracking_uri: str | None,
) -> None:
    """Write a self-contained serving bundle of MODEL_URI into --output.

    MODEL_URI is any model URI: models:/NAME/VERSION, models:/NAME@ALIAS, models:/m-ID, runs:/RUN_ID/PATH,
    or a model folder. The bundle holds the model (checked against its registered digest), requirements.txt
    with exact pins, Dockyard's serving modules and a serve script; see docs/packaging.md.
    """
    from dockyard.packaging.bundle import PackageOptions, package_model
    from dockyard.packaging.sizes import size_report

    client = build_client(tracking_uri)
    options = PackageOptions(
        output=output,
        targets=tuple(dict.fromkeys(targets)),
        onnx=onnx,
        force=force,
        allow_pickle=allow_pickle or client.settings.allow_pickle,
        trusted_types=tuple(trusted_types),
        image=image,
        exclude=tuple(exclude),
        onnx_rtol=onnx_tolerance,
        replicas=replicas,
    )
    bundle = package_model(model_uri, options, client=client)
    what = f"{bundle.name} version {bundle.version}" if bundle.version else bundle.name
    click.echo(f"Packaged {what} into {bundle.path}: {', '.join(bundle.files)}")
    for note in bundle.notes:
        click.echo(note)
    click.echo(size_report(bundle.path, bundle.environment))
    click.echo(f"Run it: sh {bundle.path}/scripts/install VENV && PATH=VENV/bin:$PATH {bundle.path}/serve")
