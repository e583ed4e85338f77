"""Import a file of ``scripts/`` as a module (the folder is not a package, by design).

Importing this puts ``scripts/`` first on ``sys.path``, as ``python scripts/<name>.py`` does, so
the scripts and the tests import ``lab``.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

SCRIPTS = Path(__file__).resolve().parents[1] / "scripts"
if str(SCRIPTS) not in sys.path:
    sys.path.insert(0, str(SCRIPTS))


def load_script(name: str) -> ModuleType:
    """``scripts/<name>.py``, executed fresh as a module called ``<name>_script``."""
    spec = importlib.util.spec_from_file_location(f"{name}_script", SCRIPTS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


CONFIG_DIR = SCRIPTS / "configs"
