"""Every dataset reader: real data where present, native-layout fixtures otherwise; bad inputs."""

import numpy as np
import pytest
from PIL import Image

from interseg.data.readers.berkeley import BerkeleyDataset
from interseg.data.readers.coco import CocoDataset, LvisDataset
from interseg.data.readers.coco_mval import CocoMValDataset
from interseg.data.readers.davis import DavisDataset
from interseg.data.readers.ecssd import EcssdDataset
from interseg.data.readers.folder import FolderDataset
from interseg.data.readers.grabcut import GrabCutDataset
from interseg.data.readers.pascalvoc import PascalVOCDataset
from interseg.data.readers.saic_is import SaicISDataset
from interseg.data.readers.sbd import SBDDataset
from interseg.data.registry import BUNDLED_SAMPLE_NAMES, SampleDataset, build_train_dataset
from interseg.errors import DataError

from .conftest import require_data
from .fixtures import instance_map, write_ccp, write_coco, write_duts, write_lvis, write_saic_is, write_sbd, write_voc


def _check(sample):
    h, w = sample.image.shape[:2]
    assert sample.image.dtype == np.uint8 and sample.image.shape[2] == 3
    for m in sample.masks:
        assert m.dtype == bool and m.shape == (h, w) and m.any()
    assert sample.ignore.shape == (h, w)


def test_grabcut_real():
    ds = GrabCutDataset(require_data("GrabCut"))
    assert len(ds) == 50
    s = ds[0]
    _check(s)
    with_band = sum(ds[i].ignore.any() for i in range(len(ds)))
    assert with_band == 42  # the 128 "unknown" band is present in 42 of the 50 masks
    assert not (s.gt & s.ignore).any()


def test_berkeley_real():
    ds = BerkeleyDataset(require_data("Berkeley"))
    assert len(ds) == 100
    _check(ds[3])


def test_davis_real_any_nonzero_is_object():
    ds = DavisDataset(require_data("DAVIS"))
    assert len(ds) == 345
    s = ds[0]
    _check(s)
    raw = np.asarray(Image.open(ds.items[0][1]))
    raw = raw if raw.ndim == 2 else raw.max(axis=2)
    assert (s.gt == (raw > 0)).all()


def test_training_sets_real_and_bundled_sample_excluded(cfg):
    require_data("COCO_MVal_train")
    ds = build_train_dataset("COCO_MVal_train", cfg)
    from interseg.data.overlap import excluded_names

    near_duplicates = excluded_names("COCO_MVal_train")      # the photo of a bundled object (another object)
    assert near_duplicates == {"pizza08_000000197022"}
    assert len(ds) == 600 - len(BUNDLED_SAMPLE_NAMES) - 1
    assert not BUNDLED_SAMPLE_NAMES & {ds.sample_name(i) for i in range(len(ds))}
    _check(ds[0])
    ec = EcssdDataset(require_data("ECSSD"))
    assert len(ec) == 300
    _check(ec[0])


def test_bundled_sample():
    ds = SampleDataset()
    assert 1 <= len(ds) <= 10
    for s in ds:
        _check(s)


def test_stats_table_numbers():
    st = GrabCutDataset(require_data("GrabCut")).stats()
    assert st["images"] == 50 and st["instances"] == 50
    assert 0.2 < st["median_mp"] < 0.3  # the seed's table: 0.25


def test_sbd_fixture_one_sample_per_instance(tmp_path):
    root = write_sbd(tmp_path / "SBD")
    ds = SBDDataset(root, split="val")
    assert len(ds) == 2 * 3
    s = ds[1]
    _check(s)
    assert len(s.masks) == 1 and (s.gt == (instance_map() == 2)).all()
    train = SBDDataset(root, split="train", per_instance=False)
    assert len(train) == 1 and len(train[0].masks) == 3


def test_voc_fixture_ignores_void_border(tmp_path):
    ds = PascalVOCDataset(write_voc(tmp_path / "VOC"))
    assert len(ds) == 6
    s = ds[0]
    _check(s)
    assert s.ignore.any() and not (s.ignore & s.gt).any()


