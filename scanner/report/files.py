"""Writing one output file: JSON as every report writes it (sorted keys where it matters, UTF-8)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def write_json(path: Path, data: Any) -> Path:
    # ensure_ascii=False keeps non-ASCII names intact; default=str covers datetimes.
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n",
                    encoding="utf-8")
    return path
