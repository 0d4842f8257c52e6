"""Errors that reach users: one line, naming the input at fault."""


class GaspInputError(ValueError):
    """Bad user input (a tensor, a file, a config field). The message names the input and says what is wrong."""

    def __init__(self, name: str, problem: str):
        self.name = name
        self.problem = problem
        super().__init__(f"{name}: {problem}")


class GaspUnavailableError(RuntimeError):
    """A capability that cannot run here (missing weights, no CUDA); the message says why."""
