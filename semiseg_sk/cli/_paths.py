# Authors: The semiseg_sk developers
# SPDX-License-Identifier: BSD-3-Clause
"""The output-path policy: inputs are never touched, outputs never collide."""

import os

from ..exceptions import CommandError
from ..io._atomic import check_destination, check_folder_writable

__all__ = [
    "check_dir",
    "check_output_file",
    "match_labels",
    "output_plan",
    "real_path",
    "same_file",
]


def same_file(a, b):
    return os.path.normcase(os.path.realpath(a)) == os.path.normcase(
        os.path.realpath(b)
    )


def real_path(path):
    return os.path.normcase(os.path.realpath(path))


def check_dir(path, what):
    if not os.path.exists(path):
        raise FileNotFoundError(f"{what} {path}: no such folder.")
    if not os.path.isdir(path):
        raise CommandError(f"{what} {path} is not a folder.")


def check_output_file(path, *, force, option="-o"):
    """Refuse, before any work, an output file that could not be written.

    The output must not be a folder or a device, not exist unless ``force``,
    and its folder must exist and take a new file.
    """
    if os.path.isdir(path):
        raise CommandError(f"{option} {path} is a folder; expected a file name.")
    try:
        check_destination(path, overwrite=force)
    except FileExistsError as exc:
        hint = " (use --force to replace it)" if os.path.isfile(path) else ""
        raise CommandError(f"{option} {exc}".rstrip(".") + f"{hint}.") from exc
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise CommandError(f"{option} {path}: folder {folder} does not exist.")
    check_folder_writable(folder)


def match_labels(paths, label_dir, what):
    """Label file of each image (or None); refuse label files that are inputs."""
    from ..io import find_label_file

    inputs = {real_path(p) for p in paths}
    matched = []
    for path in paths:
        found = find_label_file(path, label_dir)
        if found is not None and real_path(found) in inputs:
            raise CommandError(
                f"{found} is both an input image and the {what} file of {path}; "
                f"put {what} files in their own folder or name them "
                f"<stem>_labels.png."
            )
        matched.append(found)
    return matched


def output_plan(args, paths, outdir, kinds):
    """Output paths per image; refuse collisions with inputs and each other."""
    inputs = {real_path(p) for p in paths} | {real_path(args.model)}
    holds_inputs = []
    if os.path.isdir(outdir):
        holds_inputs = [
            p
            for p in list(paths) + [args.model]
            if same_file(os.path.dirname(os.path.abspath(p)), outdir)
        ]
    if holds_inputs and not args.force:
        more = ", ..." if len(holds_inputs) > 1 else ""
        raise CommandError(
            f"output folder {outdir} holds inputs ({holds_inputs[0]}{more}); choose "
            f"another folder or use --force (inputs are never overwritten)."
        )
    plan, seen, existing = [], {}, []
    for path in paths:
        stem = os.path.splitext(os.path.basename(path))[0]
        if stem in seen:
            raise CommandError(
                f"{seen[stem]} and {path} have the same name {stem!r}; their outputs "
                f"would collide. Predict them into different folders."
            )
        seen[stem] = path
        outputs = {kind: os.path.join(outdir, stem + suffix) for kind, suffix in kinds}
        for out in outputs.values():
            if real_path(out) in inputs:
                raise CommandError(
                    f"output {out} would overwrite an input; refusing (inputs are "
                    f"never overwritten)."
                )
            check_destination(out)  # no folder or device in the way
            if os.path.exists(out):
                existing.append(out)
        plan.append(outputs)
    if existing and not args.force:
        raise CommandError(
            f"{existing[0]} exists ({len(existing)} output file(s) exist); refusing "
            f"to overwrite (use --force to replace earlier outputs)."
        )
    return plan
