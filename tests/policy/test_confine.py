"""Messages of the policy-file confinement (:mod:`skyfence.policy.confine`): one line in the project's style --
the field, the file as the user wrote it (quoted once, no Python escaping), what is wrong and how to fix it."""

from __future__ import annotations

import pytest

from skyfence.errors import PolicyError
from skyfence.policy.confine import confined, policy_file

#: A name repr() would mangle: a backslash (doubled by repr, and again by JSON) and a single quote (repr switched to
#: double quotes).
NAME = "zones\\Taiwan's coast.geojson"


def _refusal(root, name: str) -> str:
    with confined(root), pytest.raises(PolicyError) as refused:
        policy_file(name, root or "/nonexistent", field="zones.tw.files[0]")
    text = str(refused.value)
    assert "\n" not in text and "\\\\" not in text and '"' not in text, text
    return text


def test_no_policy_directory_names_the_field_the_file_and_the_fix():
    text = _refusal(None, NAME)
    assert "zones.tw.files[0]" in text, text
    assert f"file '{NAME}' cannot be read: uploaded policies read no files on the server" in text, text
    assert "SKYFENCE_POLICY_DIR" in text, text


def test_a_file_outside_the_policy_directory_is_named_as_written(tmp_path):
    text = _refusal(tmp_path, f"../{NAME}")
    assert "zones.tw.files[0]" in text, text
    assert f"file '../{NAME}' is outside the policy directory" in text, text
    assert "relative path without '..'" in text, text
