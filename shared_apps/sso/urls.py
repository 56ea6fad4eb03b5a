from django.urls import path

from shared_apps.sso import views

urlpatterns = [
    path("", views.start, name="sso_start"),
    path("test/<str:ticket>/", views.test, name="sso_test"),
]
