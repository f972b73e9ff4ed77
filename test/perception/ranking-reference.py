"""Reference values for test/perception/ranking.test.ts (run once: python3 test/perception/ranking-reference.py
> test/fixtures/ranking-scipy.json). scipy.stats.kendalltau (variant 'b', the default), spearmanr (average ranks
for ties), in float64, on seeded integer series with many ties, as length predictions and recorded lengths have."""
import json, sys
import numpy as np, scipy
from scipy import stats

rng = np.random.RandomState(7)
cases = []
for n, hi, step in [(12, 6, 1), (40, 300, 50), (200, 512, 1), (200, 256, 50), (1000, 400, 10)]:
    real = rng.randint(0, hi, size=n)
    noisy = real + rng.normal(0, hi / 4, size=n)
    pred = (np.round(noisy / step) * step).astype(int)  # bucketed predictions: heavy ties
    tau = stats.kendalltau(pred, real)  # variant='b'
    rho = stats.spearmanr(pred, real)
    cases.append({'n': int(n), 'predicted': pred.tolist(), 'real': real.tolist(),
                  'kendall_tau_b': float(tau.statistic), 'spearman_rho': float(rho.statistic),
                  'ranks_predicted': stats.rankdata(pred, method='average').tolist()})
json.dump({'generator': 'test/perception/ranking-reference.py', 'scipy': scipy.__version__, 'numpy': np.__version__, 'cases': cases}, sys.stdout)
print()
