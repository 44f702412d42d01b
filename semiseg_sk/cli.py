# Authors: The semiseg_sk developers
# SPDX-License-Identifier: BSD-3-Clause
"""The ``semiseg`` command line (also ``python -m semiseg_sk``)."""

import argparse
import sys

__all__ = ["main"]


def _demo(args):
    from ._demo import run_demo

    run_demo(
        output=args.output,
        n_unlabeled=args.n_unlabeled,
        random_state=args.random_state,
        verbose=0 if args.quiet else 1,
    )
    return 0


def build_parser():
    parser = argparse.ArgumentParser(
        prog="semiseg",
        description="Semi-supervised image segmentation from a few scribbles.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser(
        "demo", help="fit on scribbled texture mosaics, print scores, save a picture"
    )
    demo.add_argument("--output", default="demo_overlay.png", help="picture to write")
    demo.add_argument("--n-unlabeled", type=int, default=20)
    demo.add_argument("--random-state", type=int, default=0)
    demo.add_argument("--quiet", action="store_true", help="print only the table")
    demo.set_defaults(func=_demo)
    return parser


def main(argv=None):
    """Run the command line; returns the exit code."""
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
