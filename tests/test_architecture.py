"""The layout's rules, checked rather than remembered: the reading library
never imports TensorFlow, and each wing imports only the ones below it
(import-linter contracts in pyproject.toml)."""

from __future__ import annotations

import subprocess
import sys

from conftest import ROOT

LINT = "import sys; from importlinter.cli import lint_imports; sys.exit(lint_imports())"


def test_import_contracts_hold():
    result = subprocess.run([sys.executable, "-c", LINT], cwd=ROOT, capture_output=True, text=True,
                            timeout=120, check=False)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "2 kept, 0 broken" in result.stdout


def test_a_tensorflow_import_in_the_reading_library_would_break_a_contract(tmp_path):
    """The contract can fail: copy the package, slip a Keras import into the
    pipeline, and lint the copy."""
    import shutil

    copy = tmp_path / "src"
    shutil.copytree(ROOT / "src" / "digitcli", copy / "digitcli", symlinks=True)
    pipeline = copy / "digitcli" / "reading" / "pipeline.py"
    pipeline.write_text(pipeline.read_text() + "\nimport keras  # noqa\n")
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    result = subprocess.run([sys.executable, "-c", LINT], cwd=tmp_path, capture_output=True, text=True,
                            timeout=120, check=False, env={"PYTHONPATH": str(copy), "PATH": "/usr/bin:/bin"})
    assert result.returncode != 0
    assert "digitcli.reading.pipeline -> keras" in result.stdout
