"""The browser editor's forms, made from the models: every field once, in Indonesian."""

from __future__ import annotations

from site_builder.forms import form, form_texts
from site_builder.i18n import translations
from site_builder.models import COLLECTIONS


def test_every_field_but_the_servers_own_is_in_the_form_once() -> None:
    for name, spec in COLLECTIONS.items():
        names = [f["name"] for f in form(name)]
        assert sorted(names) == sorted(n for n in spec.model.model_fields if n != "updated")


def test_labels_and_help_are_indonesian() -> None:
    catalogue = translations("id")
    for text in form_texts():
        assert catalogue.gettext(text) != text or text in {"Status", "Label", "Menu", "Tupoksi"}
    fields = {f["name"]: f for f in form("campaigns")}
    assert fields["title"]["label"] == "Judul"
    assert fields["regions"]["label"] == "Wilayah"
    assert fields["body"]["help"] == "Teks halaman dalam Markdown."


def test_inputs_follow_the_types_and_references() -> None:
    stage = {f["name"]: f for f in form("stages")}
    assert stage["start"]["kind"] == "date"
    assert stage["publish_at"]["kind"] == "datetime"
    assert stage["phase"]["kind"] == "select"
    assert [o[0] for o in stage["phase"]["options"]] == ["persiapan", "penyelenggaraan", "pasca"]
    assert stage["divisions"] == {**stage["divisions"], "kind": "choices", "source": "teams"}
    assert stage["after"]["kind"] == "group"
    after = {f["name"]: f for f in stage["after"]["fields"]}
    assert after["stage"]["source"] == "stages"
    assert after["days"]["kind"] == "number"
    assert stage["results"]["kind"] == "raw"  # tallies: edited in the raw text view
    assert stage["sources"]["kind"] == "rows"
    assert [f["name"] for f in stage["sources"]["fields"]] == ["title", "url"]
    assert stage["draft"]["kind"] == "checkbox"
    campaign = {f["name"]: f for f in form("campaigns")}
    assert campaign["regions"]["source"] == "regions"
    assert campaign["audience"]["kind"] == "lines"
    assert campaign["image"]["kind"] == "group"
