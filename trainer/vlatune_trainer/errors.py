"""Errors that end a training run with a protocol ``failed`` event code."""


class TrainerError(Exception):
    """A failure with a ``code`` for the ``failed`` event (``data_error``, ``config_error``, …)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
