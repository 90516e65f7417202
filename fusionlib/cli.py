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
import os
import sys
import traceback
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
    p.add_argument("-o", "--output", help="output image path (.png/.tif/.tiff/.jpg/.jpeg/.bmp; "
                                          "written atomically; never one of the inputs)")
    p.add_argument("-m", "--method", default="average", help="method name (see --list); default average")
    p.add_argument("-p", "--param", action="append", default=[], metavar="KEY=VALUE",
                   help="method parameter, repeatable (e.g. --param n_levels=5); types and ranges in --list")
    p.add_argument("--device", default="cpu", help="cpu, cuda, cuda:1 or auto (default cpu)")
    p.add_argument("--bits", type=int, choices=(8, 16), default=None,
                   help="output bit depth (default: 16 when any input is 16-bit, else 8; 16 needs .png/.tif)")
    p.add_argument("--list", action="store_true", help="list the registered methods and exit")
    p.add_argument("--debug", action="store_true", help="show the traceback of an error")
    return p


def _list_methods(out) -> None:
    from .classical import METHODS

    print(f"{'name':10s} {'kind':9s} {'n':6s} {'tasks':45s} parameters (defaults)", file=out)
    for spec in METHODS.values():
        print(spec.describe(), file=out)
        for k, decl in spec.params.items():
            print(f"{'':12s}{k}: {decl.describe()}", file=out)


class _Usage(ValueError):
    """A mistake in the command line itself (exit status 2)."""


def fuse_main(argv: list[str]) -> int:
    """Entry point of ``python -m fusionlib fuse``; returns the exit status.

    0 success, 1 unreadable/mismatched inputs or a method error, 2 usage error. Every error is
    one line on stderr naming the file or parameter at fault; ``--debug`` adds the traceback.
    """
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:        # argparse already printed the message
        return int(e.code or 0)
    if args.list:
        _list_methods(sys.stdout)
        return 0
    import warnings
    try:
        with warnings.catch_warnings(record=True) as notes:
            warnings.simplefilter("always")
            try:
                return _fuse(args)
            finally:
                from .io import ImageNote
                for w in notes:
                    if issubclass(w.category, ImageNote):
                        print(f"fusionlib fuse: note: {w.message}", file=sys.stderr)
    except Exception as e:  # noqa: BLE001 - the command line prints one line, never a traceback
        if args.debug:
            traceback.print_exc()
        usage = isinstance(e, _Usage)
        known = isinstance(e, (TypeError, ValueError, KeyError, OSError, MemoryError))
        msg = e.args[0] if isinstance(e, KeyError) and e.args else str(e)
        if isinstance(e, OSError) and not isinstance(e, ValueError):
            msg = f"{e.strerror or e}{': ' + str(e.filename) if e.filename else ''}"
        if not known:
            msg = f"internal error {e.__class__.__name__}: {msg} (rerun with --debug for the traceback)"
        print(f"fusionlib fuse: error: {msg}", file=sys.stderr)
        return EXIT_USAGE if usage else EXIT_INPUT


def _fuse(args) -> int:
    from .classical import METHODS, fuse
    from .io import check_output_path, read_image, write_image
    from .utils import resolve_device

    if args.method not in METHODS:
        raise _Usage(f"unknown method {args.method!r}; choose from {sorted(METHODS)} (see --list)")
    if len(args.inputs) < 2:
        raise _Usage(f"need at least 2 input images; got {len(args.inputs)}")
    if not args.output:
        raise _Usage("-o/--output is required")
    try:
        params = _parse_params(args.param)
        spec = METHODS[args.method]
        spec.check_params(params)  # the registry's declared types and ranges, as fuse() checks them
        device = resolve_device(args.device)
    except (TypeError, ValueError) as e:
        raise _Usage(str(e)) from e
    out_path = Path(args.output)
    _refuse_overwriting_inputs(out_path, args.inputs)
    try:
        check_output_path(out_path, args.bits or 8)
    except ValueError as e:
        raise _Usage(str(e)) from e

    images, sixteen = [], False
    for path in args.inputs:
        images.append(read_image(path, mode="gray3"))
        sixteen = sixteen or _is_16bit(path)
    ref_shape = images[0].shape[-2:]
    for path, img in zip(args.inputs[1:], images[1:]):
        if img.shape[-2:] != ref_shape:
            raise ValueError(f"{path} is {img.shape[-1]}x{img.shape[-2]} (WxH) but "
                             f"{args.inputs[0]} is {ref_shape[1]}x{ref_shape[0]}; inputs must have the same "
                             "size (nothing is resized)")
    bits = args.bits or (16 if sixteen else 8)
    try:
        check_output_path(out_path, bits)
    except ValueError as e:
        raise _Usage(f"{e} (an input is 16-bit; or pass --bits 8)") from e
    fused = fuse(args.method, images, device=device, **params)
    out = write_image(out_path, fused, bits=bits)
    print(f"wrote {out} ({args.method}, {len(images)} inputs, {fused.shape[-1]}x{fused.shape[-2]}, "
          f"{bits}-bit)")
    return 0


def _refuse_overwriting_inputs(out: Path, inputs: list[str]) -> None:
    """The output must not be an input: same resolved path, or the same file by another name."""
    target = out.resolve()
    for path in inputs:
        p = Path(path)
        same = p.resolve() == target
        if not same and out.exists() and p.exists():
            try:
                same = os.path.samefile(p, out)
            except OSError:
                same = False
        if same:
            raise _Usage(f"output {out} is the input {path}; refusing to overwrite a source image")


def _is_16bit(path: str) -> bool:
    try:
        import imageio.v3 as iio
        return iio.improps(path).dtype == "uint16"
    except Exception:  # read_image already accepted the file; property probing is best effort
        return False
