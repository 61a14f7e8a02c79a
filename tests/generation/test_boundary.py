"""`generation/` is a plain library: it must never reach into the web side."""

import ast
import json
import subprocess
import sys
from pathlib import Path

import generation

FORBIDDEN = {"django", "studio", "rq", "django_rq", "channels", "channels_redis"}
PACKAGE = Path(generation.__file__).parent
ROOT = PACKAGE.parent


def imported_roots(path: Path) -> set[str]:
    """Top-level names of every import in a file, including imports inside functions."""
    roots = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
    return roots


def test_imported_roots_sees_lazy_imports(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text("import os\n\ndef f():\n    from django.conf import settings\n")
    assert imported_roots(sample) == {"os", "django"}


def test_no_generation_module_imports_the_web_side():
    files = sorted(PACKAGE.rglob("*.py"))
    assert PACKAGE / "spec.py" in files
    offenders = {
        str(path.relative_to(ROOT)): sorted(imported_roots(path) & FORBIDDEN)
        for path in files
        if imported_roots(path) & FORBIDDEN
    }
    assert offenders == {}


def test_importing_every_generation_module_loads_no_web_framework():
    script = """
import importlib, json, pkgutil, sys
import generation
names = ["generation"]
for info in pkgutil.walk_packages(generation.__path__, "generation."):
    importlib.import_module(info.name)
    names.append(info.name)
roots = {name.split(".")[0] for name in sys.modules}
print(json.dumps({"modules": names, "loaded": sorted(roots)}))
"""
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert "generation.spec" in report["modules"]
    assert "generation.video" in report["modules"]
    assert sorted(set(report["loaded"]) & FORBIDDEN) == []
