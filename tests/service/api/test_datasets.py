"""Datasets over HTTP: every upload format, paging, delete, and bad tables refused whole."""

from __future__ import annotations

import io

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from fastapi.testclient import TestClient

from tests.service.conftest import is_problem, normal_rows, upload_rows


def _csv(header: str, *lines: str) -> bytes:
    return "\n".join([header, *lines]).encode()


def _count(client: TestClient) -> int:
    total: int = client.get("/v1/datasets").json()["total"]
    return total


def test_csv_upload_records_shape_columns_and_hash(client: TestClient) -> None:
    data = _csv("a,b,c", "1,2,3", "4,5,6.5")
    response = client.post("/v1/datasets", files={"file": ("s.csv", data, "text/csv")})
    body = response.json()
    assert response.status_code == 201, body
    assert (body["n_rows"], body["n_features"], body["columns"]) == (2, 3, ["a", "b", "c"])
    assert body["name"] == "s" and len(body["sha256"]) == 64 and body["size_bytes"] > 0
    assert client.get(f"/v1/datasets/{body['id']}").json() == body


def test_npy_parquet_and_json_files_are_read(client: TestClient) -> None:
    x = normal_rows(10, 3)
    npy = io.BytesIO()
    np.save(npy, x)
    parquet = io.BytesIO()
    pq.write_table(pa.table({"u": x[:, 0], "v": x[:, 1]}), parquet)
    uploads = {
        "x.npy": (npy.getvalue(), ["f0", "f1", "f2"]),
        "x.parquet": (parquet.getvalue(), ["u", "v"]),
        "x.json": (b'{"columns": ["p", "q"], "rows": [[1, 2], [3, 4]]}', ["p", "q"]),
    }
    for filename, (content, columns) in uploads.items():
        response = client.post(
            "/v1/datasets", files={"file": (filename, content)}, data={"name": "n"}
        )
        assert response.status_code == 201, (filename, response.text)
        assert response.json()["columns"] == columns and response.json()["name"] == "n"


def test_json_body_defaults_column_names(client: TestClient) -> None:
    response = client.post("/v1/datasets", json={"rows": [[1, 2], [3, 4], [5, 6]]})
    assert response.status_code == 201
    assert response.json()["columns"] == ["f0", "f1"]


def test_list_pages_and_delete(client: TestClient) -> None:
    first = upload_rows(client, normal_rows(5, 2), name="first")
    page = client.get("/v1/datasets", params={"limit": 1, "offset": 0}).json()
    assert len(page["items"]) == 1 and page["total"] >= 1
    assert client.delete(f"/v1/datasets/{first['id']}").status_code == 204
    is_problem(client.get(f"/v1/datasets/{first['id']}"), 404)
    is_problem(client.delete(f"/v1/datasets/{first['id']}"), 404)


def test_non_numeric_csv_names_the_column_and_row(client: TestClient) -> None:
    before = _count(client)
    data = _csv("a,b", "1,2", "3,oops")
    body = is_problem(client.post("/v1/datasets", files={"file": ("t.csv", data)}), 422)
    assert "'b'" in body["detail"] and "row 1" in body["detail"]
    assert body["errors"][0]["loc"][-2:] == [1, "b"]
    assert _count(client) == before


def test_missing_value_and_ragged_csv_are_refused(client: TestClient) -> None:
    missing = is_problem(
        client.post("/v1/datasets", files={"file": ("t.csv", _csv("a,b", "1,2", "3,"))}), 422
    )
    assert "'b'" in missing["detail"]
    ragged = client.post("/v1/datasets", files={"file": ("t.csv", _csv("a,b", "1,2", "3,4,5"))})
    is_problem(ragged, 422)


def test_ragged_and_non_numeric_json_name_the_row(client: TestClient) -> None:
    before = _count(client)
    ragged = is_problem(client.post("/v1/datasets", json={"rows": [[1, 2], [3]]}), 422)
    assert ragged["errors"][0]["loc"] == ["body", "rows", 1]
    text = is_problem(client.post("/v1/datasets", json={"rows": [[1, 2], [3, "x"]]}), 422)
    assert "row 1" in text["detail"]
    assert _count(client) == before


def test_nan_and_inf_are_refused_with_their_cell(client: TestClient) -> None:
    x = np.ones((3, 2))
    x[2, 1] = np.nan
    npy = io.BytesIO()
    np.save(npy, x)
    body = is_problem(client.post("/v1/datasets", files={"file": ("x.npy", npy.getvalue())}), 422)
    assert "row 2" in body["detail"] and "NaN" in body["detail"]
    inf = is_problem(
        client.post("/v1/datasets", files={"file": ("t.csv", _csv("a,b", "1,2", "inf,3"))}), 422
    )
    assert "row 1" in inf["detail"] and "'a'" in inf["detail"]


