"""`python -m digitcli`."""

from .cli import main

main()
