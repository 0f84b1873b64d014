"""The one error a release raises: a message a person can act on, one line per problem."""


class ReleaseError(Exception):
    """The release cannot be written; ``str(error)`` says why, one problem per line."""

    def __init__(self, *problems: str):
        super().__init__("\n".join(problems))
        self.problems = list(problems)