def test_empty_and_single_row_tables_are_refused(client: TestClient) -> None:
    is_problem(client.post("/v1/datasets", files={"file": ("t.csv", b"a,b\n")}), 422)
    for kind in ("text/csv", "application/x-npy", "application/vnd.apache.parquet"):
        empty = client.post("/v1/datasets", content=b"", headers={"content-type": kind})
        assert is_problem(empty, 422)["detail"] == "file: it is empty"
    is_problem(client.post("/v1/datasets", json={"rows": [[1, 2]]}), 422)
    is_problem(client.post("/v1/datasets", json={"rows": []}), 422)
    is_problem(
        client.post(
            "/v1/datasets", content=b"{not json", headers={"content-type": "application/json"}
        ),
        422,
    )


def test_json_body_fields_are_checked(client: TestClient) -> None:
    is_problem(client.post("/v1/datasets", json={"rows": [[1], [2]], "extra": 1}), 422)
    is_problem(client.post("/v1/datasets", json={"rows": [[1], [2]], "name": 5}), 422)
    is_problem(client.post("/v1/datasets", json={"rows": [[1], [2]], "columns": ["a", "b"]}), 422)
    is_problem(
        client.post("/v1/datasets", json={"rows": [[1, 2], [2, 3]], "columns": ["a", "a"]}), 422
    )


def test_unknown_dataset_is_404(client: TestClient) -> None:
    body = is_problem(client.get("/v1/datasets/999999"), 404)
    assert body["title"] == "DatasetNotFound"


def test_csv_options_come_as_form_fields_or_query_parameters(client: TestClient) -> None:
    headerless = b"1;2;3\n4;5;6\n7;8;9\n"
    form = client.post(
        "/v1/datasets", files={"file": ("s.csv", headerless)}, data={"header": "false"}
    )
    assert form.status_code == 201, form.text
    assert form.json()["columns"] == ["f0", "f1", "f2"] and form.json()["n_rows"] == 3
    named = client.post(
        "/v1/datasets?header=true&delimiter=%3B", files={"file": ("s.csv", headerless)}
    )
    assert named.json()["columns"] == ["1", "2", "3"] and named.json()["n_rows"] == 2
    bad = client.post("/v1/datasets?delimiter=x", files={"file": ("s.csv", headerless)})
    assert is_problem(bad, 422)["errors"][0]["loc"][:2] == ["query", "delimiter"]


def test_raw_file_bodies_are_read_and_other_types_are_415(client: TestClient) -> None:
    csv_body = client.post(
        "/v1/datasets?name=raw", content=b"a,b\n1,2\n3,4\n", headers={"content-type": "text/csv"}
    )
    assert csv_body.status_code == 201 and csv_body.json()["name"] == "raw"
    buffer = io.BytesIO()
    np.save(buffer, np.ones((3, 2)))
    npy_body = client.post(
        "/v1/datasets", content=buffer.getvalue(), headers={"content-type": "application/x-npy"}
    )
    assert npy_body.status_code == 201 and npy_body.json()["n_rows"] == 3
    other = client.post(
        "/v1/datasets", content=b"a,b\n1,2\n", headers={"content-type": "application/xml"}
    )
    problem = is_problem(other, 415)
    assert "text/csv" in problem["detail"] and "multipart/form-data" in problem["detail"]


def test_a_form_without_a_file_part_names_it(client: TestClient) -> None:
    multipart = {"name": (None, "nofile"), "data": ("d.csv", b"a\n1\n2\n")}  # no `file` part
    problem = is_problem(client.post("/v1/datasets", files=multipart), 422)
    assert problem["errors"][0]["loc"] == ["body", "file"]


def test_a_json_body_has_its_query_string_checked_too(client: TestClient) -> None:
    body = {"columns": ["a", "b"], "rows": [[1.0, 2.0], [3.0, 4.5]]}
    problem = is_problem(client.post("/v1/datasets?name=", json=body), 422)
    assert problem["errors"][0]["loc"][:2] == ["query", "name"]
    named = client.post("/v1/datasets?name=from-query", json=body)
    assert named.status_code == 201 and named.json()["name"] == "from-query"
    both = client.post("/v1/datasets?name=from-query", json=body | {"name": "from-body"})
    assert both.json()["name"] == "from-body"
