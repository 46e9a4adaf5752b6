"""The test run's plugins, loaded after coverage starts (`--cov`) so that the package's import is measured.

The package's pytest plugin collects the analysts' test cases and invariants under `policies/`. Installed,
it is an entry point that pytest loads before coverage starts; this run loads it from here instead
(`-p no:policy-engine` in pyproject.toml), and users' runs are unchanged.
"""

pytest_plugins = ["pytester", "policy_engine.pytest_plugin"]
