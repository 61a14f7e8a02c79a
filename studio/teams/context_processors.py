"""What every page's navigation needs from teams: the count of invitations waiting for me."""

from functools import cache

from studio.teams.selectors import invitations_pending_for


def pending_invitations(request) -> dict:
    """`pending_invitation_count` for the Teams link: a callable the template calls, so the one
    COUNT query runs only when a page shows the navigation (htmx fragments never do)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}

    @cache
    def count() -> int:
        return invitations_pending_for(user).count()

    return {"pending_invitation_count": count}
