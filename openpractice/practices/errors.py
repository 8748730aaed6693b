class PracticeError(Exception):
    """A rule about practices, locations or members was broken; the message says which."""

    def __init__(self, message: str, *, field: str | None = None, code: str = "invalid"):
        super().__init__(message)
        self.message = message
        self.field = field
        self.code = code
