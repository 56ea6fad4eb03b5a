from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from tenant_apps.projects.selectors import project_list


@login_required
def home(request: HttpRequest) -> HttpResponse:
    projects = list(project_list()[:50])
    return render(request, "tenant/home.html", {"projects": projects})
