"""Per-image work on a dask.distributed LocalCluster of 2 worker processes.

The Python API under ``joblib.parallel_backend("dask")`` and the command line
with ``--scheduler`` fit and predict a small collection from files; the masks
are those of ``n_jobs=1``, and the scheduler's task stream shows that the
tasks ran on the cluster's workers. A lazy collection of files is read on the
workers, from its paths: the driver never reads an image.
"""

import json
import logging
import os

import numpy as np
import pytest

distributed = pytest.importorskip("distributed")

from joblib import parallel_backend  # noqa: E402

from semiseg_sk import make_segmenter  # noqa: E402
from semiseg_sk.cli import main  # noqa: E402
from semiseg_sk.cli._scheduler import (  # noqa: E402
    local_cluster,
    worker_environment_warning,
)
from semiseg_sk.io import (  # noqa: E402
    ImageCollection,
    LazyImage,
    read_image,
    read_labels,
)
from semiseg_sk.pipeline import iter_predict  # noqa: E402
from tests.cli.test_cli import FAST, _leftovers, _make_data  # noqa: E402


@pytest.fixture(scope="module")
def client():
    with local_cluster(2) as cluster, distributed.Client(cluster) as client:
        yield client


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return _make_data(tmp_path_factory.mktemp("data"))


def _read(data):
    images = [read_image(data / "img" / f"{name}.png") for name in "abcd"]
    labels = [
        read_labels(data / "lab" / "a.png"),
        read_labels(data / "lab" / "b_labels.png"),
    ] + [np.full(image.shape, -1) for image in images[2:]]
    return images, labels


def _workers_ran_tasks(client, stream):
    """Every task of the stream ran on a worker of ``client``'s cluster."""
    workers = {record["worker"] for record in stream.data}
    assert stream.data and workers <= set(client.nthreads()), workers
    return workers


def test_workers_start_without_dask_malloc_trim_setting(client):
    # dask's MALLOC_TRIM_THRESHOLD_=65536 makes per-image tasks ~1.8x slower.
    assert set(client.run(os.environ.get, "MALLOC_TRIM_THRESHOLD_").values()) == {None}
    assert client.nthreads() and set(client.nthreads().values()) == {1}
    assert worker_environment_warning(client) is None