def test_saic_is_fixture(tmp_path):
    ds = SaicISDataset(write_saic_is(tmp_path / "SAIC_IS"))
    assert len(ds) == 4
    assert ds.sample_name(1) == "img_0000#2"
    _check(ds[1])


def test_coco_fixture_polygon_rle_and_crowd(tmp_path):
    root = write_coco(tmp_path / "COCO")
    ds = CocoDataset(root, split="val", per_instance=True)
    assert len(ds) == 4  # crowds are not samples
    poly, rle = ds[0], ds[1]
    _check(poly)
    assert poly.gt[10, 10] and not poly.gt[40, 50]
    assert rle.gt[40, 50] and rle.gt.sum() == 25 * 35
    assert poly.ignore[:4].all() and poly.ignore.sum() == 320  # the crowd region
    whole = CocoDataset(root, split="val", per_instance=False)
    assert len(whole) == 2 and len(whole[0].masks) == 2
    assert len(CocoDataset(root, split="val", per_instance=True, min_area=600)) == 2


def test_lvis_fixture_names_from_coco_url(tmp_path):
    ds = LvisDataset(write_lvis(tmp_path / "LVIS"), split="train")
    assert len(ds) == 2
    _check(ds[0])
    assert ds.sample_name(0) == "000000000009"


def _folder(tmp_path, n=3, size=(40, 50)):
    rng = np.random.default_rng(0)
    (tmp_path / "images").mkdir()
    (tmp_path / "masks").mkdir()
    for k in range(n):
        Image.fromarray(rng.integers(0, 255, (*size, 3), np.uint8)).save(tmp_path / "images" / f"{k}.jpg")
        m = np.zeros(size, np.uint8)
        m[5:20, 5:30] = 255
        Image.fromarray(m).save(tmp_path / "masks" / f"{k}.png")
    return tmp_path


def test_folder_reader(tmp_path):
    ds = FolderDataset(_folder(tmp_path))
    assert len(ds) == 3
    _check(ds[2])


def test_bad_inputs_are_named_errors(tmp_path):
    root = _folder(tmp_path, n=5)
    (root / "images" / "0.jpg").write_bytes(b"\xff\xd8\xff\xe0 this is not a jpeg")            # corrupt
    Image.fromarray(np.zeros((10, 10), np.uint8)).save(root / "masks" / "1.png")            # wrong size
    Image.fromarray(np.zeros((40, 50), np.uint8)).save(root / "masks" / "2.png")            # empty
    Image.fromarray(np.zeros((400, 500, 3), np.uint8)).save(root / "images" / "3.jpg")     # above limit
    ds = FolderDataset(root, max_pixels=100_000)
    msgs = {}
    for i in range(4):
        with pytest.raises(DataError) as e:
            ds[i]
        msgs[i] = str(e.value)
    assert "0.jpg" in msgs[0] and ("corrupt" in msgs[0] or "not a readable" in msgs[0])
    assert "1.png" in msgs[1] and "10x10" in msgs[1] and "50x40" in msgs[1]
    assert "2.png" in msgs[2] and "empty" in msgs[2]
    assert "3.jpg" in msgs[3] and "limit" in msgs[3]
    _check(ds[4])


def test_missing_folder_and_split_are_named(tmp_path):
    with pytest.raises(DataError, match="not found"):
        GrabCutDataset(tmp_path / "nope")
    (tmp_path / "SBD").mkdir()
    with pytest.raises(DataError, match="val.txt"):
        SBDDataset(tmp_path / "SBD")


def test_corrupt_mat_and_json(tmp_path):
    root = write_sbd(tmp_path / "SBD")
    (root / "inst" / "2008_000002.mat").write_bytes(b"garbage")
    ds = SBDDataset(root)
    with pytest.raises(DataError, match="2008_000002.mat"):
        ds[len(ds) - 1]
    croot = write_coco(tmp_path / "COCO")
    (croot / "annotations" / "instances_val2017.json").write_text("{not json")
    with pytest.raises(DataError, match="instances_val2017.json"):
        CocoDataset(croot, split="val")


