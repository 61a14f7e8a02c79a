"""The export job: claimed and recorded by studio.jobs; this runs the edit and stores it."""

import tempfile
from contextlib import ExitStack
from pathlib import Path

from generation import edit, video
from generation.spec import GenerationError, Progress
from studio import media
from studio.jobs.models import Generation
from studio.storyboards.services import export_store


def _local(stack: ExitStack, name: str, what: str) -> str:
    try:
        return str(stack.enter_context(media.local_copy(name)))
    except FileNotFoundError:
        raise GenerationError(
            f"The {what} this export reads is gone; it was deleted.", code="input_missing"
        ) from None


def run_export(generation: Generation, progress: Progress) -> None:
    recipe = generation.recipe
    with ExitStack() as stack:
        shots = tuple(
            edit.Shot(
                path=_local(stack, s["path"], f"take of shot {i}"),
                trim_in=s["trim_in"],
                trim_out=s["trim_out"],
                transition=s["transition"],
                transition_s=s["transition_s"],
                text=s["text"],
            )
            for i, s in enumerate(recipe["shots"], start=1)
        )
        soundtrack = None
        if recipe.get("soundtrack"):
            soundtrack = edit.Soundtrack(_local(stack, recipe["soundtrack"], "soundtrack"))
        plan = edit.EditPlan(
            shots=shots,
            preset=edit.ExportPreset.named(
                recipe["export_format"], fps=recipe["fps"], fit=recipe["fit"]
            ),
            title=edit.Card(recipe["title"]) if recipe.get("title") else None,
            end=edit.Card(recipe["end"]) if recipe.get("end") else None,
            soundtrack=soundtrack,
            scaler=recipe.get("scaler", "lanczos"),
            seed=int(recipe.get("seed") or 0),
        )
        tags = dict(recipe, engine=generation.engine, generation_id=str(generation.pk))
        tmp = stack.enter_context(tempfile.TemporaryDirectory(prefix="studio-edit-"))
        result = edit.assemble(
            plan,
            Path(tmp) / "film.mp4",
            progress=progress,
            metadata=video.recipe_metadata(tags),
        )
        export_store(generation=generation, path=Path(result.path), notes=result.notes)
