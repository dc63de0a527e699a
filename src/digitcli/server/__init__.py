"""`digitcli serve`: the Reader behind HTTP (an ASGI app on Starlette), and a
page to draw digits on. Needs the [serve] extra: pip install "digitcli[serve]".
"""
