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


class Problem:
    """One failed check: a stable code, a translated message, optionally the field it concerns."""

    __slots__ = ("code", "field", "message")

    def __init__(self, code, message, field=None):
        self.code, self.message, self.field = code, message, field

    def __repr__(self):
        return f"Problem({self.code!r})"

    def __eq__(self, other):
        return isinstance(other, Problem) and (self.code, self.field) == (other.code, other.field)

    def __hash__(self):
        return hash((self.code, self.field))

    def as_dict(self):
        data = {"code": self.code, "message": str(self.message)}
        if self.field:
            data["field"] = self.field
        return data


def refuse(problems, *, code=None, message=None, status=409):
    """Raise a DomainError carrying every problem."""
    first = problems[0]
    raise DomainError(
        code or first.code, message or first.message, errors=[p.as_dict() for p in problems], status=status
    )
