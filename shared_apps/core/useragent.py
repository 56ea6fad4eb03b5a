"""A person-readable name for a browser from its User-Agent header: "Chrome on Linux", "Safari on iOS".

Only what a sessions list needs (the browser family and the operating system), from the tokens browsers have sent
for years. Order matters: Edge, Opera and Samsung Internet also say "Chrome", Chrome also says "Safari".
"""

from __future__ import annotations

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

UNKNOWN = gettext_lazy("Unknown browser")
MAX_LENGTH = 1024  # longer headers are not browsers worth naming; allauth keeps at most 200 characters anyway

_BROWSERS: tuple[tuple[tuple[str, ...], str], ...] = (
    (("Edg/", "EdgA/", "EdgiOS/", "Edge/"), "Edge"),
    (("OPR/", "OPiOS/", "Opera/"), "Opera"),
    (("SamsungBrowser/",), "Samsung Internet"),
    (("Firefox/", "FxiOS/"), "Firefox"),
    (("HeadlessChrome/",), "Headless Chrome"),
    (("Chrome/", "CriOS/", "Chromium/"), "Chrome"),
    (("Version/",), "Safari"),  # Safari names its own version so; with "Safari/" checked below
)

_SYSTEMS: tuple[tuple[tuple[str, ...], str], ...] = (
    (("iPhone", "iPad", "iPod"), "iOS"),
    (("Android",), "Android"),
    (("Windows",), "Windows"),
    (("CrOS",), "ChromeOS"),
    (("Macintosh", "Mac OS X"), "macOS"),
    (("Linux", "X11"), "Linux"),
)


def _first(ua: str, table: tuple[tuple[tuple[str, ...], str], ...]) -> str | None:
    for tokens, name in table:
        if any(token in ua for token in tokens):
            return name
    return None


def browser_label(user_agent: str | None) -> str:
    """ "Firefox on Windows" for a User-Agent string; "Unknown browser" when no browser can be told from it."""
    ua = (user_agent or "").strip()
    if not ua or len(ua) > MAX_LENGTH or not ua.startswith("Mozilla/") or not ua.isprintable():
        return str(UNKNOWN)
    browser = _first(ua, _BROWSERS)
    if browser == "Safari" and "Safari/" not in ua:
        browser = None
    if browser is None:
        return str(UNKNOWN)
    system = _first(ua, _SYSTEMS)
    return _("%(browser)s on %(system)s") % {"browser": browser, "system": system} if system else browser
