"""``python -m fusionlib fuse``: fuse a user's own images with any registered method.

Examples
--------
::

    python -m fusionlib fuse ir.png vis.jpg -o fused.png --method gff --param r1=30
    python -m fusionlib fuse a.tif b.tif c.tif -o out.tif --method mertens --bits 16
    python -m fusionlib fuse --list

Networks registered into :data:`fusionlib.classical.METHODS` with
``kind="network"`` appear in ``--list`` and run through the same command.
"""
from __future__ import annotations

import argparse
import ast
import sys
from pathlib import Path
from typing import Any

EXIT_USAGE = 2
EXIT_INPUT = 1


def _parse_value(text: str) -> Any:
    """``3`` -> int, ``0.3`` / ``1e-6`` -> float, ``True`` / ``None`` -> literal, else the string."""
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def _parse_params(items: list[str]) -> dict[str, Any]:
    params = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"--param expects KEY=VALUE; got {item!r}")
        params[key.strip()] = _parse_value(value.strip())
    return params


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m fusionlib fuse",
        description="Fuse two or more registered images (any format imageio reads, 8/16-bit) "
                    "with a classical method (or a registered network).")
    p.add_argument("inputs", nargs="*", help="source images, same size (gray and RGB may mix)")
    p.add_argument("-o", "--output", help="output image path (PNG/TIFF/...; written atomically)")
    p.add_argument("-m", "--method", default="average", help="method name (see --list); default average")
    p.add_argument("-p", "--param", action="append", default=[], metavar="KEY=VALUE",
                   help="method parameter, repeatable (e.g. --param n_levels=5)")
    p.add_argument("--device", default="cpu", help="cpu, cuda, cuda:1 or auto (default cpu)")
    p.add_argument("--bits", type=int, choices=(8, 16), default=None,
                   help="output bit depth (default: 16 when any input is 16-bit, else 8)")
    p.add_argument("--list", action="store_true", help="list the registered methods and exit")
    return p


def _list_methods(out) -> None:
    from .classical import METHODS

    print(f"{'name':10s} {'kind':9s} {'n':6s} {'tasks':45s} parameters (defaults)", file=out)
    for spec in METHODS.values():
        print(spec.describe(), file=out)


def fuse_main(argv: list[str]) -> int:
    """Entry point of ``python -m fusionlib fuse``; returns the exit status.

    0 success, 1 unreadable/mismatched inputs or a method error, 2 usage error.
    """
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:        # argparse already printed the message
        return int(e.code or 0)
    err = sys.stderr
    if args.list:
        _list_methods(sys.stdout)
        return 0

    from .classical import METHODS, fuse
    from .io import ImageReadError, read_image, write_image

    if args.method not in METHODS:
        print(f"fusionlib fuse: error: unknown method {args.method!r}; choose from "
              f"{sorted(METHODS)} (see --list)", file=err)
        return EXIT_USAGE
    if len(args.inputs) < 2:
        print(f"fusionlib fuse: error: need at least 2 input images; got {len(args.inputs)}", file=err)
        return EXIT_USAGE
    if not args.output:
        print("fusionlib fuse: error: -o/--output is required", file=err)
        return EXIT_USAGE
    try:
        params = _parse_params(args.param)
    except ValueError as e:
        print(f"fusionlib fuse: error: {e}", file=err)
        return EXIT_USAGE

    images, sixteen = [], False
    for path in args.inputs:
        try:
            img = read_image(path, mode="gray3")
        except ImageReadError as e:
            print(f"fusionlib fuse: error: {e}", file=err)
            return EXIT_INPUT
        images.append(img)
        sixteen = sixteen or _is_16bit(path)
    ref_shape = images[0].shape[-2:]
    for path, img in zip(args.inputs[1:], images[1:]):
        if img.shape[-2:] != ref_shape:
            print(f"fusionlib fuse: error: {path} is {img.shape[-1]}x{img.shape[-2]} (WxH) but "
                  f"{args.inputs[0]} is {ref_shape[1]}x{ref_shape[0]}; inputs must have the same size "
                  "(nothing is resized)", file=err)
            return EXIT_INPUT
    try:
        from .utils import resolve_device
        device = resolve_device(args.device)
        fused = fuse(args.method, images, device=device, **params)
    except (TypeError, ValueError, KeyError) as e:
        msg = e.args[0] if isinstance(e, KeyError) and e.args else e
        print(f"fusionlib fuse: error: {msg}", file=err)
        return EXIT_INPUT
    bits = args.bits or (16 if sixteen else 8)
    out = write_image(Path(args.output), fused, bits=bits)
    print(f"wrote {out} ({args.method}, {len(images)} inputs, {fused.shape[-1]}x{fused.shape[-2]}, "
          f"{bits}-bit)")
    return 0


def _is_16bit(path: str) -> bool:
    try:
        import imageio.v3 as iio
        return iio.improps(path).dtype == "uint16"
    except Exception:  # read_image already accepted the file; property probing is best effort
        return False
