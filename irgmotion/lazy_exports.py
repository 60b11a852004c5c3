"""Package names that load their module on first use (PEP 562), so importing a package stays light."""
from __future__ import annotations

import importlib


def lazy_exports(package: str, exports: dict[str, str]):
    """A module `__getattr__` for `package` serving each name from its submodule, and the matching `__all__`.

    exports: {name: submodule relative to the package}."""
    def __getattr__(name: str):
        if name not in exports:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(f".{exports[name]}", package), name)
    return __getattr__, list(exports)
