"""Command line: ``python -m fusionlib <command> ...``.

Commands
--------
fuse   fuse a user's own images (``python -m fusionlib fuse A B -o OUT --method NAME``)
book   execute every chapter with papermill and build the static site
"""
from __future__ import annotations

import sys

COMMANDS = {
    "fuse": ("fusionlib.cli", "fuse_main", "fuse images with a registered method"),
    "book": ("fusionlib.book", "main", "execute the chapters and build the book"),
}


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print("usage: python -m fusionlib {" + ",".join(COMMANDS) + "} ...\n")
        for name, (_, _, doc) in COMMANDS.items():
            print(f"  {name:6s} {doc}")
        return 0 if argv else 2
    cmd, rest = argv[0], argv[1:]
    if cmd not in COMMANDS:
        print(f"fusionlib: unknown command {cmd!r}; choose from {sorted(COMMANDS)}", file=sys.stderr)
        return 2
    import importlib
    module, func, _ = COMMANDS[cmd]
    return int(getattr(importlib.import_module(module), func)(rest) or 0)


if __name__ == "__main__":
    sys.exit(main())
