"""The one place that reads the environment.

Every setting that varies between machines comes from here, so docs/deployment.md's configuration table and the code
cannot drift apart: each variable is read once, with its default, below.
"""

from __future__ import annotations

from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()

# A developer may keep overrides in .env at the project root (never committed).
_dotenv = BASE_DIR / ".env"
if _dotenv.is_file():
    environ.Env.read_env(str(_dotenv))
