"""URLs of a tenant host (<slug>.<BASE_DOMAIN> or a custom domain). There is no /admin/ here."""

from django.urls import path

from shared_apps.core import views as core_views
from tenant_apps.workspace import views as workspace_views

urlpatterns = [
    path("", workspace_views.home, name="home"),
    path("login/", core_views.LoginView.as_view(), name="login"),
    path("logout/", core_views.LogoutView.as_view(), name="logout"),
]
