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
from ._atomic import atomic_path, file_kind

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
    >>> model = DummyClassifier().fit([[0], [1]], [0, 1])
    >>> _ = save_model(model, path, summary={"n_images": 0})
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
        The file is not a semiseg_sk model (also: a damaged header, or a
        payload that is not a fitted estimator with ``predict``), or was
        written by an incompatible version (a newer file format, or classes
        this installation lacks).

    Warns
    -----
    InconsistentVersionWarning
        The file was written by another semiseg_sk version (one warning for
        the file, not one per step).
    """
    import joblib

    path = os.fspath(path)
    kind = file_kind(path)
    if kind is None:
        raise FileNotFoundError(f"{path}: no such model file.")
    if kind != "regular file":
        raise ModelFileError(f"{path} is a {kind}; expected a model file.")
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
        info = _check_header(obj, path, current)
        saved = info["version"]
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
        _check_segmenter(model, path)
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


# The header entries of a model file and the types they must have.
_HEADER = {
    "version": (str, type(None)),
    "versions": (dict,),
    "created": (str, type(None)),
    "summary": (dict, type(None)),
}


def _check_header(obj, path, current):
    """A model file's metadata, checked; refuse what this version cannot read."""
    fmt = obj.get("format_version")
    valid = isinstance(fmt, int) and not isinstance(fmt, bool) and fmt >= 1
    if not valid or fmt > MODEL_FORMAT_VERSION or "model" not in obj:
        raise ModelFileError(
            f"{path}: model file format {fmt!r} from semiseg_sk "
            f"{obj.get('version')} is not supported by semiseg_sk {current} "
            f"(format {MODEL_FORMAT_VERSION}); upgrade semiseg_sk."
        )
    info = {k: v for k, v in obj.items() if k != "model"}
    info.setdefault("versions", {})
    for key, types in _HEADER.items():
        value = info.setdefault(key, None)
        if not isinstance(value, types):
            expected = " or ".join(
                "None" if t is type(None) else t.__name__ for t in types
            )
            raise ModelFileError(
                f"{path}: the model file's {key!r} entry has type "
                f"{type(value).__name__}; "
                f"expected {expected}. The file is damaged or was not written by "
                f"semiseg_sk."
            )
    info["summary"] = info["summary"] or {}
    return info


def _check_segmenter(model, path):
    """A model file's payload must be a fitted estimator that predicts."""
    from sklearn.exceptions import NotFittedError
    from sklearn.utils.validation import check_is_fitted

    name = type(model).__name__
    if not (hasattr(model, "predict") and hasattr(model, "get_params")):
        raise ModelFileError(
            f"{path}: the model file holds a {name}, not a segmenter (an estimator "
            f"with predict, such as make_segmenter() returns)."
        )
    try:
        check_is_fitted(model)
    except (NotFittedError, TypeError):
        raise ModelFileError(
            f"{path}: the model file holds an unfitted {name}; save a fitted segmenter."
        ) from None


def _is_semiseg_estimator(obj):
    from sklearn.pipeline import Pipeline

    steps = [s for _, s in obj.steps] if isinstance(obj, Pipeline) else [obj]
    return hasattr(obj, "predict") and any(
        type(s).__module__.startswith("semiseg_sk.") for s in steps
    )
