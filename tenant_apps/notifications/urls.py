"""Notifications, under /notifications/ on a workspace host (config/urls_tenants.py)."""

from django.urls import path

from tenant_apps.notifications import views

urlpatterns = [
    path("", views.notification_list, name="notifications"),
    path("bell/", views.notification_bell, name="notifications_bell"),
    path("read-all/", views.notifications_read_all, name="notifications_read_all"),
    path("<int:notification_id>/read/", views.notification_read, name="notification_read"),
    path("preferences/", views.notification_preferences, name="notification_preferences"),
    path("unsubscribe/<str:token>/", views.notification_unsubscribe, name="notification_unsubscribe"),
    path("mentions/<int:project_id>/", views.mention_complete, name="mention_complete"),
    path("follow/<int:project_id>/<int:task_id>/", views.task_follow, name="task_follow"),
]
