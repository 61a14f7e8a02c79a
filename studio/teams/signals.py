"""Every account gets a personal team, and losing access reaches open sockets at once.

Membership changes and deactivations may come from the team pages, a service, the admin or a
cascade; the handlers here see them all. Once the change commits, the user's channel group is
told `access.changed`; each of their sockets re-checks its access and closes if it is gone.
"""

from django.contrib.auth.models import User
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from studio.teams.live import access_changed
from studio.teams.models import Membership
from studio.teams.selectors import user_group_name
from studio.teams.services import personal_team_ensure


@receiver(post_save, sender=User)
def user_saved(
    sender, instance: User, created: bool, raw: bool = False, update_fields=None, **kwargs
) -> None:
    if raw:
        return
    if created:
        personal_team_ensure(user=instance)
    elif (not instance.is_active or not instance.is_staff) and (
        update_fields is None or set(update_fields) - {"last_login"}
    ):
        # Deactivated, or possibly no longer staff: sockets that needed it close. (A login
        # only stamps last_login; it changes no one's access.)
        access_changed(user_group_name(instance.pk))


@receiver(post_save, sender=Membership)
def membership_saved(sender, instance: Membership, created: bool, **kwargs) -> None:
    if not created:
        access_changed(user_group_name(instance.user_id))


@receiver(post_delete, sender=Membership)
def membership_deleted(sender, instance: Membership, **kwargs) -> None:
    access_changed(user_group_name(instance.user_id))
