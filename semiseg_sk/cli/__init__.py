# Authors: The semiseg_sk developers
# SPDX-License-Identifier: BSD-3-Clause
"""The ``semiseg`` command line (also ``python -m semiseg_sk``).

Commands: ``fit``, ``predict``, ``evaluate``, ``suggest``, ``info`` and
``demo``; see
``semiseg COMMAND --help`` and the user guide page "Command line". Each
command lives in its own module; ``_paths`` holds the output-path policy.

Exit codes: 0 success, 1 an error in the data or files (a one-line message
on standard error), 2 a usage error, 130 interrupted (Ctrl-C), 143 terminated
(SIGTERM), 129 hung up (SIGHUP).
"""

import argparse
import contextlib
import os
import signal
import sys
import threading
import warnings

from ..exceptions import CommandError, Terminated
from ..utils._metadata import package_version
from . import _fit, _info, _predict, _suggest
from ._common import progress_enabled

__all__ = ["build_parser", "main"]


def _demo_command(args):
    from ._demo import run_demo
    from ._paths import check_output_file

    check_output_file(args.output, force=args.force, option="--output")
    run_demo(
        output=args.output,
        overwrite=args.force,
        n_unlabeled=args.n_unlabeled,
        random_state=args.random_state,
        verbose=0 if args.quiet else 1,
        progress=progress_enabled(args),
    )
    return 0


def _common(parser, *, jobs=True):
    group = parser.add_argument_group("common options")
    group.add_argument(
        "-q", "--quiet", action="store_true", help="no progress bars or messages"
    )
    if jobs:
        group.add_argument(
            "--n-jobs",
            type=int,
            default=None,
            help="images processed in parallel (-1: all cores)",
        )
        group.add_argument(
            "--device",
            default=None,
            help="where the autoencoder runs: cpu, cuda, cuda:N or auto",
        )
        group.add_argument(
            "--scheduler",
            default=None,
            metavar="ADDRESS",
            help="run the per-image work on a dask.distributed cluster: a "
            "scheduler address (tcp://host:8786), or local:N to start N local "
            "worker processes (needs semiseg_sk[dask])",
        )
    group.add_argument(
        "--traceback",
        action="store_true",
        help="show the Python traceback of an error (for bug reports)",
    )


def _version_text():
    return f"semiseg_sk {package_version()}"


class _VersionAction(argparse.Action):
    def __init__(self, option_strings, dest=argparse.SUPPRESS, **kwargs):
        super().__init__(option_strings, dest=dest, nargs=0, **kwargs)

    def __call__(self, parser, namespace, values, option_string=None):
        print(_version_text())
        parser.exit()


