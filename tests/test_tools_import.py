"""Tools outside the test suite use the emulator without dragging pytest in."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]


def test_bench_imports_the_emulator_without_pytest() -> None:
    probe = (
        "import sys, bench.intake, bench.outbound, bench.outbox_throughput, bench.common; "
        "assert 'tgemulator' in sys.modules; "
        "assert 'pytest' not in sys.modules, sorted(m for m in sys.modules if 'pytest' in m)"
    )
    completed = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
