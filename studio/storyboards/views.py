"""Storyboard pages: thin views over services; htmx requests get the board's shot list back."""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from generation.spec import GenerationError
from studio import media
from studio.ids import parse_ids
from studio.projects.access import check_project_access, get_project_for_user
from studio.storyboards import services
from studio.storyboards.forms import ExportForm, ShotForm, StoryboardCreateForm, StoryboardForm
from studio.storyboards.models import Shot, Storyboard, Take
from studio.teams.selectors import role_allows


def _get_storyboard_for_user(user, pk: int, *, role: str = "viewer") -> Storyboard:
    board = Storyboard.objects.select_related("project__team").filter(pk=pk).first()
    if board is None:
        raise Http404("No such storyboard.")
    check_project_access(user, board.project, role=role)
    return board


def _get_shot_for_user(user, pk: int, *, role: str = "editor") -> Shot:
    shot = Shot.objects.select_related("storyboard__project__team").filter(pk=pk).first()
    if shot is None:
        raise Http404("No such shot.")
    check_project_access(user, shot.storyboard.project, role=role)
    return shot


def _shots(board: Storyboard) -> list[Shot]:
    shots = list(
        board.shots.select_related("chosen__clip").prefetch_related(
            "takes__generation__clip", "takes__generation__prompt"
        )
    )
    for shot in shots:
        shot.used = services.used_take(shot)
    return shots


def _context(board: Storyboard, **extra) -> dict:
    return {
        "board": board,
        "project": board.project,
        "shots": _shots(board),
        "can_edit": role_allows(board.project.user_role, "editor"),
        "exports": services.storyboard_exports(board),
        "export_form": ExportForm(),
        **extra,
    }


