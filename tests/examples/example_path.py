"""Put ``examples/`` on ``sys.path`` so the example's modules import as ``customer_service``.

Imported first by the tests here (a conftest.py would shadow ``tests/conftest.py``'s helpers).
"""

from __future__ import annotations

import sys
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
if str(EXAMPLES) not in sys.path:
    sys.path.insert(0, str(EXAMPLES))
