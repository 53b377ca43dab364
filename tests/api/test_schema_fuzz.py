"""Schemathesis over ``/openapi.json`` against a real server: no 5xx, every response inside its
documented status codes, content types and schemas. Positive and negative examples, with random
path ids and with a patient that exists. The default run is bounded (a few examples per
operation, admin token); the ``slow`` run tries more examples for every role and anonymous.

(Schemathesis' own pytest plugin does not run on pytest 9 yet, so the operations' Hypothesis
strategies are driven here directly.)
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.core.result import Ok

from tests.api.conftest import ROLES, Ward, seed_patient, start_ward, stop_ward

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
FUZZ_PATIENT = "P-FUZZ"
# Changing users at random could lock the fuzzer out (e.g. disable the admin it calls as).
SKIPPED_OPERATIONS = {("PATCH", "/api/v1/users/{name}")}


@pytest.fixture(scope="module")
def fuzz_ward(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ward]:
    """A server of its own: fuzzing creates users, patients and records."""
    tmp = tmp_path_factory.mktemp("fuzz")
    server = start_ward(tmp, f"sqlite:///{tmp / 'fuzz.db'}")
    seed_patient(server, FUZZ_PATIENT)
    yield server
    stop_ward(server)


def _strategy(operation: Any) -> st.SearchStrategy[Any]:
    strategies = [
        operation.as_strategy(generation_mode=mode)
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
    ]
    if "{patient_ref}" in operation.path:
        strategies.append(
            operation.as_strategy(
                generation_mode=GenerationMode.POSITIVE,
                path_parameters={"patient_ref": FUZZ_PATIENT},
            )
        )
    return st.one_of(strategies)


def fuzz(ward: Ward, headers: dict[str, str], max_examples: int) -> list[str]:
    """Run every operation's examples; the failures, one line each."""
    api = schemathesis.openapi.from_url(f"{ward.url}/openapi.json")
    failures: list[str] = []
    operations = 0
    for result in api.get_all_operations():
        if not isinstance(result, Ok):
            failures.append(f"an operation could not be read from the schema: {result.err()}")
            continue
        operation = result.ok()
        if (operation.method.upper(), operation.path) in SKIPPED_OPERATIONS:
            continue
        operations += 1

        @given(case=_strategy(operation))
        @settings(
            max_examples=max_examples,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def run(case: Any) -> None:
            case.call_and_validate(base_url=ward.url, headers=headers, checks=CHECKS)

        try:
            run()
        except Exception as exc:
            failures.append(f"{operation.method.upper()} {operation.path}: {exc}"[:2000])
    assert operations >= 15
    return failures


def test_api_conforms_to_its_schema(fuzz_ward: Ward) -> None:
    failures = fuzz(fuzz_ward, fuzz_ward.headers("admin"), max_examples=6)
    assert failures == [], "\n\n".join(failures)


@pytest.mark.parametrize("caller", ["anonymous", *ROLES])
def test_api_conforms_to_its_schema_briefly_for_every_role(fuzz_ward: Ward, caller: str) -> None:
    headers = {} if caller == "anonymous" else fuzz_ward.headers(caller)
    failures = fuzz(fuzz_ward, headers, max_examples=3)
    assert failures == [], "\n\n".join(failures)


@pytest.mark.slow
@pytest.mark.parametrize("caller", ["anonymous", *ROLES])
def test_api_conforms_to_its_schema_for_every_role(fuzz_ward: Ward, caller: str) -> None:
    headers = {} if caller == "anonymous" else fuzz_ward.headers(caller)
    failures = fuzz(fuzz_ward, headers, max_examples=80)
    assert failures == [], "\n\n".join(failures)
