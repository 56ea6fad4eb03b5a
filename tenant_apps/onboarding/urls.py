"""The guided start, under /start/ on a workspace host (config/urls_tenants.py)."""

from django.urls import path

from tenant_apps.onboarding import views

urlpatterns = [
    path("checklist/", views.checklist, name="start_checklist"),
    path("checklist/dismiss/", views.checklist_dismiss, name="start_checklist_dismiss"),
    path("trial/", views.trial, name="start_trial"),
]