def test_coco_mval_layout(tmp_path):
    (tmp_path / "img").mkdir()
    (tmp_path / "gt").mkdir()
    Image.fromarray(np.zeros((20, 20, 3), np.uint8)).save(tmp_path / "img" / "cat00_1.jpg")
    m = np.zeros((20, 20), np.uint8)
    m[2:9, 2:9] = 255
    Image.fromarray(m).save(tmp_path / "gt" / "cat00_1.png")
    s = CocoMValDataset(tmp_path)[0]
    assert s.gt.sum() == 49


def test_index_of_finds_a_sample_by_name():
    ds = GrabCutDataset(require_data("GrabCut"))
    i = ds.index_of("304074")
    assert ds.sample_name(i) == "304074"
    with pytest.raises(KeyError, match="no sample named 'nope'"):
        ds.index_of("nope")


def test_duts_fixture_binarised_components_and_specks(tmp_path):
    from interseg.data.readers.duts import DutsDataset

    root = write_duts(tmp_path / "DUTS-TR")
    ds = DutsDataset(root)
    assert len(ds) == 2
    s = ds[ds.index_of("ILSVRC2012_test_00000004")]
    assert s.gt.sum() == 30 * 40 + 30 * 40 and len(s.masks) == 1          # soft edge (100) is background
    parts = DutsDataset(root, components=True)[0].masks
    assert len(parts) == 3 and sorted(int(m.sum()) for m in parts[1:]) == [1200, 1200]
    with pytest.raises(DataError, match="ILSVRC2012_test_00000018.png: the mask covers 0.075% of the image"):
        ds[ds.index_of("ILSVRC2012_test_00000018")]


def test_ccp_fixture_person_and_parts(tmp_path):
    from interseg.data.readers.ccp import CcpDataset

    root = write_ccp(tmp_path / "CCP")
    ds = CcpDataset(root)
    assert len(ds) == 2                                    # the unlabelled photo 1005 is not a sample
    s = ds[0]
    assert s.name == "0001" and s.gt.sum() == 70 * 30
    assert [int(m.sum()) for m in CcpDataset(root, parts=True)[0].masks] == [2100, 900, 1200]
    (root / "annotations" / "pixel-level" / "0002.mat").write_bytes(b"MATLAB 5.0 garbage")
    with pytest.raises(DataError, match="0002.mat: corrupt .mat file"):
        ds[1]


def test_voc2007_trainval_is_a_training_set(tmp_path, cfg):
    root = write_voc(tmp_path / "VOCdevkit" / "VOC2007")
    cfg.PASCALVOC2007_PATH = root
    train = build_train_dataset("PascalVOC2007", cfg)
    assert len(train) == 2 and len(train[0].masks) == 3 and train[0].ignore.any()   # 255 = ignore


@pytest.mark.parametrize("writer", ["duts", "ccp"])
def test_new_readers_name_bad_files(tmp_path, writer):
    from interseg.data.readers.ccp import CcpDataset
    from interseg.data.readers.duts import DutsDataset

    if writer == "duts":
        root = write_duts(tmp_path / "d")
        ds = DutsDataset(root)
        (root / "DUTS-TR-Image" / "ILSVRC2012_test_00000004.jpg").write_bytes(b"not a jpeg")
        with pytest.raises(DataError, match="ILSVRC2012_test_00000004.jpg: not a readable image"):
            ds[0]
        Image.fromarray(np.zeros((10, 10), np.uint8)).save(root / "DUTS-TR-Mask" / "ILSVRC2012_test_00000018.png")
        with pytest.raises(DataError, match="mask is 10x10 but its image is 120x100"):
            ds[1]
    else:
        root = write_ccp(tmp_path / "c")
        from scipy.io import savemat

        savemat(root / "annotations" / "pixel-level" / "0001.mat", {"groundtruth": np.zeros((90, 60), np.uint8)})
        with pytest.raises(DataError, match="0001.mat: mask is empty"):
            CcpDataset(root)[0]