def build_parser():
    """The argument parser of the ``semiseg`` command."""
    parser = argparse.ArgumentParser(
        prog="semiseg",
        description="Semi-supervised image segmentation from a few scribbles.",
        epilog="Label images use 0 = unlabeled and 1..K = classes. Model files "
        "are pickles: load only files you trust.",
    )
    parser.add_argument(
        "--version", action=_VersionAction, help="show the version and exit"
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    fit = sub.add_parser(
        "fit",
        help="train a segmenter on images and a folder of label images",
        description="Train a segmenter. The label image of photo.jpg is "
        "photo.<ext> or photo_labels.<ext> in the --labels folder (any image "
        "extension); 0 = unlabeled, 1..K = classes. Images without a label "
        "image are unlabeled images and are used too.",
    )
    fit.add_argument(
        "images", nargs="+", metavar="IMAGES", help="files, folders, globs"
    )
    fit.add_argument("--labels", required=True, metavar="DIR", help="label images")
    fit.add_argument(
        "-o", "--output", required=True, metavar="MODEL", help="model file"
    )
    fit.add_argument(
        "--set",
        action="append",
        type=_fit.parse_setting,
        metavar="KEY=VALUE",
        help="pipeline parameter, e.g. superpixels__n_segments=400 (repeatable; "
        "values are Python literals, else strings)",
    )
    fit.add_argument(
        "--no-autoencoder",
        action="store_true",
        help="leave out AutoencoderFeatures (faster, no torch needed)",
    )
    fit.add_argument(
        "--class-names",
        metavar="NAMES",
        help="comma-separated names of classes 1..K, stored in the model",
    )
    fit.add_argument(
        "--channels",
        type=_fit.parse_channels,
        metavar="LIST",
        help="channels to learn from, comma-separated indices from 0 or names "
        "(--channel-names, else the OME-TIFF channel names); default all",
    )
    fit.add_argument(
        "--channel-names",
        metavar="NAMES",
        help="comma-separated names of the channels of the images, one per channel",
    )
    fit.add_argument(
        "--volume",
        action="store_true",
        help="read TIFF stacks as volumes (Z, Y, X[, C]); automatic when a file "
        "has a Z axis",
    )
    fit.add_argument(
        "--spacing",
        type=_fit.parse_spacing,
        metavar="DZ,DY,DX",
        help="voxel size of the volumes, overriding the files' metadata "
        "(implies --volume)",
    )
    fit.add_argument("--random-state", type=int, default=0, help="seed (default 0)")
    fit.add_argument(
        "-f", "--force", action="store_true", help="replace an existing model file"
    )
    _common(fit)
    fit.set_defaults(func=_fit.run)

    predict = sub.add_parser(
        "predict",
        help="write a mask (and optional maps) per image",
        description="Write OUTDIR/<stem>_labels.png per image (0 = unlabeled, "
        "1..K = classes, uint8 or uint16), usable again as a label image.",
    )
    predict.add_argument("model", metavar="MODEL", help="model file")
    predict.add_argument(
        "images", nargs="+", metavar="IMAGES", help="files, folders, globs"
    )
    predict.add_argument("-o", "--output", required=True, metavar="OUTDIR")
    predict.add_argument(
        "--proba",
        action="store_true",
        help="also write <stem>_proba.npy (H, W, K float32) and <stem>_uncertainty.png",
    )
    predict.add_argument(
        "--uncertainty",
        choices=("margin", "entropy"),
        default="margin",
        help="uncertainty map: 1 - max proba (margin) or normalised entropy",
    )
    predict.add_argument(
        "--overlay",
        action="store_true",
        help="also write <stem>_overlay.png: mask colours and region boundaries",
    )
    predict.add_argument(
        "--instances",
        action="store_true",
        help="also write <stem>_instances.tif: 0 = no object, 1..N = objects "
        "(connected components; uint16, uint32 past 65535 objects)",
    )
    predict.add_argument(
        "--instance-classes",
        metavar="CLASSES",
        help="comma-separated classes (1..K or class names) whose objects "
        "--instances labels; default every class but 1, the background",
    )
    predict.add_argument(
        "--split-touching",
        action="store_true",
        help="with --instances, split touching objects (distance-transform watershed)",
    )
    predict.add_argument(
        "--min-distance",
        type=int,
        default=5,
        metavar="PIXELS",
        help="with --split-touching, the smallest distance between two object "
        "centres (default 5)",
    )
    predict.add_argument(
        "-f",
        "--force",
        action="store_true",
        help="allow an output folder holding inputs, replace earlier outputs",
    )
    predict.add_argument(
        "--skip-errors",
        action="store_true",
        help="leave out images that cannot be read or predicted (with a warning) "
        "instead of stopping",
    )
    _common(predict)
    predict.set_defaults(func=_predict.predict)

    evaluate = sub.add_parser(
        "evaluate",
        help="score predictions against truth label images",
        description="Per-image and mean mIoU, Dice and pixel accuracy. Truth "
        "files are matched like label files (0 = not scored).",
    )
    evaluate.add_argument("model", metavar="MODEL", help="model file")
    evaluate.add_argument(
        "images", nargs="+", metavar="IMAGES", help="files, folders, globs"
    )
    evaluate.add_argument("--truth", required=True, metavar="DIR")
    evaluate.add_argument("--json", action="store_true", help="print JSON")
    _common(evaluate)
    evaluate.set_defaults(func=_predict.evaluate)

    suggest = sub.add_parser(
        "suggest",
        help="the regions to label next: a picture per image and a listing",
        description="Rank the regions of the images by what labeling them "
        "would teach the model; write OUTDIR/<stem>_suggestions.png (the "
        "regions outlined and numbered by rank) for each image holding one, "
        "and OUTDIR/suggestions.json and suggestions.csv (rank, image, region, "
        "score, area, centroid, innermost point, bounding box).",
    )
    suggest.add_argument("model", metavar="MODEL", help="model file")
    suggest.add_argument(
        "images", nargs="+", metavar="IMAGES", help="files, folders, globs"
    )
    suggest.add_argument("-o", "--output", required=True, metavar="OUTDIR")
    suggest.add_argument(
        "-n", type=int, default=5, help="number of regions to suggest (default 5)"
    )
    suggest.add_argument(
        "--labels",
        metavar="DIR",
        help="label images drawn so far: their regions are not suggested again",
    )
    suggest.add_argument(
        "--uncertainty", choices=("margin", "entropy"), default="margin"
    )
    suggest.add_argument("--random-state", type=int, default=0)
    suggest.add_argument(
        "-f", "--force", action="store_true", help="replace earlier outputs"
    )
    _common(suggest)
    suggest.set_defaults(func=_suggest.run)

    info = sub.add_parser("info", help="versions, parameters, classes, training")
    info.add_argument("model", metavar="MODEL", help="model file")
    info.add_argument("--json", action="store_true", help="print JSON")
    _common(info, jobs=False)
    info.set_defaults(func=_info.run)

    demo = sub.add_parser(
        "demo", help="fit on scribbled texture mosaics, print scores, save a picture"
    )
    demo.add_argument("--output", default="demo_overlay.png", help="picture to write")
    demo.add_argument(
        "-f", "--force", action="store_true", help="replace an existing picture"
    )
    demo.add_argument("--n-unlabeled", type=int, default=20)
    demo.add_argument("--random-state", type=int, default=0)
    _common(demo, jobs=False)
    demo.set_defaults(func=_demo_command)
    return parser


def _show_warning(message, category, filename, lineno, file=None, line=None):
    print(f"semiseg: warning: {message}", file=sys.stderr, flush=True)


@contextlib.contextmanager
def _signals_interrupt():
    """SIGTERM and SIGHUP interrupt like Ctrl-C, so that every cleanup runs.

    Only in the main thread, and not for a signal the caller ignores (nohup).
    The handler raises once; a repeated signal is ignored while cleaning up.
    """
    names = ("SIGTERM", "SIGHUP")
    signums = [getattr(signal, n) for n in names if hasattr(signal, n)]
    if threading.current_thread() is not threading.main_thread():
        signums = []
    previous = {}

    def handler(signum, frame):
        for s in previous:
            signal.signal(s, signal.SIG_IGN)
        raise Terminated(signum)

    for signum in signums:
        if signal.getsignal(signum) is not signal.SIG_IGN:
            previous[signum] = signal.signal(signum, handler)
    try:
        yield
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)


