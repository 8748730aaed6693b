class ProductError(Exception):
    """A rule about products or contract prices was broken; the message says which field."""

    def __init__(self, message: str, *, field: str | None = None, code: str = "invalid"):
        super().__init__(message)
        self.message = message
        self.field = field
        self.code = code
