"""URLs of the root domain: the public site and the operators' admin."""

from django.contrib import admin
from django.urls import path

from shared_apps.core import views

admin.site.site_header = "Atrium operators"
admin.site.site_title = "Atrium operators"
admin.site.index_title = "Platform"

urlpatterns = [
    path("", views.landing, name="landing"),
    path("workspaces/", views.workspaces, name="workspaces"),
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
]