def _board_response(request, board: Storyboard, *, errors: dict | None = None, status=200):
    """The shot list for htmx; a redirect to the board without JavaScript."""
    if not request.htmx:
        if errors:
            return render(
                request, "storyboards/detail.html", _context(board, errors=errors), status=400
            )
        return redirect("storyboard-detail", pk=board.pk)
    context = _context(board, errors=errors or {})
    return render(request, "storyboards/detail.html#shots", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def storyboard_list(request, pk: int):
    project = get_project_for_user(request.user, pk)
    form = StoryboardCreateForm(request.POST or None, request.FILES or None)
    if request.method == "POST":
        if not role_allows(project.user_role, "editor"):
            raise PermissionDenied("You need the editor role to create storyboards.")
        if form.is_valid():
            data = form.cleaned_data
            image = ""
            if data.get("product_image"):
                from django.core.files.storage import default_storage

                image = default_storage.save(
                    f"storyboards/{data['product_image'].name}", data["product_image"]
                )
            board = services.storyboard_create(
                project=project,
                user=request.user,
                name=data["name"],
                engine=data["engine"],
                template=data["template"],
                product_name=data["product_name"],
                product_image=image,
            )
            return redirect("storyboard-detail", pk=board.pk)
    boards = project.storyboards.all()
    status = 400 if form.is_bound and form.errors else 200
    context = {
        "project": project,
        "boards": boards,
        "form": form,
        "can_edit": role_allows(project.user_role, "editor"),
    }
    return render(request, "storyboards/list.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def storyboard_detail(request, pk: int):
    board = _get_storyboard_for_user(request.user, pk)
    form = StoryboardForm(request.POST or None, instance=board)
    if request.method == "POST":
        check_project_access(request.user, board.project, role="editor")
        if form.is_valid():
            services.storyboard_update(storyboard=board, data=form.cleaned_data)
            return redirect("storyboard-detail", pk=board.pk)
    status = 400 if form.is_bound and form.errors else 200
    if request.method == "GET" and request.htmx:
        # storyboard.js refetches the shot list when a take's card changes state live.
        return render(request, "storyboards/detail.html#shots", _context(board))
    context = _context(board, form=form, shot_form=ShotForm())
    return render(request, "storyboards/detail.html", context, status=status)


@login_required
@require_POST
def storyboard_delete(request, pk: int):
    board = _get_storyboard_for_user(request.user, pk, role="editor")
    project = board.project
    board.delete()
    return redirect("storyboard-list", pk=project.pk)


@login_required
@require_POST
def shot_add(request, pk: int):
    board = _get_storyboard_for_user(request.user, pk, role="editor")
    form = ShotForm(request.POST, request.FILES)
    if not form.is_valid():
        context = _context(board, form=StoryboardForm(instance=board), shot_form=form)
        return render(request, "storyboards/detail.html", context, status=400)
    services.shot_add(storyboard=board, data=form.cleaned_data)
    return redirect("storyboard-detail", pk=board.pk)


@login_required
@require_http_methods(["GET", "POST"])
def shot_edit(request, pk: int):
    shot = _get_shot_for_user(request.user, pk)
    form = ShotForm(request.POST or None, request.FILES or None, instance=shot)
    if request.method == "POST" and form.is_valid():
        services.shot_update(shot=shot, data=form.cleaned_data)
        return redirect("storyboard-detail", pk=shot.storyboard_id)
    status = 400 if form.is_bound and form.errors else 200
    context = {"shot": shot, "board": shot.storyboard, "project": shot.storyboard.project}
    return render(request, "storyboards/shot_form.html", {**context, "form": form}, status=status)


@login_required
@require_POST
def shot_delete(request, pk: int):
    shot = _get_shot_for_user(request.user, pk)
    board = shot.storyboard
    services.shot_delete(shot=shot)
    return _board_response(request, board)


@login_required
@require_POST
def shot_duplicate(request, pk: int):
    shot = _get_shot_for_user(request.user, pk)
    services.shot_duplicate(shot=shot)
    return _board_response(request, shot.storyboard)


@login_required
@require_POST
def shot_move(request, pk: int):
    shot = _get_shot_for_user(request.user, pk)
    direction = request.POST.get("direction")
    if direction not in ("up", "down"):
        return HttpResponse("Move a shot up or down.", status=400)
    services.shot_move(shot=shot, offset=-1 if direction == "up" else 1)
    return _board_response(request, shot.storyboard)


@login_required
@require_POST
def storyboard_reorder(request, pk: int):
    board = _get_storyboard_for_user(request.user, pk, role="editor")
    given = request.POST.getlist("order")
    order = parse_ids(given)
    if len(order) != len(given):
        return HttpResponse("The order must be a list of shot ids.", status=400)
    try:
        services.storyboard_reorder(storyboard=board, order=order)
    except GenerationError as e:
        return HttpResponse(e.message, status=400)
    return _board_response(request, board)


@login_required
@require_POST
def storyboard_generate(request, pk: int):
    board = _get_storyboard_for_user(request.user, pk, role="editor")
    _, errors = services.storyboard_generate_all(storyboard=board, user=request.user)
    return _board_response(request, board, errors=errors)


@login_required
@require_POST
def shot_generate(request, pk: int):
    shot = _get_shot_for_user(request.user, pk)
    errors = {}
    try:
        services.shot_generate(shot=shot, user=request.user)
    except GenerationError as e:
        errors[shot.pk] = e.message
    return _board_response(request, shot.storyboard, errors=errors)


@login_required
@require_POST
def take_choose(request, pk: int):
    take = (
        Take.objects.select_related("shot__storyboard__project__team", "generation")
        .filter(pk=pk)
        .first()
    )
    if take is None:
        raise Http404("No such take.")
    check_project_access(request.user, take.shot.storyboard.project, role="editor")
    errors = {}
    try:
        services.take_choose(take=take)
    except GenerationError as e:
        errors[take.shot_id] = e.message
    return _board_response(request, take.shot.storyboard, errors=errors)


@login_required
@require_POST
def storyboard_export(request, pk: int):
    board = _get_storyboard_for_user(request.user, pk, role="editor")
    form = ExportForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            services.storyboard_export(
                storyboard=board, user=request.user, soundtrack=form.cleaned_data["soundtrack"]
            )
            return redirect("storyboard-detail", pk=board.pk)
        except GenerationError as e:
            form.add_error("soundtrack" if e.field == "soundtrack" else None, e.message)
    context = _context(board, form=StoryboardForm(instance=board), shot_form=ShotForm())
    context["export_form"] = form
    return render(request, "storyboards/detail.html", context, status=400)


@login_required
def shot_image(request, pk: int):
    shot = _get_shot_for_user(request.user, pk, role="viewer")
    return media.serve(request, shot.image.name)
