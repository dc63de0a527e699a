"""Errors a user can act on, each with the exit status the CLI gives it.

Anything raised as one of these is printed as a one-line message, never as a
traceback (unless --debug is given).
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Exit statuses, documented in `digitcli --help` and the README."""

    OK = 0             # every input was read
    INPUT_FAILED = 1   # at least one input could not be read (the rest were)
    USAGE = 2          # bad options or arguments
    MODEL = 3          # the model file is missing, corrupt or of the wrong kind
    DATA = 4           # MNIST or a labelled folder is missing or malformed
    INTERNAL = 70      # a bug in digitcli (sysexits' EX_SOFTWARE): please report it
    INTERRUPTED = 130  # Ctrl-C


EXIT_CODES_HELP = (
    "Exit status: 0 all inputs read; 1 some inputs could not be read (the rest were); "
    "2 usage error; 3 model missing or corrupt; 4 training/evaluation data missing or malformed; "
    "70 internal error (a bug: please report it); 130 interrupted."
)


class DigitcliError(Exception):
    """Base of all errors shown to the user as a message."""

    exit_code: ExitCode = ExitCode.INPUT_FAILED


class DataError(DigitcliError):
    exit_code = ExitCode.DATA


class ModelError(DigitcliError):
    exit_code = ExitCode.MODEL


class ImageError(DigitcliError):
    """One input image could not be read; the batch goes on."""
