"""One way of the routing benchmark, in its own process: serves the view through Django's WSGI handler on command.

Protocol (stdin/stdout, one JSON line each): {"run": N, "hosts": [...], "count": bool} → {"seconds": s,
"statements": k}. The requests cycle through `hosts`. Timed runs do not count statements (counting patches psycopg and
would add its own cost); counting runs are separate. Started by bench/routing.py with DJANGO_SETTINGS_MODULE set to
the way's settings.
"""

from __future__ import annotations

import io
import json
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> None:
    import django

    django.setup()
    from django.core.handlers.wsgi import WSGIHandler

    from shared_apps.core.statements import count_statements

    handler = WSGIHandler()
    statuses: list[str] = []

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        statuses.append(status)
        return None

    def request(host: str) -> None:
        environ = {
            "REQUEST_METHOD": "GET",
            "PATH_INFO": "/bench/",
            "QUERY_STRING": "",
            "SERVER_NAME": host,
            "SERVER_PORT": "80",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "HTTP_HOST": host,
            "REMOTE_ADDR": "127.0.0.1",
            "wsgi.input": io.BytesIO(b""),
            "wsgi.errors": sys.stderr,
            "wsgi.url_scheme": "http",
            "wsgi.version": (1, 0),
            "wsgi.multithread": False,
            "wsgi.multiprocess": True,
            "wsgi.run_once": False,
        }
        body = handler(environ, start_response)
        for _ in body:
            pass
        body.close()

    for line in sys.stdin:
        command = json.loads(line)
        hosts: list[str] = command["hosts"]
        n: int = command["run"]
        statuses.clear()
        statements: list[str] = []
        if command.get("count"):
            with count_statements() as log:
                started = time.perf_counter()
                for i in range(n):
                    request(hosts[i % len(hosts)])
                seconds = time.perf_counter() - started
            statements = log.statements
        else:
            started = time.perf_counter()
            for i in range(n):
                request(hosts[i % len(hosts)])
            seconds = time.perf_counter() - started
        bad = [s for s in statuses if not s.startswith("200")]
        reply = {"seconds": seconds, "statements": len(statements), "errors": len(bad), "first_error": bad[:1]}
        reply["sample"] = statements[:8]
        print(json.dumps(reply), flush=True)


if __name__ == "__main__":
    main()
