"""The one ``__init__`` convention: a package docstring that maps the package, a sorted ``__all__``, and public
names resolved on first use from the module that defines them.

A package ``__init__.py`` reads::

    _WHERE = {"Dataset": "skyfence.data.registry", "path": "skyfence.data.store"}
    __all__ = ["Dataset", "path"]  # the keys of _WHERE, sorted as ruff sorts them (a test checks)
    __getattr__, __dir__ = lazy_exports(__name__, _WHERE)
    if TYPE_CHECKING:  # let type checkers and IDEs see the real objects
        from skyfence.data.registry import Dataset
        ...

so importing a package costs nothing until a name is used (``skyfence --help`` stays fast), and submodules are
reachable as attributes (``skyfence.data.store``) like with a plain package.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["lazy_exports"]


def lazy_exports(package: str, where: Mapping[str, str]) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``__getattr__`` and ``__dir__`` for ``package``: name -> ``getattr(import_module(where[name]), name)``."""

    def __getattr__(name: str) -> Any:
        module = where.get(name)
        if module is None:
            try:
                return importlib.import_module(f"{package}.{name}")
            except ModuleNotFoundError as error:
                if error.name != f"{package}.{name}":
                    raise
                raise AttributeError(f"module {package!r} has no attribute {name!r}") from None
        value = getattr(importlib.import_module(module), name)
        setattr(sys.modules[package], name, value)  # resolve once
        return value

    def __dir__() -> list[str]:
        return sorted(set(vars(sys.modules[package])) | set(where))

    return __getattr__, __dir__
