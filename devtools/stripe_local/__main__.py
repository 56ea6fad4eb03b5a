"""`python -m devtools.stripe_local --port 12111 [--webhook-url URL] [--webhook-secret …]`: serve until stopped."""

from __future__ import annotations

import argparse
import contextlib
import sys

from devtools.stripe_local.server import serve


def main() -> None:
    parser = argparse.ArgumentParser(description="Stripe-compatible server on loopback (TEST MODE)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=12111)
    parser.add_argument("--webhook-url", default="", help="where signed events are POSTed")
    parser.add_argument("--webhook-secret", default="", help="the whsec_… secret events are signed with")
    parser.add_argument("--state", default="", help="a JSON file the objects are kept in between runs")
    args = parser.parse_args()
    httpd = serve(
        args.host, args.port, webhook_url=args.webhook_url, webhook_secret=args.webhook_secret, state_path=args.state
    )
    print(
        f"local stripe: serving http://{args.host}:{httpd.server_address[1]} (TEST MODE)", file=sys.stderr, flush=True
    )
    with contextlib.suppress(KeyboardInterrupt):
        httpd.serve_forever()


if __name__ == "__main__":
    main()
