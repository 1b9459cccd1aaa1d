"""The package's front door: its docstring example runs, and it imports nothing else of Sésame."""

from __future__ import annotations

import subprocess
import sys

import ledger
from tests.ledger.reference import ROOT


def test_docstring_example_runs() -> None:
    doc = ledger.__doc__ or ""
    example = doc.split("Example::", 1)[1].split("In SQL", 1)[0]
    code = "\n".join(line[4:] for line in example.splitlines())
    exec(compile(code, "ledger/__init__.py docstring", "exec"), {})  # noqa: S102 - our own documentation


def test_ledger_imports_nothing_else_of_sesame() -> None:
    probe = (
        "import sys, ledger, ledger.storage, ledger.models;"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in {'sesame', 'vault', 'company_profiles', 'scanner'});"
        "print(bad); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
