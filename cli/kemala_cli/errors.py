"""The CLI's user-error type, in its own module so that `python -m kemala_cli.main` and the `kemala`
console script share one class (a class defined in main.py exists twice when main runs as __main__)."""


class CliError(Exception):
    """A user error: printed as `kemala: error: ...`, exit status 2."""
