"""Which folders are demo folders: a module of its own, so that the CLI can tell without loading the generators."""

from __future__ import annotations

from pathlib import Path

__all__ = ["demo_folder"]


def demo_folder(folder: str | Path, area: str) -> Path | None:
    """The folder to write ``area``'s demo into, when ``folder`` is one of its demo folders by name.

    ``demo-data`` (the default demo folder), ``demo-data-<area>`` (an area's own), or a
    service's subfolder of it (``demo-data-derbyshire/changes``, written with the area's
    demo); ``None`` for any other folder, which must never be filled with demo data.
    """
    folder = Path(folder)
    if folder.name in ("demo-data", f"demo-data-{area}"):
        return folder
    if folder.parent.name == f"demo-data-{area}":
        return folder.parent
    return None
