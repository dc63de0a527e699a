"""One module per command: what each does, end to end, on top of the
reading library (and, for `train`, the training package). cli.py only
parses arguments and maps errors to exit codes.
"""
