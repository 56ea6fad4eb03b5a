"""Errors users can hit carry a human message; pages, the API and commands render them the same way everywhere."""


class ApplicationError(Exception):
    def __init__(self, message: str, *, extra: dict[str, object] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.extra = extra or {}