def test_workers_with_dask_malloc_trim_setting_are_named(monkeypatch):
    # dask's nanny puts the setting in this process's environment before it
    # spawns a worker; monkeypatch takes it out again after the test.
    monkeypatch.setenv("MALLOC_TRIM_THRESHOLD_", "65536")
    with (
        distributed.LocalCluster(
            n_workers=1,
            threads_per_worker=1,
            dashboard_address=None,
            silence_logs=logging.ERROR,
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        message = worker_environment_warning(client)
    assert message.startswith("1 of the cluster's 1 workers run with ")
    assert "MALLOC_TRIM_THRESHOLD_=65536" in message
    assert "pre-spawn-environ.MALLOC_TRIM_THRESHOLD_: null" in message


def test_python_api_under_the_dask_backend(client, data):
    images, labels = _read(data)

    def segmenter(n_jobs):
        return make_segmenter(
            n_segments=20, autoencoder=False, random_state=0, n_jobs=n_jobs
        )

    expected = segmenter(1).fit(images, labels).predict(images)
    seg = segmenter(-1)
    with distributed.get_task_stream(client) as stream, parallel_backend("dask"):
        seg.fit(images, labels)
        masks = seg.predict(images)
    _workers_ran_tasks(client, stream)
    for mask, reference in zip(masks, expected):
        np.testing.assert_array_equal(mask, reference)


def test_a_lazy_collection_is_read_on_the_workers(client, data, monkeypatch):
    images, labels = _read(data)
    collection = ImageCollection.from_paths(
        [data / "img" / f"{name}.png" for name in "abcd"]
    )
    expected = make_segmenter(n_segments=20, autoencoder=False, random_state=0)
    expected = expected.fit(images, labels).predict(images)
    # Workers are other processes: only reads in this one are counted.
    read_here = []
    load = LazyImage.load
    monkeypatch.setattr(
        LazyImage, "load", lambda self: read_here.append(self.name) or load(self)
    )
    seg = make_segmenter(n_segments=20, autoencoder=False, random_state=0, n_jobs=2)
    with distributed.get_task_stream(client) as stream, parallel_backend("dask"):
        seg.fit(collection, labels)
        outputs = list(iter_predict(seg, collection, n_jobs=2))
    _workers_ran_tasks(client, stream)
    keys = [str(record["key"]) for record in stream.data]
    assert any("_load_and_segment" in key for key in keys), keys
    # One task per image: joblib must not batch images (uneven workers).
    assert sum("_predict_one" in key for key in keys) == len(images), keys
    # Fitting read, on this side, only the first image's channel count.
    assert read_here == ["a"], read_here
    for out, reference in zip(outputs, expected):
        np.testing.assert_array_equal(out.mask, reference)
        assert isinstance(out.regions._image, LazyImage)


def _cli(*argv):
    return main([str(a) for a in argv])


@pytest.fixture(scope="module")
def fitted(data, tmp_path_factory):
    """A model fitted here and its outputs predicted here, one image at a time."""
    root = tmp_path_factory.mktemp("here")
    model, out = root / "model.joblib", root / "out"
    assert _cli("fit", data / "img", "--labels", data / "lab", "-o", model, *FAST) == 0
    assert _cli("predict", model, data / "img", "--instances", "-q", "-o", out) == 0
    return model, out


def _same_outputs(folder, reference, names=None):
    names = names or sorted(n for n in os.listdir(reference) if n.endswith(".tif"))
    names = names + [n.replace("_instances.tif", "_labels.png") for n in names]
    for name in names:
        assert (folder / name).read_bytes() == (reference / name).read_bytes(), name
    assert _leftovers(folder) == []


def test_command_line_with_a_scheduler_address(client, data, fitted, tmp_path):
    model, reference = fitted
    address = client.scheduler.address
    fit = ["fit", data / "img", "--labels", data / "lab"] + FAST
    with distributed.get_task_stream(client) as stream:
        assert _cli(*fit, "-o", tmp_path / "there.joblib", "--scheduler", address) == 0
    _workers_ran_tasks(client, stream)

    predict = ["predict", model, data / "img", "--instances", "-q"]
    with distributed.get_task_stream(client) as stream:
        code = _cli(*predict, "-o", tmp_path / "there", "--scheduler", address)
    assert code == 0
    # Images are checked, then predicted and written, on the workers, one
    # task each: the steps inside a task do not send tasks of their own.
    keys = [str(record["key"]) for record in stream.data]
    assert any("check_file" in key for key in keys), keys
    assert any("predict_file" in key for key in keys), keys
    assert all("check_file" in key or "predict_file" in key for key in keys), keys
    _workers_ran_tasks(client, stream)
    _same_outputs(tmp_path / "there", reference)
    assert len(os.listdir(tmp_path / "there")) == 8

    # The model fitted on the cluster predicts as the one fitted here.
    predict[1] = tmp_path / "there.joblib"
    assert _cli(*predict, "-o", tmp_path / "there2") == 0
    _same_outputs(tmp_path / "there2", reference)


def test_command_line_starts_and_closes_a_local_cluster(data, fitted, tmp_path, capsys):
    model, reference = fitted
    predict = ["predict", model, data / "img" / "c.png", "--instances"]
    code = _cli(*predict, "-o", tmp_path, "--scheduler", "local:1")
    err = capsys.readouterr().err
    assert code == 0, err
    assert "started a local dask cluster of 1 worker processes" in err
    _same_outputs(tmp_path, reference, ["c_instances.tif"])


def test_evaluate_with_a_scheduler_address(client, data, fitted, capsys):
    model, _ = fitted
    evaluate = ["evaluate", model, data / "img", "--truth", data / "truth", "--json"]
    assert _cli(*evaluate, "-q") == 0
    here = json.loads(capsys.readouterr().out)
    with distributed.get_task_stream(client) as stream:
        assert _cli(*evaluate, "-q", "--scheduler", client.scheduler.address) == 0
    _workers_ran_tasks(client, stream)
    assert json.loads(capsys.readouterr().out) == here
