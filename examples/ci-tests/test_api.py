"""Our image's API against its own PostgreSQL, in CI: a case saved through the API is listed by the API
and is a row in the database (not a JSON file the backend fell back to)."""

import json
import urllib.request

from deeptempo_deploy.testing import DatabaseContainer, DeepTempoContainer


def call(service: DeepTempoContainer, method: str, path: str, body: object = None) -> object:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(service.url(path), data=data, method=method,
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as answer:
        return json.loads(answer.read())


def test_a_saved_case_is_listed_and_stored_in_postgresql(deeptempo_service_with_database: DeepTempoContainer,
                                                          deeptempo_database: DatabaseContainer) -> None:
    service = deeptempo_service_with_database
    call(service, "POST", "/api/cases/", {"title": "CI case", "description": "from the CI recipe",
                                          "finding_ids": [], "priority": "low"})
    listed = call(service, "GET", "/api/cases/?force_refresh=true")
    assert [case["title"] for case in listed["cases"]] == ["CI case"]
    rows = deeptempo_database.exec(["psql", "-U", deeptempo_database.username, "-d", deeptempo_database.dbname,
                                    "-tAc", "SELECT count(*) FROM cases"])
    assert rows.exit_code == 0 and rows.output.decode().strip() == "1"
