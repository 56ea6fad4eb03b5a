"""Projects, tasks, comments and documents as the API shows them: the API's serializers render with these functions
and the event stream records the same shapes, so a webhook receiver reads what the API answers. (What the reader may
do with a project, `permissions`, depends on who reads: the API adds it, events leave it out.)"""

from __future__ import annotations

from typing import Any

from shared_apps.accounts.representations import day, moment, person
from tenant_apps.projects.models import Comment, Document, Label, Project, Task


def project_data(project: Project) -> dict[str, Any]:
    return {
        "id": project.pk,
        "name": project.name,
        "description": project.description,
        "visibility": project.visibility,
        "archived": project.is_archived,
        "archived_at": moment(project.archived_at),
        "created_by": person(project.created_by),
        "created_at": moment(project.created_at),
        "updated_at": moment(project.updated_at),
        "open_task_count": int(getattr(project, "open_task_count", 0)),
        "done_task_count": int(getattr(project, "done_task_count", 0)),
    }


def task_data(task: Task) -> dict[str, Any]:
    return {
        "id": task.pk,
        "project": task.project_id,
        "title": task.title,
        "description": task.description,
        "status": task.status,
        "position": task.position,
        "assignee": person(task.assignee),
        "due_date": day(task.due_date),
        "created_by": person(task.created_by),
        "created_at": moment(task.created_at),
        "updated_at": moment(task.updated_at),
        "comment_count": int(getattr(task, "comment_count", 0)),
        "labels": [label_data(label) for label in task.labels.all()],
    }


def label_data(label: Label) -> dict[str, Any]:
    return {"id": label.pk, "name": label.name, "color": label.color}


def comment_data(comment: Comment) -> dict[str, Any]:
    return {
        "id": comment.pk,
        "task": comment.task_id,
        "author": person(comment.author),
        "body": comment.body,
        "created_at": moment(comment.created_at),
        "edited_at": moment(comment.edited_at),
    }


def document_data(document: Document) -> dict[str, Any]:
    return {
        "id": document.pk,
        "project": document.project_id,
        "task": document.task_id,
        "name": document.name,
        "file_type": document.file_type,
        "content_type": document.content_type,
        "size": document.size,
        "width": document.width,
        "height": document.height,
        "status": document.status,
        "thumbnail": document.thumbnail_status == "ready",
        "uploaded_by": person(document.uploaded_by),
        "created_at": moment(document.created_at),
        "confirmed_at": moment(document.confirmed_at),
    }
