"""The kit's pytest fixtures (deeptempo_deploy.testing.fixtures), asked for here: installing the kit's
`testing` extra activates nothing by itself. The secrets the service starts with are made for the run
(nothing from CI's secret store is needed to test the API); override `deeptempo_delivery` to try
"file-variable" or "environment" instead of the secrets directory."""

import secrets

import pytest

pytest_plugins = ["deeptempo_deploy.testing.fixtures"]


@pytest.fixture
def deeptempo_secrets() -> dict[str, str]:
    return {"CLAUDE_API_KEY": "sk-ant-ci-" + secrets.token_hex(20)}
