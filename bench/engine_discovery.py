"""What finding engines costs per request: every catalogue model installed, warm caches.

    .venv/bin/python bench/engine_discovery.py [--calls 200]

The web process asks which engines can run on every page with a prompt form and every
/v1/models call, and the worker on every job, so installed models are discovered by
stat-ing the models directory and each manifest rather than read from disk each time.
Lays out every catalogue entry (configs and manifest, no weights) under a temporary
STUDIO_MODELS_DIR and prints milliseconds per call.
"""

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "studio.settings")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=200)
    args = parser.parse_args()
    import django

    django.setup()
    from django.conf import settings

    from generation import catalogue, modelstore
    from studio.jobs import engines

    root = Path(tempfile.mkdtemp(prefix="engine-discovery-"))
    for name in catalogue.CATALOGUE:
        path = root / name
        path.mkdir()
        (path / "model_index.json").write_text(json.dumps({"_class_name": "WanPipeline"}))
        modelstore.write_manifest(
            path,
            {"name": name, "hub_id": "x/y", "revision": "main", "installed_at": "",
             "bytes": 0, "files": 0},
        )  # fmt: skip
    settings.STUDIO_MODELS_DIR = root
    engines.machine_facts()  # Imports torch once, as the first request of a process does.

    def per_call(fn) -> float:
        fn()
        start = time.perf_counter()
        for _ in range(args.calls):
            fn()
        return (time.perf_counter() - start) / args.calls * 1e3

    print(f"{len(engines.installed_models())} installed catalogue models")
    for fn in (engines.engine_configs, engines.available_engines, engines.engine_statuses):
        print(f"{fn.__name__}(): {per_call(fn):.3f} ms")


if __name__ == "__main__":
    main()
