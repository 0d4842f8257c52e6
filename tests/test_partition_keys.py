"""Path traversal through partition keys (issue 13, part 2): ``gasp backfill --subjects ../../../x`` and the
``avatar_fit`` partition ``monocular|../../../x`` read and wrote outside GASP_DATA_ROOT. Keys are checked where they
are created and where they are used, and every path built from them stays under the data root."""

import os

import dagster as dg
import pytest

from gasp_ops.errors import GaspInputError
from gasp_ops.io.safe_paths import check_key, path_under
from tests.bad_input_fixtures import assert_one_line_error, gasp

HOSTILE = ["../../../x", "..", "a/b", "/etc", "x\\..\\y", "036|monocular", "a,b", "", " 036", "x" * 65, "café",
           "٣٦", "a\x00b", "$(id)", "*"]


@pytest.mark.parametrize("key", HOSTILE)
def test_check_key_refuses_paths_and_odd_names(key):
    with pytest.raises(GaspInputError, match="^subject: .* is not a valid key"):
        check_key("subject", key)


@pytest.mark.parametrize("key", ["036", "real_proxy", "s-1", "A" * 64])
def test_check_key_accepts_plain_names(key):
    assert check_key("subject", key) == key


def test_path_under_refuses_escapes(tmp_path):
    root = tmp_path / "root"
    (root / "tiny").mkdir(parents=True)
    assert path_under(root, "tiny", "avatars", "036") == root / "tiny" / "avatars" / "036"
    for parts in (("tiny", "../../../x"), ("/etc/passwd",), ("tiny", "..", "..", "x"), ("..",)):
        with pytest.raises(GaspInputError, match="outside the data root"):
            path_under(root, *parts)
    assert path_under(root, "tiny", "..", "paper") == root / "tiny" / ".." / "paper"  # still inside
    # A link the root's owner placed (a dataset on another disk) is followed: a key cannot create one.
    (root / "nersemble").symlink_to(tmp_path / "datasets", target_is_directory=True)
    assert path_under(root, "nersemble", "036") == root / "nersemble" / "036"


def test_data_root_resource_refuses_paths_outside(tmp_path):
    from assets_defs.resources import DataRoot

    root = DataRoot(root=str(tmp_path / "root"))
    assert root.path("tiny", "prior", "x").parent.is_dir()
    with pytest.raises(GaspInputError, match="outside the data root"):
        root.path("tiny", "avatars", "../../../../escaped", "x")
    assert not (tmp_path / "escaped").exists()


@pytest.mark.parametrize("subjects", ["../../../x", "036,../../x", "a/b", "..", "036|x"])
def test_backfill_refuses_hostile_subjects_before_touching_the_instance(subjects, capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "home"))  # would be created by DagsterInstance.get()
    code, err, _ = gasp(capsys, "backfill", "--subjects", subjects, "--settings", "monocular")
    assert_one_line_error(code, err, "--subjects")
    assert not (tmp_path / "home").exists()  # refused before the instance (and its partitions) was opened


def test_fitting_helpers_refuse_hostile_keys(tmp_path):
    from assets_defs.comparison_assets import _subject_folder, comparison_dir
    from assets_defs.capture_assets import _subject_id
    from assets_defs.fitting_assets import avatar_dir, frame_table_path
    from assets_defs.resources import DataRoot

    root = DataRoot(root=str(tmp_path / "root"))
    assert avatar_dir(root, "tiny", "036", "monocular") == tmp_path / "root" / "tiny" / "avatars" / "036" / "monocular"
    for subject, setting in (("../../../x", "monocular"), ("036", "../../x"), ("036", "mono/cular")):
        with pytest.raises(GaspInputError, match="is not a valid key"):
            avatar_dir(root, "tiny", subject, setting)
        with pytest.raises(GaspInputError, match="is not a valid key"):
            comparison_dir(root, "tiny", subject, setting)
    with pytest.raises(GaspInputError, match="is not a valid key"):
        frame_table_path(root, "tiny", "../../../x")
    for key in ("../../../x", "3/6"):
        with pytest.raises(GaspInputError, match="is not a valid key"):
            _subject_id(key)
        with pytest.raises(GaspInputError, match="is not a valid key"):
            _subject_folder(key)
    with pytest.raises(GaspInputError, match="NeRSemble subjects are numbers"):
        _subject_id("abc")
    assert _subject_id("036") == 36 and _subject_id("real_proxy") == 900
    assert not any(p.name == "x" for p in tmp_path.rglob("*"))


def test_avatar_fit_partition_with_traversal_fails_and_writes_nothing_outside(tmp_path):
    """The partition ``monocular|../../../x`` (registered by hand, as the unvalidated backfill did) fails the run
    with the key named; nothing is read or written outside the data root."""
    from assets_defs.fitting_assets import avatar_fit
    from assets_defs.resources import default_resources

    root = tmp_path / "a" / "b" / "c" / "root"
    root.mkdir(parents=True)
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions("subjects", ["../../../x"])
    res = {**default_resources(), "data_root": default_resources()["data_root"].__class__(root=str(root))}
    before = {p for p in tmp_path.rglob("*")}
    result = dg.materialize([avatar_fit], resources=res, instance=instance, raise_on_error=False,
                            partition_key="monocular|../../../x")
    assert not result.success
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    assert "subject: '../../../x' is not a valid key" in failure.event_specific_data.error.message
    created = {p for p in tmp_path.rglob("*")} - before
    assert all(root in p.parents for p in created), sorted(map(str, created))
    assert not os.path.exists(root.parent.parent.parent / "x")


def test_register_subjects_checks_every_key_before_adding_any():
    from assets_defs.partitions import register_subjects

    instance = dg.DagsterInstance.ephemeral()
    assert register_subjects(instance, ["036", "real_proxy"]) == ["036", "real_proxy"]
    assert register_subjects(instance, ["036", "037"]) == ["037"]
    with pytest.raises(GaspInputError, match="^subject: '../../../x' is not a valid key"):
        register_subjects(instance, ["038", "../../../x"])
    assert sorted(instance.get_dynamic_partitions("subjects")) == ["036", "037", "real_proxy"]
