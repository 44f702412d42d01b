# Authors: The semiseg_sk developers
# SPDX-License-Identifier: BSD-3-Clause
"""scikit-learn's common estimator checks on every semiseg_sk estimator that
takes 2-D feature arrays.

Image-level estimators (lists of images or regions) are not 2-D array
estimators; they have their own clone/pickle/get_params tests.
"""

from sklearn.utils.estimator_checks import parametrize_with_checks

from semiseg_sk import SparseLabelSpreading

# Small, fast constructor arguments per estimator class (in the style of
# scikit-learn's ``instance_generator.INIT_PARAMS``).
INIT_PARAMS = {
    SparseLabelSpreading: dict(n_neighbors=5, max_iter=20),
}

# Checks that are expected to fail, with the reason, per estimator class.
EXPECTED_FAILED_CHECKS = {
    SparseLabelSpreading: {
        "check_classifiers_classes": (
            "-1 marks unlabeled samples, so a target with the labels {-1, 1} "
            "has a single class. scikit-learn exempts its own LabelSpreading "
            "from this by class name only."
        ),
    },
}


def _tested_estimators():
    for Estimator, params in INIT_PARAMS.items():
        yield Estimator(**params)


def _get_expected_failed_checks(estimator):
    return EXPECTED_FAILED_CHECKS.get(type(estimator), {})


@parametrize_with_checks(
    list(_tested_estimators()), expected_failed_checks=_get_expected_failed_checks
)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
