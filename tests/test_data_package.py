"""The open data as other tools load it: a Frictionless Data Package whose flat CSV files
validate against their own Table Schemas (types, keys, foreign keys), JSON files that
validate against the JSON Schema published beside them, stable ids and URLs, and files that
a build updates like any other output, growing linearly with the site."""

from __future__ import annotations

import csv
import io
import json
import shutil
import sys
from pathlib import Path

import jsonschema
import pytest
from frictionless import Package

from site_builder.build import BuildResult, build
from site_builder.datapackage import all_tables

from .conftest import CONTENT, ROOT, VOTING_DAY


def validate_package(site: Path) -> None:
    report = Package(str(site / "data" / "datapackage.json")).validate()
    errors = [f"{task.name}: {error.message}" for task in report.tasks for error in task.errors] + [
        error.message for error in report.errors
    ]
    assert report.valid, "\n".join(errors[:20])


def rows(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))


def test_the_default_site_is_a_valid_data_package(built_site: BuildResult) -> None:
    site = built_site.out
    validate_package(site)
    package = json.loads((site / "data" / "datapackage.json").read_text())
    listed = {resource["path"] for resource in package["resources"]}
    assert listed == {p.name for p in (site / "data").glob("*.csv")}
    assert package["licenses"][0]["path"].startswith("https://creativecommons.org/")
    assert package["created"].startswith("20")
    for resource in package["resources"]:
        schema = resource["schema"]
        assert schema["primaryKey"]
        for field in schema["fields"]:
            assert field["description"] and field["description_en"], (resource["name"], field)
    # Keys and references: a stage's divisions name teams, a campaign's regions name regions.
    by_name = {r["name"]: r for r in package["resources"]}
    assert {"fields": ["team_id"], "reference": {"resource": "teams", "fields": ["id"]}} in (
        by_name["stage_divisions"]["schema"]["foreignKeys"]
    )
    assert {
        "fields": ["stage_id"],
        "reference": {"resource": "stages", "fields": ["id"]},
    } in by_name["stage_sources"]["schema"]["foreignKeys"]


def test_every_csv_is_flat(built_site: BuildResult) -> None:
    """No list or mapping hidden in a cell as JSON text: a spreadsheet filters every column."""
    for path in (built_site.out / "data").glob("*.csv"):
        for row in rows(path):
            for column, value in row.items():
                assert not value.startswith(("[", "{")), (path.name, column, value)
    sources = rows(built_site.out / "data" / "stage_sources.csv")
    assert sources and set(sources[0]) == {"stage_id", "position", "title", "url"}
    assert all(":443/" not in row["url"] for row in sources)


def test_each_json_export_is_what_its_schema_says(built_site: BuildResult) -> None:
    data = built_site.out / "data"
    checker = jsonschema.FormatChecker()
    for name in ("stages", "teams", "campaigns", "regions"):
        schema = json.loads((data / f"{name}.schema.json").read_text())
        jsonschema.Draft202012Validator.check_schema(schema)
        exported = json.loads((data / f"{name}.json").read_text())
        assert exported
        jsonschema.validate(exported, schema, format_checker=checker)
        if name == "regions":
            continue
        whole = json.loads((data / f"{name}.record.schema.json").read_text())
        for path in sorted((data / name).glob("*.json")):
            jsonschema.validate(json.loads(path.read_text()), whole, format_checker=checker)
    # Exactly: a property the file does not hold, or one the schema does not name, fails.
    stages = json.loads((data / "stages.json").read_text())
    schema = json.loads((data / "stages.schema.json").read_text())
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate([{**stages[0], "extra": 1}], schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate([{k: v for k, v in stages[0].items() if k != "status"}], schema)


def with_base_url(tmp_path: Path) -> Path:
    content = tmp_path / "content"
    shutil.copytree(CONTENT, content)
    site = content / "site.yaml"
    site.write_text(site.read_text() + "\nbase_url: https://pantau.example.go.id/\n")
    return content


def test_ids_and_urls_are_stable_and_absolute_with_a_base_url(tmp_path: Path) -> None:
    content = with_base_url(tmp_path)
    out = tmp_path / "public"
    build(content, out, today=VOTING_DAY)
    first = rows(out / "data" / "stages.csv")
    assert all(r["url"].startswith("https://pantau.example.go.id/tahapan/") for r in first)
    assert all(r["data"].startswith("https://pantau.example.go.id/data/stages/") for r in first)
    assert all(r["id"] in r["url"] for r in first)
    stage = content / "stages" / "pemungutan-suara.md"
    stage.write_text(stage.read_text().replace("summary:", "summary: Diubah.", 1))
    build(content, out, today=VOTING_DAY)
    again = rows(out / "data" / "stages.csv")
    assert [(r["id"], r["url"]) for r in again] == [(r["id"], r["url"]) for r in first]
    exported = json.loads((out / "data" / "stages.json").read_text())
    assert exported[0]["url"].startswith("https://pantau.example.go.id/")


def test_without_a_base_url_urls_are_from_the_site_root(built_site: BuildResult) -> None:
    first = rows(built_site.out / "data" / "stages.csv")[0]
    assert first["url"] == f"tahapan/{first['id']}/index.html"
    assert first["data"] == f"data/stages/{first['id']}.json"


def test_a_change_rewrites_only_the_tables_it_touches(tmp_path: Path) -> None:
    content = tmp_path / "content"
    shutil.copytree(CONTENT, content)
    out = tmp_path / "public"
    build(content, out, today=VOTING_DAY)
    team = next((content / "teams").glob("*.md"))
    text = team.read_text()
    team.write_text(text.replace("summary: ", "summary: Diperbarui. ", 1))
    result = build(content, out, today=VOTING_DAY)
    written = {path for path in result.changes.written if path.startswith("data/")}
    assert "data/teams.csv" in written
    assert not written & {"data/stages.csv", "data/campaigns.csv", "data/regions.csv"}
    assert not written & {"data/stage_sources.csv", "data/team_members.csv"}


def corpus(target: Path, records: int) -> Path:
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        from corpus import generate  # type: ignore[import-not-found]
    finally:
        sys.path.remove(str(ROOT / "scripts"))
    return generate(target, records)  # type: ignore[no-any-return]


@pytest.mark.slow
def test_a_large_generated_site_is_valid_and_grows_linearly(tmp_path: Path) -> None:
    sizes: dict[int, int] = {}
    for records in (600, 1200):
        content = corpus(tmp_path / f"content-{records}", records)
        out = tmp_path / f"public-{records}"
        build(content, out, today=VOTING_DAY)
        data = out / "data"
        sizes[records] = sum(
            (data / table.path.removeprefix("data/")).stat().st_size for table in all_tables()
        ) + sum((data / f"{name}.json").stat().st_size for name in ("stages", "teams", "campaigns"))
    validate_package(out)
    ratio = sizes[1200] / sizes[600]
    assert 1.8 < ratio < 2.2, sizes


def test_the_data_page_explains_each_file(built_site: BuildResult) -> None:
    page = (built_site.out / "data" / "index.html").read_text()
    assert "datapackage.json" in page
    for table in all_tables():
        assert table.path.removeprefix("data/") in page, table.name
    assert "pd.read_csv(" in page  # a one-line example of loading it in Python
    assert "lisensi" in page.lower()
