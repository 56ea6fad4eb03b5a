"""The benchmark's URLconf: one view, the same for every way of routing."""

from django.urls import path

from bench.views import two_queries

urlpatterns = [path("bench/", two_queries)]
