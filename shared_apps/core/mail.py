"""Development email: one line per message on the console, the whole message in a file.

`make run` sends real emails' worth of text (the demo's welcome email, invitations, sign-in codes). Printed in full
they bury the server's output; here each message is written to `EMAIL_FILE_PATH` (`.data/mail/` by default) as an
.eml file any mail client opens, and the console gets one line: to whom, the subject, the code or first link it
carries (what a developer needs to go on), and the file.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from django.conf import settings
from django.core.mail import EmailMessage
from django.core.mail.backends.base import BaseEmailBackend
from django.utils import timezone
from django.utils.text import slugify

_CODE = re.compile(r"^\s*([A-Z0-9]{4}-[A-Z0-9]{4}|[A-Z0-9]{6})\s*$", re.MULTILINE)
_LINK = re.compile(r"https?://[^\s<>\"']+")


def _hint(body: str) -> str:
    code = _CODE.search(body)
    if code:
        return f"code {code.group(1)}"
    link = _LINK.search(body)
    return link.group(0) if link else ""


class SummaryEmailBackend(BaseEmailBackend):
    def __init__(
        self,
        *,
        file_path: str | None = None,
        stream: TextIO | None = None,
        fail_silently: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(fail_silently=fail_silently, **kwargs)
        self.directory = Path(file_path or getattr(settings, "EMAIL_FILE_PATH", "") or ".data/mail")
        self.stream: TextIO = stream or sys.stdout

    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        self.directory.mkdir(parents=True, exist_ok=True)
        sent = 0
        for message in email_messages:
            stamp = timezone.now().strftime("%Y%m%d-%H%M%S-%f")
            path = self.directory / f"{stamp}-{slugify(message.subject)[:50] or 'message'}.eml"
            path.write_bytes(message.message().as_bytes(linesep="\n"))
            hint = _hint(str(message.body))
            line = f"[mail] to {', '.join(message.to)}: {message.subject}" + (f" · {hint}" if hint else "")
            self.stream.write(f"{line}  ({path})\n")
            self.stream.flush()
            sent += 1
        return sent
