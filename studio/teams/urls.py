from django.urls import path

from studio.teams import views

urlpatterns = [
    path("teams/", views.team_list, name="team-list"),
    path("teams/<int:pk>/", views.team_detail, name="team-detail"),
    path("teams/<int:pk>/rename/", views.team_rename_view, name="team-rename"),
    path("teams/<int:pk>/ai-mark/", views.team_ai_mark_view, name="team-ai-mark"),
    path("teams/<int:pk>/delete/", views.team_delete_view, name="team-delete"),
    path("teams/<int:pk>/leave/", views.team_leave_view, name="team-leave"),
    path("teams/<int:pk>/transfer/", views.team_transfer_view, name="team-transfer"),
    path("teams/<int:pk>/members/<int:mid>/role/", views.member_role_view, name="member-role"),
    path(
        "teams/<int:pk>/members/<int:mid>/remove/", views.member_remove_view, name="member-remove"
    ),
    path("teams/<int:pk>/invite/link/", views.invite_link_create_view, name="invite-link-create"),
    path("teams/<int:pk>/invite/user/", views.invite_user_create_view, name="invite-user-create"),
    path(
        "teams/<int:pk>/invitations/<int:iid>/revoke/",
        views.invitation_revoke_view,
        name="invitation-revoke",
    ),
    path("invitations/<int:iid>/accept/", views.invitation_accept_view, name="invitation-accept"),
    path(
        "invitations/<int:iid>/decline/", views.invitation_decline_view, name="invitation-decline"
    ),
    path("invite/<str:token>/", views.invite_link, name="invite-link"),
]
