#!/usr/bin/env python3
# Origin: copied from the shared benchmark folder given with this project
# (bench/sklearn_iforest.py there), unchanged except this header and the default
# DATA_DIR, which now points at the project's own copy in bench/data/outliers.
# bench/suites/forest.ts runs it with --json to put scikit-learn beside our engine.
"""Reference figures: scikit-learn's IsolationForest on the outlier sets.

Needs Debian's python3-sklearn (apt-get install -y python3-sklearn); run with
/usr/bin/python3. Usage: sklearn_iforest.py [DATA_DIR] [--json]
Prints, per data set, the mean ROC AUC over 10 seeds and the median train and
score times (100 trees, 256 samples per tree, as in Liu, Ting and Zhou 2008).
"""
import json, os, statistics, sys, time

import numpy as np
from sklearn.ensemble import IsolationForest
from sklearn.metrics import roc_auc_score

args = [a for a in sys.argv[1:] if not a.startswith("--")]
data_dir = args[0] if args else os.path.join(os.path.dirname(__file__), "data", "outliers")
rows = []
for name in ["breastw", "ionosphere", "pima", "satellite", "shuttle"]:
    d = np.loadtxt(os.path.join(data_dir, f"{name}.csv"), delimiter=",", skiprows=1)
    X, y = d[:, :-1], d[:, -1]
    aucs, train_ms, score_ms = [], [], []
    for seed in range(10):
        t0 = time.perf_counter()
        model = IsolationForest(n_estimators=100, max_samples=256, random_state=seed).fit(X)
        t1 = time.perf_counter()
        scores = -model.score_samples(X)
        t2 = time.perf_counter()
        aucs.append(roc_auc_score(y, scores))
        train_ms.append((t1 - t0) * 1000)
        score_ms.append((t2 - t1) * 1000)
    rows.append({"set": name, "n": int(len(y)), "auc": round(float(np.mean(aucs)), 4),
                 "train_ms": round(statistics.median(train_ms), 1),
                 "score_ms": round(statistics.median(score_ms), 1)})
if "--json" in sys.argv:
    print(json.dumps(rows))
else:
    print(f"{'set':11s} {'n':>6s} {'auc':>6s} {'train_ms':>9s} {'score_ms':>9s}")
    for r in rows:
        print(f"{r['set']:11s} {r['n']:6d} {r['auc']:6.3f} {r['train_ms']:9.1f} {r['score_ms']:9.1f}")
