"""Hypothesis profiles of the test suite, chosen by the environment variable HYPOTHESIS_PROFILE.

* `ci` (the default): a moderate number of examples per property, the same ones on every run, so that a
  failure reproduces and the suite's time is stable.
* `thorough`: twenty times as many, drawn afresh on each run: for releases and for changes to the
  compiler, the runtime or the generators (see docs/testing.md).
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

CI_EXAMPLES = 100

settings.register_profile(
    "ci", deadline=None, suppress_health_check=[HealthCheck.too_slow], max_examples=CI_EXAMPLES, derandomize=True
)
settings.register_profile(
    "thorough", deadline=None, suppress_health_check=[HealthCheck.too_slow], max_examples=20 * CI_EXAMPLES
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE") or "ci")


def scaled(examples: int) -> int:
    """A property's examples under `ci`; proportionally more under a profile with more examples."""
    return max(examples, examples * settings.default.max_examples // CI_EXAMPLES)
