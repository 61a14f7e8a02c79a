"""Signals other apps (above projects) listen to, so projects need not import them."""

from django.dispatch import Signal

project_moved = Signal()
"""Sent inside `project_move`'s transaction with `project` (now in its new team) and
`from_team_id`. Receivers' writes commit or roll back with the move."""
