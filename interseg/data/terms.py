"""The terms under which each training set may be used, and what they mean for weights trained on it.

Shown by ``interseg models list`` (a model's card) and in the README. Not legal advice: the terms are
those the sets' publishers state (or, where they state none, how the set is distributed).
"""

from __future__ import annotations

from collections.abc import Iterable

#: training set name → (terms in short, whether they restrict use to research)
DATA_TERMS: dict[str, tuple[str, bool]] = {
    "COCO_MVal_train": ("COCO 2017 photos (Flickr, their own CC licenses); annotations CC BY 4.0", False),
    "COCO": ("photos from Flickr under their own CC licenses; annotations CC BY 4.0", False),
    "LVIS": ("COCO photos (Flickr, their own CC licenses); annotations CC BY 4.0", False),
    "ECSSD": ("distributed by its authors (CUHK) for saliency research; no license stated: research use", True),
    "DUTS": ("research use only; the photos are ImageNet's (ImageNet terms: non-commercial research)", True),
    "CCP": ("Clothing Co-Parsing: Apache-2.0 (photos from chictopia.com)", False),
    "PascalVOC2007": ("PASCAL VOC: research use; photos from Flickr under Flickr's terms", True),
    "SBD": ("annotations of PASCAL VOC photos: research use", True),
}


def data_terms(names: Iterable[str]) -> list[str]:
    """One line per training set: ``NAME: terms``."""
    return [f"{n}: {DATA_TERMS[n][0]}" if n in DATA_TERMS else f"{n}: terms unknown" for n in names]


def weights_note(names: Iterable[str]) -> str:
    """What the training data's terms mean for the weights, in one sentence."""
    names = list(names)
    restricted = [n for n in names if DATA_TERMS.get(n, ("", True))[1]]
    if restricted:
        return (f"trained on research-use data ({', '.join(restricted)}): use these weights for research and "
                f"evaluation; for a product, retrain on data whose terms allow it (e.g. COCO, CCP)")
    return "trained only on openly licensed data (CC BY / Apache-2.0 annotations): attribute the sources"