def main(argv=None):
    """Run the ``semiseg`` command line.

    Parameters
    ----------
    argv : list of str, default=None
        The arguments; None reads ``sys.argv[1:]``.

    Returns
    -------
    code : int
        0 on success, 1 on an error in the data or files, 2 on a usage error
        (argparse exits with it), 130 when interrupted (Ctrl-C), 128 + the
        signal number on SIGTERM (143) or SIGHUP (129). Files being written
        are removed in every case.
    """
    args = build_parser().parse_args(argv)
    with warnings.catch_warnings(), _signals_interrupt():
        if not args.traceback:
            warnings.showwarning = _show_warning
        try:
            return args.func(args) or 0
        except Terminated as exc:
            name = signal.Signals(exc.signum).name
            print(f"semiseg: terminated by {name}", file=sys.stderr)
            return 128 + exc.signum
        except KeyboardInterrupt:
            print("semiseg: interrupted", file=sys.stderr)
            return 130
        except BrokenPipeError:
            # The reader went away (``semiseg info m.joblib | head``): stop quietly.
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            return 1
        except (CommandError, OSError, ValueError, TypeError, ImportError) as exc:
            if args.traceback:
                raise
            message = str(exc) or type(exc).__name__
            if isinstance(exc, OSError) and exc.filename and exc.strerror:
                message = f"{exc.filename}: {exc.strerror}"
            print(f"semiseg {args.command}: error: {message}", file=sys.stderr)
            return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
