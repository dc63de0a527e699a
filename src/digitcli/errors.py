"""Errors a user can act on, each with the exit status the CLI gives it.

Anything raised as one of these is printed as a one-line message, never as a
traceback (unless --debug is given).
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Exit statuses, documented in `digitcli --help` and the README."""

    OK = 0            # every input was read
    INPUT_FAILED = 1  # at least one input could not be read (the rest were)
    USAGE = 2         # bad options or arguments
    MODEL = 3         # the model file is missing, corrupt or of the wrong kind
    DATA = 4          # MNIST or a labelled folder is missing or malformed
    INTERRUPTED = 130 # Ctrl-C


class DigitcliError(Exception):
    """Base of all errors shown to the user as a message."""

    exit_code: ExitCode = ExitCode.INPUT_FAILED


class DataError(DigitcliError):
    exit_code = ExitCode.DATA


class ModelError(DigitcliError):
    exit_code = ExitCode.MODEL


class ImageError(DigitcliError):
    """One input image could not be read; the batch goes on."""
