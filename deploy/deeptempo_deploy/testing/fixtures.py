"""pytest fixtures over deeptempo_deploy.testing. Nothing activates them on install: a conftest.py asks,

    pytest_plugins = ["deeptempo_deploy.testing.fixtures"]

- `deeptempo_image`: the image under test, $DEEPTEMPO_IMAGE (override the fixture to choose otherwise);
- `deeptempo_secrets`: the secrets the service starts with, {} unless overridden (a conftest returns
  its own, e.g. read from CI's secret store, or generated test values);
- `deeptempo_delivery`: how they are delivered, "files" (the secrets directory) unless overridden;
- `deeptempo_database`: a PostgreSQL container ($DEEPTEMPO_POSTGRES_IMAGE, else postgres:15-bookworm);
- `deeptempo_service`: the service, healthy, without a database (DATA_BACKEND=json);
- `deeptempo_service_with_database`: the service, healthy, on `deeptempo_database`;
- `deeptempo_labels`: labels on every container and network they start, from $DEEPTEMPO_CONTAINER_LABELS
  (`key=value,key=value`), so a CI job that shares its engine removes exactly what it made.
Each container is removed when its test ends. Where testcontainers' Ryuk image cannot be pulled, set
TESTCONTAINERS_RYUK_DISABLED=true: the fixtures remove what they start themselves."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from deeptempo_deploy.testing import POSTGRES_IMAGE, DatabaseContainer, DeepTempoContainer, Delivery

LABELS_VARIABLE = "DEEPTEMPO_CONTAINER_LABELS"
MAX_LABELS_LENGTH = 4096


def labels_from(text: str) -> dict[str, str]:
    """`key=value,key=value` as labels; a pair without `=` is refused (it would label nothing)."""
    if len(text) > MAX_LABELS_LENGTH:
        raise pytest.UsageError(f"{LABELS_VARIABLE} is longer than {MAX_LABELS_LENGTH} characters")
    labels = {}
    for pair in filter(None, (part.strip() for part in text.split(","))):
        key, separator, value = pair.partition("=")
        if not separator or not key:
            raise pytest.UsageError(f"{LABELS_VARIABLE}: {key or pair!r} is not key=value")
        labels[key] = value
    return labels


@pytest.fixture(scope="session")
def deeptempo_labels() -> dict[str, str]:
    return labels_from(os.environ.get(LABELS_VARIABLE, ""))


@pytest.fixture(scope="session")
def deeptempo_image() -> str:
    image = os.environ.get("DEEPTEMPO_IMAGE")
    if not image:
        pytest.fail("set DEEPTEMPO_IMAGE to the image under test (or override the deeptempo_image fixture)", pytrace=False)
    return image


@pytest.fixture
def deeptempo_secrets() -> dict[str, str]:
    return {}


@pytest.fixture
def deeptempo_delivery() -> Delivery:
    return "files"


@pytest.fixture
def deeptempo_database(deeptempo_labels: dict[str, str]) -> Iterator[DatabaseContainer]:
    image = os.environ.get("DEEPTEMPO_POSTGRES_IMAGE") or POSTGRES_IMAGE
    with DatabaseContainer(image, labels=deeptempo_labels) as database:
        yield database


@pytest.fixture
def deeptempo_service(deeptempo_image: str, deeptempo_secrets: dict[str, str], deeptempo_delivery: Delivery,
                      deeptempo_labels: dict[str, str]) -> Iterator[DeepTempoContainer]:
    __tracebackhide__ = True  # pytest would print this frame's arguments: the secrets' values
    container = DeepTempoContainer(deeptempo_image, delivery=deeptempo_delivery, labels=deeptempo_labels)
    with container.with_secrets(deeptempo_secrets).with_setting("DATA_BACKEND", "json") as service:
        yield service


@pytest.fixture
def deeptempo_service_with_database(deeptempo_image: str, deeptempo_secrets: dict[str, str], deeptempo_delivery: Delivery,
                                    deeptempo_labels: dict[str, str],
                                    deeptempo_database: DatabaseContainer) -> Iterator[DeepTempoContainer]:
    __tracebackhide__ = True  # pytest would print this frame's arguments: the secrets' values
    container = DeepTempoContainer(deeptempo_image, delivery=deeptempo_delivery, labels=deeptempo_labels)
    with container.with_secrets(deeptempo_secrets).with_database(deeptempo_database) as service:
        yield service
