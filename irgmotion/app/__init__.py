"""The web studio (`irgmotion serve`): a thin shell over one loaded `MotionReasoner`.

    from irgmotion import MotionReasoner
    from irgmotion.app import create_app
    app = create_app(MotionReasoner.from_pretrained())   # a Starlette app: uvicorn serves it, TestClient tests it

`irgmotion.app.server` holds the HTTP layer (JSON endpoints, limits, the batching model worker); `static/` the page
(three.js, vendored). The server needs the optional extra `serve` (Starlette and uvicorn); importing this package
does not, so the command line can say what to install.
"""
from __future__ import annotations

import importlib.util

from ..lazy_exports import lazy_exports

SERVER_PACKAGES = ("starlette", "uvicorn")
INSTALL_HINT = "pip install 'irgmotion[serve]'"


class MissingExtras(ImportError):
    """The server's optional dependencies are not installed; the message says what to install."""


def require_extras() -> None:
    """Raise MissingExtras (one line naming the packages and the install command) unless the server can run."""
    missing = []
    for name in SERVER_PACKAGES:
        try:
            found = importlib.util.find_spec(name) is not None
        except (ImportError, ValueError):  # a module set to None in sys.modules, or a broken one
            found = False
        if not found:
            missing.append(name)
    if missing:
        verb = "is" if len(missing) == 1 else "are"
        raise MissingExtras(f"irgmotion serve needs {' and '.join(missing)}, which {verb} not installed: {INSTALL_HINT}")


__getattr__, _lazy = lazy_exports(__name__, {"create_app": "server", "Studio": "server", "BackgroundServer": "server"})
__all__ = [*_lazy, "MissingExtras", "require_extras"]
