"""Reference values for test/training/{optim,schedule,losses}.test.ts, in float64 numpy (run: python3 test/training/reference.py).
AdamW follows torch.optim.AdamW; the schedule HF get_cosine_schedule_with_warmup + TrainingArguments.get_warmup_steps."""
import numpy as np, math
np.set_printoptions(precision=10)
# AdamW, torch.optim.AdamW semantics in float64
p = np.array([0.5, -1.0, 2.0, 0.0]); m = np.zeros(4); v = np.zeros(4)
q = np.array([[0.3, -0.7], [1.5, 0.01]]); mq = np.zeros((2,2)); vq = np.zeros((2,2)); tq = 0
gs = [np.array([0.1, -0.2, 0.3, 0.0]), np.array([-0.05, 0.4, 0.1, 1e-3]), np.array([0.2, 0.2, -0.3, -2.0])]
gq = [np.array([[1.0, -2.0], [0.5, 0.0]]), None, np.array([[-0.3, 0.3], [0.0, 4.0]])]
lrs = [1e-2, 5e-3, 2e-2]; wd = 0.1; b1, b2, eps = 0.9, 0.999, 1e-8
def upd(p, m, v, g, t, lr):
    p = p * (1 - lr * wd)
    m = b1 * m + (1 - b1) * g
    v = b2 * v + (1 - b2) * g * g
    denom = np.sqrt(v) / math.sqrt(1 - b2 ** t) + eps
    p = p - lr / (1 - b1 ** t) * m / denom
    return p, m, v
for t in range(3):
    p, m, v = upd(p, m, v, gs[t], t + 1, lrs[t])
    if gq[t] is not None:
        tq += 1; q, mq, vq = upd(q, mq, vq, gq[t], tq, lrs[t])
print('p', repr(p)); print('m', repr(m)); print('v', repr(v)); print('q', repr(q))
# schedule, HF get_cosine_schedule_with_warmup + TrainingArguments.get_warmup_steps
def lam(s, w, n):
    if s < w: return s / max(1, w)
    pr = (s - w) / max(1, n - w); return max(0.0, 0.5 * (1 + math.cos(math.pi * 0.5 * 2 * pr)))
w = math.ceil(100 * 0.03); print('warmup', w, [lam(s, w, 100) for s in [0, 1, 2, 3, 10, 50, 99, 100]])
w = math.ceil(10 * 0.03); print('warmup', w, [lam(s, w, 10) for s in [0, 1, 5, 9]])
# loss
logits = np.array([[[1.0, 2.0, 0.5, -1.0], [0.0, 0.0, 3.0, 1.0], [2.0, -1.0, 0.0, 0.5]],
                   [[0.3, 0.2, 0.1, 0.0], [-2.0, 1.0, 1.0, 4.0], [9.0, 9.0, 9.0, 9.0]]])
ids = np.array([[1, 2, 3], [0, 3, 1]]); mask = np.array([[0, 1, 1], [0, 0, 1]])
ls = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
tot = 0; cnt = 0
for b in range(2):
    for t in range(2):
        if mask[b, t + 1]: tot += -ls[b, t, ids[b, t + 1]]; cnt += 1
print('loss', repr(tot / cnt))
