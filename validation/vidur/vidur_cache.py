"""Keep Vidur's prediction cache in step with the profiles it was computed from.

Vidur caches two things per operation in its cache folder (vidur/execution_time_predictor/
sklearn_execution_time_predictor.py at the pinned commit): the trained forest, `<op>_<hash>.pkl`, whose hash covers
the config *and the training rows* (`_get_model_hash(model_name, df)`), and the table of its predictions over the
whole shape grid, `<op>_<hash>_predictions.pkl`, whose hash covers the config only (`_get_model_hash(model, df=None)`).
So after a profile changes Vidur retrains the forests but then loads the old prediction tables and simulates with
them: the new forests are never used. This module records a SHA-256 of the profile files beside the cache and, when
it differs from the current one (or is missing while prediction tables exist), deletes the prediction tables
(`*_<8 hex>_predictions.{pkl,csv}` and their lock files), so Vidur recomputes them from the forests that match the
data. It does not touch the forests (their own hash already follows the data) or the training-prediction CSVs.
"""

import hashlib
import os
import re

STAMP = "profiles.sha256"
PREDICTION_FILE = re.compile(r"_[0-9a-f]{8}_predictions\.(pkl|csv)$|^[0-9a-f]{8}_prediction_lock\.file$")


def profiles_digest(paths):
    """SHA-256 over the profile files' names and bytes, in the given order."""
    h = hashlib.sha256()
    for p in paths:
        h.update(os.path.basename(p).encode() + b"\0")
        with open(p, "rb") as f:
            h.update(f.read())
    return h.hexdigest()


def drop_stale_predictions(cache_dir, profile_paths, log=print):
    """Delete Vidur's prediction tables in cache_dir unless they were made from these profiles; returns how many."""
    os.makedirs(cache_dir, exist_ok=True)
    digest = profiles_digest(profile_paths)
    stamp = os.path.join(cache_dir, STAMP)
    recorded = open(stamp).read().strip() if os.path.exists(stamp) else None
    removed = 0
    if recorded != digest:
        for name in os.listdir(cache_dir):
            if PREDICTION_FILE.search(name) and "_training_predictions" not in name:
                os.remove(os.path.join(cache_dir, name))
                removed += 1
        if removed:
            why = "profiles changed" if recorded else "no record of the profiles they came from"
            log(f"{cache_dir}: removed {removed} Vidur prediction-table files ({why}); Vidur recomputes them")
        with open(stamp, "w") as f:
            f.write(digest + "\n")
    return removed
