"""The zh_Hans catalogue is complete and the shipped .mo matches it (no gettext tools needed to run)."""

import shutil

import polib

from tests.commands import BASE, manage

LOCALE = BASE / "locale" / "zh_Hans" / "LC_MESSAGES"


def test_every_message_is_translated_and_none_is_fuzzy():
    po = polib.pofile(str(LOCALE / "django.po"))
    untranslated = [e.msgid for e in po.untranslated_entries()]
    fuzzy = [e.msgid for e in po.fuzzy_entries()]
    assert untranslated == [] and fuzzy == []


def test_compiled_catalogue_matches_the_source():
    po = polib.pofile(str(LOCALE / "django.po"))
    mo = polib.mofile(str(LOCALE / "django.mo"))
    assert {e.msgid: e.msgstr for e in po.translated_entries()} == {e.msgid: e.msgstr for e in mo if e.msgid}


def test_catalogue_holds_exactly_the_messages_of_the_source(tmp_path):
    """A string marked for translation but missing from django.po would show in English; `make messages`
    extracts them. Extracting again into a copy of the sources must find nothing new and nothing stale."""
    assert shutil.which("xgettext"), "GNU gettext is needed to extract messages (make test installs it)"
    copy = tmp_path / "src"
    shutil.copytree(
        BASE,
        copy,
        ignore=shutil.ignore_patterns(
            ".git", ".venv", "var", "node_modules", "__pycache__", "screenshots", "staticfiles", "*.sqlite3*"
        ),
    )
    result = manage(
        "makemessages", "-l", "zh_Hans", "--ignore=.venv", "--ignore=var", "--no-obsolete", env={}, cwd=copy
    )
    assert result.returncode == 0, result.stderr

    def keys(path):
        return {(e.msgctxt, e.msgid) for e in polib.pofile(str(path))}

    committed, extracted = keys(LOCALE / "django.po"), keys(copy / "locale/zh_Hans/LC_MESSAGES/django.po")
    assert sorted(extracted - committed, key=str) == [], "in the source, not in django.po: run make messages"
    assert sorted(committed - extracted, key=str) == [], "in django.po, no longer in the source"
