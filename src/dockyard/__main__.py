"""``python -m dockyard`` runs the CLI."""

from dockyard.cli import main

if __name__ == "__main__":
    main()
