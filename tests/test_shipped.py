"""The shipped default model: present, self-describing, and really segmenting real GrabCut objects."""

import numpy as np

from interseg.cli import main
from interseg.evaluation.metrics import iou
from interseg.inference.loading import DEFAULT_MODEL, SHIPPED_DIR, load_predictor
from interseg.inference.session import Session
from interseg.interactions.users import SimulatedUser
from interseg.models.checkpoint import read_metadata


def test_default_model_is_shipped_and_listed(capsys):
    path = SHIPPED_DIR / f"{DEFAULT_MODEL}.safetensors"
    assert path.is_file() and path.stat().st_size < 50e6
    arch, meta = read_metadata(path)
    assert arch.backbone == "effnet_lite0" and set(arch.input_types) == {"point", "contour", "stroke"}
    assert meta["trained"] and set(meta["training_data"]) == {"COCO_MVal_train", "ECSSD"}
    assert main(["models", "list"]) == 0
    out = capsys.readouterr().out
    assert f"{DEFAULT_MODEL} (default)" in out and "COCO_MVal_train+ECSSD" in out


def test_default_model_segments_grabcut_with_each_input_type(grabcut_samples):
    predictor = load_predictor(DEFAULT_MODEL, None)
    for kind, steps, floor in (("point", 3, 0.80), ("contour", 1, 0.80), ("stroke", 2, 0.75)):
        ious = []
        for s in grabcut_samples:
            session = Session(s.image, predictor)
            user = SimulatedUser(0)
            for _ in range(steps):
                session.add(user.next(kind, s.gt, session.mask, s.ignore, session.interactions))
            ious.append(iou(s.gt, session.mask, s.ignore))
        assert np.mean(ious) > floor, (kind, ious)
