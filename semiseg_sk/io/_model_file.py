# Authors: The semiseg_sk developers
# SPDX-License-Identifier: BSD-3-Clause
"""The model file: a versioned envelope around a pickled, fitted segmenter.

.. warning::
   Model files are pickles (joblib). Loading a pickle can run arbitrary code:
   load only model files from sources you trust.
"""

import datetime
import os
import warnings

from ..exceptions import InconsistentVersionWarning, ModelFileError
from ..utils._metadata import dependency_versions, package_version
from ._atomic import atomic_path

__all__ = ["MODEL_FORMAT", "MODEL_FORMAT_VERSION", "load_model", "save_model"]

#: The ``format`` entry of a semiseg_sk model file.
MODEL_FORMAT = "semiseg_sk-model"

#: Version of the model-file layout; files with a larger one are refused.
MODEL_FORMAT_VERSION = 1


def save_model(model, path, *, summary=None, overwrite=False, compress=3):
    """Save a fitted segmenter in a semiseg_sk model file (joblib).

    The file holds a dict: ``{"format": "semiseg_sk-model", "format_version":
    1, "version": <semiseg_sk version>, "versions": {...}, "created":
    <ISO time>, "summary": summary, "model": model}``. It is written to a
    temporary file and renamed, so an interrupted save leaves no partial file.

    Parameters
    ----------
    model : estimator object
        The fitted segmenter, usually a Pipeline from
        :func:`~semiseg_sk.make_segmenter`.
    path : str or path-like
        Destination, conventionally ``*.joblib``.
    summary : dict, default=None
        Training summary stored with the model (number of images, classes,
        fit time, ...), shown by ``semiseg info``.
    overwrite : bool, default=False
        If False, refuse to replace an existing file.
    compress : int, default=3
        joblib compression level (0 to 9).

    Returns
    -------
    path : str
        The written path.

    See Also
    --------
    load_model : Load it back.

    Examples
    --------
    >>> import os, tempfile
    >>> from sklearn.dummy import DummyClassifier
    >>> from semiseg_sk.io import save_model, load_model
    >>> path = os.path.join(tempfile.mkdtemp(), "model.joblib")
    >>> _ = save_model(DummyClassifier(), path, summary={"n_images": 0})
    >>> model, info = load_model(path, return_info=True)
    >>> info["summary"]
    {'n_images': 0}
    """
    import joblib

    payload = {
        "format": MODEL_FORMAT,
        "format_version": MODEL_FORMAT_VERSION,
        "version": package_version(),
        "versions": dependency_versions(),
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(
            timespec="seconds"
        ),
        "summary": dict(summary or {}),
        "model": model,
    }
    with atomic_path(path, overwrite=overwrite) as tmp:
        joblib.dump(payload, tmp, compress=compress)
    return os.fspath(path)


def load_model(path, *, return_info=False):
    """Load a model file written by :func:`save_model`.

    .. warning::
       Model files are pickles: loading one can run arbitrary code. Load only
       files from sources you trust.

    Parameters
    ----------
    path : str or path-like
        The model file. A plain ``joblib.dump`` of a fitted semiseg_sk
        estimator is accepted too (with an empty summary).
    return_info : bool, default=False
        Also return the file's metadata (everything but the model).

    Returns
    -------
    model : estimator object
        The fitted segmenter.
    info : dict
        Only when ``return_info``: ``format``, ``format_version``,
        ``version``, ``versions``, ``created`` and ``summary``.

    Raises
    ------
    FileNotFoundError
        The file does not exist.
    ModelFileError
        The file is not a semiseg_sk model, or was written by an incompatible
        version (a newer file format, or classes this installation lacks).

    Warns
    -----
    InconsistentVersionWarning
        The file was written by another semiseg_sk version (one warning for
        the file, not one per step).
    """
    import joblib

    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{path}: no such model file.")
    current = package_version()
    with warnings.catch_warnings():
        # One warning for the whole file instead of one per pickled step.
        warnings.simplefilter("ignore", InconsistentVersionWarning)
        try:
            obj = joblib.load(path)
        except ModuleNotFoundError as exc:
            name = (exc.name or "").split(".")[0]
            if name and name != "semiseg_sk":
                raise ModelFileError(
                    f"{path}: loading it needs the Python package {name!r}, which is "
                    f"not installed (pip install {name})."
                ) from exc
            raise ModelFileError(
                f"{path}: made by an incompatible version of semiseg_sk ({exc}); "
                f"this is semiseg_sk {current}."
            ) from exc
        except (AttributeError, ImportError) as exc:
            raise ModelFileError(
                f"{path}: made by an incompatible version of semiseg_sk or its "
                f"dependencies ({exc}); this is semiseg_sk {current}."
            ) from exc
        except Exception as exc:
            raise ModelFileError(
                f"{path}: not a semiseg_sk model file (it cannot be read as a "
                f"joblib file: {type(exc).__name__}: {exc})."
            ) from exc
    if isinstance(obj, dict) and obj.get("format") == MODEL_FORMAT:
        fmt = obj.get("format_version")
        if not isinstance(fmt, int) or fmt > MODEL_FORMAT_VERSION or "model" not in obj:
            raise ModelFileError(
                f"{path}: model file format {fmt!r} from semiseg_sk "
                f"{obj.get('version')} is not supported by semiseg_sk {current} "
                f"(format {MODEL_FORMAT_VERSION}); upgrade semiseg_sk."
            )
        saved = obj.get("version")
        if saved != current:
            warnings.warn(
                InconsistentVersionWarning(
                    estimator_name=path,
                    original_version=saved,
                    current_version=current,
                ),
                stacklevel=2,
            )
        model = obj["model"]
        info = {k: v for k, v in obj.items() if k != "model"}
    elif _is_semiseg_estimator(obj):
        model = obj
        info = {
            "format": "joblib",
            "format_version": None,
            "version": None,
            "versions": {},
            "created": None,
            "summary": {},
        }
    else:
        raise ModelFileError(
            f"{path}: not a semiseg_sk model file (it holds a {type(obj).__name__})."
        )
    return (model, info) if return_info else model


def _is_semiseg_estimator(obj):
    from sklearn.pipeline import Pipeline

    steps = [s for _, s in obj.steps] if isinstance(obj, Pipeline) else [obj]
    return hasattr(obj, "predict") and any(
        type(s).__module__.startswith("semiseg_sk.") for s in steps
    )
