"""The test run's plugins, loaded after coverage starts (`--cov`) so that the package's import is measured.

The package's pytest plugin collects the analysts' test cases and invariants under `policies/`. Installed,
it is an entry point that pytest would load before coverage starts; this run loads no plugin by its entry
point (`--disable-plugin-autoload` in pyproject.toml, which names the others it needs) and this one from
here instead. Users' runs are unchanged.
"""

pytest_plugins = ["pytester", "policy_engine.pytest_plugin"]
