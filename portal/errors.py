class DomainError(Exception):
    """A domain action was refused.

    `code` is stable (API clients and tests match on it), `message` is the
    translated human text, `errors` lists every individual problem when
    there is more than one (eligibility, import rows), each a dict with at
    least "code" and "message".
    """

    def __init__(self, code, message, *, errors=None, status=409):
        super().__init__(str(message))
        self.code = code
        self.message = message
        self.errors = list(errors or [])
        self.status = status

    def as_dict(self):
        return {
            "code": self.code,
            "detail": str(self.message),
            "errors": [{k: str(v) if k == "message" else v for k, v in e.items()} for e in self.errors],
        }
