"""``python -m fastrapi run|dev ...``: the same command as ``fastrapi``."""
from .cli import console_main

if __name__ == "__main__":
    console_main()
