# Authors: The semiseg_sk developers
# SPDX-License-Identifier: BSD-3-Clause
"""``semiseg info``: versions, parameters, classes and training of a model file."""

import json
import os

from ._common import load

__all__ = ["run"]


def param_text(value):
    text = " ".join(repr(value).split())
    return text if len(text) <= 60 else text[:57] + "..."


def channels_used(steps):
    """The channels each fitted step computes from, as text, by step name."""
    out = {}
    for name, step in steps:
        for key, item in ((name, step), (f"{name}__refiner", None)):
            item = getattr(step, "refiner_", None) if item is None else item
            if not hasattr(item, "channels_"):
                continue
            text = ", ".join(str(c) for c in item.channels_)
            if getattr(item, "channel_names_", None):
                text += f" ({', '.join(item.channel_names_)})"
            out[key] = f"{text} of {item.n_channels_}"
    return out


def run(args):
    from ..utils._metadata import package_version

    model, info = load(args)
    steps = getattr(model, "steps", [(type(model).__name__.lower(), model)])
    params = {
        name: {k: param_text(v) for k, v in sorted(step.get_params(deep=False).items())}
        for name, step in steps
        if hasattr(step, "get_params")
    }
    # What fitted steps decided from the data (FeatureGate: the feature
    # blocks it kept and their weights).
    decisions = {
        name: step.summary()
        for name, step in steps
        if callable(getattr(step, "summary", None)) and hasattr(step, "n_features_in_")
    }
    channels = channels_used(steps)
    classes = getattr(model, "classes_", None)
    mask_values = None if classes is None else [int(c) + 1 for c in classes]
    if args.json:
        out = {k: v for k, v in info.items()}
        out.update(
            file=os.fspath(args.model),
            current_version=package_version(),
            steps=[name for name, _ in steps],
            params=params,
            decisions=decisions,
            channels=channels,
            classes=mask_values,
        )
        print(json.dumps(out, indent=2, default=str))
        return 0
    summary = info.get("summary") or {}
    names = summary.get("class_names") or []
    lines = [
        f"file:        {args.model}",
        f"format:      {info.get('format')} {info.get('format_version') or ''}",
        f"saved with:  semiseg_sk {info.get('version') or 'unknown'}"
        f" (this is {package_version()})",
        f"created:     {info.get('created') or 'unknown'}",
    ]
    versions = info.get("versions") or {}
    if versions:
        lines.append(
            "versions:    " + ", ".join(f"{k} {v}" for k, v in versions.items())
        )
    if mask_values is not None:
        shown = [
            f"{v} ({names[v - 1]})" if v - 1 < len(names) and names[v - 1] else str(v)
            for v in mask_values
        ]
        lines.append("classes:     " + ", ".join(shown) + "  (mask values)")
    if len(set(channels.values())) == 1:
        lines.append(f"channels:    {next(iter(channels.values()))}  (every step)")
    elif channels:
        lines.append("channels:")
        lines += [f"  {name}: {text}" for name, text in channels.items()]
    if summary:
        lines.append("training:")
        for key, value in summary.items():
            if key in ("images", "label_files", "class_names"):
                continue
            lines.append(f"  {key}: {value}")
    for name, text in decisions.items():
        lines.append(f"{name} decided:")
        lines += [f"  {line}" for line in text.splitlines()]
    lines.append("steps:")
    for name, step_params in params.items():
        lines.append(f"  {name}:")
        lines += [f"    {k} = {v}" for k, v in step_params.items()]
    print("\n".join(lines))
    return 0
