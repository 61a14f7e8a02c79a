"""Dependencies between the studio's apps point one way: no app depends on one that
depends on it, by import or by a model relation (a string reference is still a dependency).

The generation core (`studio.jobs`: Prompt, Generation, Clip, submit/claim/finish/cancel,
clip publishing, the engine edge) sits below prompts, gallery, keys, api and the
workspace pages; projects and teams sit below it.
"""

import ast
from pathlib import Path

import studio

PACKAGE = Path(studio.__file__).parent


def _unit(module: str) -> str:
    """The app a module belongs to (`studio.jobs.models` → `jobs`), or the top-level module."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def _module_name(path: Path) -> str:
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
    return ".".join(parts)


def imported_studio_modules(path: Path, module: str | None = None) -> set[str]:
    """Every `studio.*` module a file imports: at the top, inside functions, under TYPE_CHECKING."""
    here = (module or _module_name(path)).split(".")
    package = here if path.name == "__init__.py" else here[:-1]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("studio."))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            if module == "studio":
                found.update(f"studio.{a.name}" for a in node.names)
            elif module.startswith("studio."):
                found.add(module)
    return found


def model_relations() -> set[tuple[str, str]]:
    """(app, app) for every relation between studio models, string references included."""
    from django.apps import apps

    found = set()
    for model in apps.get_models():
        source = model._meta.app_config.name
        for field in model._meta.get_fields():
            if field.is_relation and field.concrete and field.related_model is not None:
                target = field.related_model._meta.app_config.name
                if source.startswith("studio.") and target.startswith("studio."):
                    found.add((_unit(source), _unit(target)))
    return found


def app_graph() -> dict[str, set[str]]:
    """Which app each app depends on: by Python imports and by model relations."""
    graph: dict[str, set[str]] = {}
    for path in PACKAGE.rglob("*.py"):
        if "migrations" in path.parts:
            continue
        unit = _unit(_module_name(path))
        edges = graph.setdefault(unit, set())
        edges.update(_unit(m) for m in imported_studio_modules(path) if _unit(m) != unit)
    for source, target in model_relations():
        if source != target:
            graph.setdefault(source, set()).add(target)
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """A cycle as a path that returns to its start, or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done.
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return path[path.index(nxt) :] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_find_cycle_reports_a_cycle_and_accepts_a_layering():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) is None


def test_imports_are_read_from_every_kind_of_import(tmp_path):
    found = imported_studio_modules(PACKAGE / "jobs" / "services.py")
    assert "studio.jobs.models" in found
    assert "studio.projects.services" in found
    lazy = tmp_path / "lazy.py"
    lazy.write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from studio.api import auth\n"
        "def f():\n    import studio.gallery.views\n    from ..keys import models\n"
    )
    found = imported_studio_modules(lazy, module="studio.prompts.lazy")
    assert found == {"studio.api", "studio.gallery.views", "studio.keys"}


def test_model_relations_are_seen_without_an_import():
    relations = model_relations()
    assert ("jobs", "projects") in relations  # Generation.project
    assert ("keys", "teams") in relations  # ApiKey.team


def test_no_app_dependency_cycle():
    graph = app_graph()
    assert {"teams", "projects", "jobs", "prompts", "gallery", "api"} <= set(graph)
    assert find_cycle(graph) is None


def test_generation_core_depends_only_on_projects_and_teams():
    graph = app_graph()
    assert graph["jobs"] <= {"projects", "teams", "media"}, graph["jobs"]
    # The apps built on the core reach it, never the other way round.
    for app in ("prompts", "gallery", "api", "workspace"):
        assert "jobs" in graph[app], app
