"""Load the example customer-service bot (``examples/customer_service``) for the demo.

The example is not part of the installed package: it is found next to the package in a source
checkout (``make install`` installs in editable mode) or at ``AVATAR_AGENT_EXAMPLE``.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path
from types import ModuleType

__all__ = ["find_example", "load_example"]

_ENV = "AVATAR_AGENT_EXAMPLE"
_NAME = "customer_service"


def find_example(path: str | Path | None = None) -> Path:
    """Locate the example package folder.

    Args:
        path: Explicit folder; wins over ``AVATAR_AGENT_EXAMPLE`` and the source checkout.

    Returns:
        The folder (it holds ``__init__.py`` and ``bot.py``).

    Raises:
        FileNotFoundError: Naming the places tried.
    """
    tried = [Path(p) for p in (path, os.environ.get(_ENV)) if p]
    tried.append(Path(__file__).resolve().parents[2] / "examples" / _NAME)
    for p in tried:
        if (p / "__init__.py").is_file() and (p / "bot.py").is_file():
            return p
    raise FileNotFoundError(
        f"example bot not found: pass --example DIR or set {_ENV} (tried: "
        f"{', '.join(map(str, tried))})"
    )


def load_example(path: str | Path | None = None) -> ModuleType:
    """Import the example as the package ``customer_service`` (idempotent).

    Args:
        path: See :func:`find_example`.

    Returns:
        The package module; its submodules (``bot``, ``tts``, ``stt``...) import normally.
    """
    if _NAME in sys.modules:
        return sys.modules[_NAME]
    folder = find_example(path)
    spec = importlib.util.spec_from_file_location(
        _NAME, folder / "__init__.py", submodule_search_locations=[str(folder)]
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[_NAME] = module
    spec.loader.exec_module(module)
    return module
