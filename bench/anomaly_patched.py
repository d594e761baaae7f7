"""bench/anomaly.py with module constants of the engine patched, for screening code-level rules.

    PATCH="models.config.MAX_DEFAULT_EPOCHS=40;models.preprocessing._MAX_SHRINK=1.5" \
        python bench/anomaly_patched.py --only hourglass --seed 0 --no-calibration --json x.json

Each `module.NAME=value` is set before the first fit (a value with a dot is a float, else an
int); everything after is bench/anomaly.py's command line. Screening only: a rule that is kept
becomes an engine change of its own, measured again with the plain command.
"""

from __future__ import annotations

import importlib
import os
import sys

from anomaly import main


def patch(spec: str) -> None:
    """Apply `module.NAME=value;…`."""
    for item in filter(None, spec.split(";")):
        key, value = item.split("=")
        module, name = key.rsplit(".", 1)
        setattr(importlib.import_module(module), name, float(value) if "." in value else int(value))


if __name__ == "__main__":
    patch(os.environ.get("PATCH", ""))
    main(sys.argv[1:])
