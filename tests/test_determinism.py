"""The same random_state gives the same masks: twice in one process, in a fresh
process, and whatever n_jobs is."""

import os
import subprocess
import sys

import numpy as np
import pytest

pytest.importorskip("torch")

# The experiment, as source, so that this process and a fresh interpreter run
# exactly the same code. ``run(n_jobs, seed)`` returns the arrays to compare.
SCRIPT = r"""
import numpy as np

def run(n_jobs=None, seed=0):
    import torch

    from semiseg_sk import make_segmenter
    from semiseg_sk.datasets import make_scribbles, make_texture_mosaics

    torch.set_num_threads(1)
    images, truths = make_texture_mosaics(4, size=(40, 40), n_cells=3, random_state=0)
    labels = [make_scribbles(t, stroke_length=8, random_state=0) for t in truths]
    labels = labels[:2] + [np.full(t.shape, -1) for t in truths[2:]]
    for a in images + labels:
        a.flags.writeable = False
    seg = make_segmenter(
        n_segments=20, autoencoder=True, random_state=seed, n_jobs=n_jobs
    )
    seg.set_params(
        autoencoderfeatures__max_iter=2,
        autoencoderfeatures__latent_dim=2,
        autoencoderfeatures__n_filters=4,
        autoencoderfeatures__patch_size=8,
    )
    seg.fit(images[:3], labels[:3])
    # The training images and an image unseen at fit.
    masks = seg.predict(images)
    proba = seg.predict_proba(images[3:])
    codes = seg[:-1].transform(images[3:])[0].features
    out = {f"mask{i}": m for i, m in enumerate(masks)}
    out["proba"] = proba[0]
    out["codes"] = codes
    return out
"""


def _run_here(**kwargs):
    namespace = {}
    exec(SCRIPT, namespace)
    return namespace["run"](**kwargs)


def _assert_same(a, b):
    assert a.keys() == b.keys()
    for key in a:
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)


@pytest.fixture(scope="module")
def reference():
    pytest.importorskip("torch")
    result = _run_here()
    # A meaningful reference: more than one class is predicted.
    assert len(np.unique(np.concatenate([result[f"mask{i}"] for i in range(4)]))) > 1
    return result


def test_two_fits_in_one_process(reference):
    _assert_same(reference, _run_here())


@pytest.mark.slow
def test_fresh_process(reference, tmp_path):
    out = tmp_path / "result.npz"
    code = SCRIPT + f"\nnp.savez({str(out)!r}, **run())\n"
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONHASHSEED="123")
    subprocess.run(
        [sys.executable, "-c", code], check=True, env=env, timeout=300, cwd=tmp_path
    )
    with np.load(out) as fresh:
        _assert_same(reference, dict(fresh))


def test_n_jobs_does_not_change_the_masks(reference):
    _assert_same(reference, _run_here(n_jobs=2))


def test_random_state_is_used(reference):
    # Another seed trains another autoencoder: the codes differ.
    other = _run_here(seed=1)
    assert not np.array_equal(reference["codes"], other["codes"])
