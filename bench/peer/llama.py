"""The peer of `npm run bench:peer`: a small LLaMA in PyTorch, written for this project, that loads the same
Hugging Face safetensors checkpoints as seqsch and generates the same way (left padding, position ids
cumsum(mask) - 1, a KV cache, greedy). It is the reference we time our engine against, so it is written the
way a careful PyTorch user would run inference on CPU: torch.inference_mode, a preallocated KV cache written in
place, q/k/v and gate/up as one matmul each (--no-fuse: HF's separate projections), no per-step re-allocation of
masks when nothing is padded. It does not tokenize, sample at a temperature or train.

Two commands (the driver is bench/peer.ts; it sets threads and the environment):
  check --model DIR --spec SPEC.json --out LOGITS.bin   greedy tokens (JSON on stdout) and logits (float32 file)
  time  --model DIR --spec SPEC.json                    seconds per timed point (JSON on stdout)
Needs python3 with torch (Debian: python3-torch) and numpy; nothing else.
"""
import argparse
import json
import os
import struct
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

MASKED = -1e9  # additive bias of a padding key, as src/model/llama.ts (finite: a fully padded row gives no NaN)


# ---------------------------------------------------------------------------------------------- checkpoint

def read_safetensors(path):
    """{name: ndarray} of one safetensors file: F32/F16/BF16 as float32, I32/I64 as int64."""
    with open(path, 'rb') as f:
        (n,) = struct.unpack('<Q', f.read(8))
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, e in header.items():
        if name == '__metadata__':
            continue
        b, end = e['data_offsets']
        raw = data[b:end]
        if e['dtype'] == 'F32':
            a = np.frombuffer(raw, dtype='<f4')
        elif e['dtype'] == 'F16':
            a = np.frombuffer(raw, dtype='<f2').astype(np.float32)
        elif e['dtype'] == 'BF16':
            a = (np.frombuffer(raw, dtype='<u2').astype(np.uint32) << 16).view(np.float32)
        elif e['dtype'] in ('I32', 'I64'):
            a = np.frombuffer(raw, dtype='<i4' if e['dtype'] == 'I32' else '<i8').astype(np.int64)
        else:
            raise SystemExit(f'{path}: tensor {name} has dtype {e["dtype"]}, expected F32/F16/BF16/I32/I64')
        out[name] = a.reshape(e['shape']).copy()
    return out


def load_checkpoint(d):
    """(config dict, {name: ndarray}) of an HF LLaMA checkpoint directory (single file or sharded)."""
    with open(os.path.join(d, 'config.json')) as f:
        hf = json.load(f)
    single = os.path.join(d, 'model.safetensors')
    if os.path.exists(single):
        w = read_safetensors(single)
    else:
        with open(os.path.join(d, 'model.safetensors.index.json')) as f:
            shards = sorted(set(json.load(f)['weight_map'].values()))
        w = {}
        for s in shards:
            w.update(read_safetensors(os.path.join(d, s)))
    nh = hf['num_attention_heads']
    cfg = {
        'd': hf['hidden_size'], 'inter': hf['intermediate_size'], 'layers': hf['num_hidden_layers'], 'nH': nh,
        'nKv': hf.get('num_key_value_heads') or nh, 'hd': hf.get('head_dim') or hf['hidden_size'] // nh,
        'eps': hf['rms_norm_eps'], 'theta': hf.get('rope_theta') or (hf.get('rope_parameters') or {}).get('rope_theta', 10000.0),
        'V': hf['vocab_size'], 'tied': bool(hf.get('tie_word_embeddings', False)), 'pad': hf.get('pad_token_id') or 0,
    }
    return cfg, w


# -------------------------------------------------------------------------------------------------- model

class PeerLlama:
    """LlamaForCausalLM's inference forward (HF semantics) with a preallocated KV cache."""

    def __init__(self, cfg, w, fuse=True):
        t = lambda name: torch.from_numpy(w[name])
        self.c = cfg
        self.fuse = fuse
        self.embed = t('model.embed_tokens.weight')  # (V, d)
        self.layers = []
        for l in range(cfg['layers']):
            p = f'model.layers.{l}.'
            q, k, v = (t(p + f'self_attn.{x}_proj.weight') for x in 'qkv')  # (out, in) each
            g, u = t(p + 'mlp.gate_proj.weight'), t(p + 'mlp.up_proj.weight')
            L = {'in': t(p + 'input_layernorm.weight'), 'post': t(p + 'post_attention_layernorm.weight'),
                 'o': t(p + 'self_attn.o_proj.weight'), 'down': t(p + 'mlp.down_proj.weight')}
            if fuse:
                L['qkv'] = torch.cat([q, k, v], 0).contiguous()  # (nH·hd + 2·nKv·hd, d)
                L['gu'] = torch.cat([g, u], 0).contiguous()  # (2I, d)
            else:
                L.update(q=q, k=k, v=v, gate=g, up=u)
            self.layers.append(L)
        self.norm = t('model.norm.weight')
        self.head = self.embed if cfg['tied'] else t('lm_head.weight')  # (V, d)
        hd = cfg['hd']
        # HF default rotary: inv_freq = 1 / θ^(2i/hd); angle = pos·inv_freq in float32; emb = [f, f]
        inv = 1.0 / (cfg['theta'] ** (torch.arange(0, hd, 2, dtype=torch.int64).float() / hd))
        self.rope_len = 0
        self.inv_freq = inv
        self._rope(1024)

    def _rope(self, P):
        f = torch.arange(P, dtype=torch.float32)[:, None] * self.inv_freq[None, :]  # (P, hd/2)
        emb = torch.cat([f, f], -1)
        self.cos, self.sin, self.rope_len = emb.cos(), emb.sin(), P  # (P, hd)

    def rms(self, x, w):
        var = x.pow(2).mean(-1, keepdim=True)
        return w * (x * torch.rsqrt(var + self.c['eps']))

    @staticmethod
    def rotate_half(x):
        h = x.shape[-1] // 2
        return torch.cat([-x[..., h:], x[..., :h]], -1)

    def new_cache(self, B, cap):
        c = self.c
        return {'k': [torch.zeros(B, c['nKv'], cap, c['hd']) for _ in range(c['layers'])],
                'v': [torch.zeros(B, c['nKv'], cap, c['hd']) for _ in range(c['layers'])], 'len': 0}

    def forward(self, ids, pos, cache, bias=None, last_only=False):
        """ids, pos (B, T) int64; bias (B|1, 1, T, past + T) additive or None → logits (B, T|1, V)."""
        c = self.c
        B, T = ids.shape
        nH, nKv, hd = c['nH'], c['nKv'], c['hd']
        g = nH // nKv
        past = cache['len']
        if int(pos.max()) >= self.rope_len:
            self._rope(2 * (int(pos.max()) + 1))
        cos = self.cos[pos].unsqueeze(1)  # (B, 1, T, hd)
        sin = self.sin[pos].unsqueeze(1)
        scale = hd ** -0.5
        x = self.embed[ids]  # (B, T, d)
        for l, L in enumerate(self.layers):
            h = self.rms(x, L['in'])
            if self.fuse:
                qkv = F.linear(h, L['qkv'])  # (B, T, (nH + 2nKv)·hd)
                q, k, v = qkv.split([nH * hd, nKv * hd, nKv * hd], -1)
            else:
                q, k, v = F.linear(h, L['q']), F.linear(h, L['k']), F.linear(h, L['v'])
            q = q.reshape(B, T, nH, hd).transpose(1, 2)  # (B, nH, T, hd)
            k = k.reshape(B, T, nKv, hd).transpose(1, 2)  # (B, nKv, T, hd)
            v = v.reshape(B, T, nKv, hd).transpose(1, 2)
            q = q * cos + self.rotate_half(q) * sin
            k = k * cos + self.rotate_half(k) * sin
            kc, vc = cache['k'][l], cache['v'][l]
            kc[:, :, past:past + T] = k  # in place: the cache never grows (capacity = prompt + new tokens)
            vc[:, :, past:past + T] = v
            K, Vv = kc[:, :, :past + T], vc[:, :, :past + T]  # (B, nKv, S, hd)
            # grouped-query attention: the g query heads of a kv head attend as one (g·T)-row block
            s = torch.matmul(q.reshape(B, nKv, g * T, hd), K.transpose(-1, -2)) * scale  # (B, nKv, g·T, S)
            s = s.view(B, nH, T, past + T)
            if bias is not None:
                s = s + bias
            p = torch.softmax(s, -1)
            o = torch.matmul(p.view(B, nKv, g * T, past + T), Vv)  # (B, nKv, g·T, hd)
            o = o.view(B, nH, T, hd).transpose(1, 2).reshape(B, T, nH * hd)
            x = x + F.linear(o, L['o'])
            h = self.rms(x, L['post'])
            if self.fuse:
                gate, up = F.linear(h, L['gu']).chunk(2, -1)
            else:
                gate, up = F.linear(h, L['gate']), F.linear(h, L['up'])
            x = x + F.linear(F.silu(gate) * up, L['down'])
        cache['len'] = past + T
        if last_only:
            x = x[:, -1:]  # left padding: the last column is real
        return F.linear(self.rms(x, self.norm), self.head)


# ----------------------------------------------------------------------------------------------- generate

def generate(model, prompts, max_new):
    """Greedy generation, no EOS stop, as seqsch's generate(…, stopAtEos: false, sharePrefix: false):
    left padding, one prefill, one cached step per new token. Returns the tokens (B, max_new)."""
    B = len(prompts)
    T0 = max(len(p) for p in prompts)
    pad = model.c['pad']
    ids = torch.full((B, T0), pad, dtype=torch.int64)
    mask = torch.zeros(B, T0 + max_new, dtype=torch.int64)
    for b, p in enumerate(prompts):
        ids[b, T0 - len(p):] = torch.tensor(p, dtype=torch.int64)
        mask[b, T0 - len(p):] = 1
    mask[:, T0:] = 1  # generated tokens are always attended (HF appends 1s)
    padded = any(len(p) < T0 for p in prompts)
    cache = model.new_cache(B, T0 + max_new)
    # position ids: cumsum(mask) − 1, padding → 1 (HF)
    pos = (mask[:, :T0].cumsum(-1) - 1).masked_fill(mask[:, :T0] == 0, 1)
    bias = None
    if T0 > 1 or padded:
        causal = torch.full((T0, T0), MASKED).triu(1)  # (T0, T0): key j > query i masked
        bias = causal[None, None]
        if padded:
            bias = bias + ((1 - mask[:, None, None, :T0]).float() * MASKED)  # (B, 1, T0, T0)
    logits = model.forward(ids, pos, cache, bias, last_only=True)[:, -1]  # (B, V)
    out = torch.empty(B, max_new, dtype=torch.int64)
    last = pos[:, -1].clone()
    for s in range(max_new):
        tok = logits.argmax(-1)  # (B)
        out[:, s] = tok
        if s + 1 == max_new:
            break
        last += 1
        S = T0 + s + 1
        step_bias = ((1 - mask[:, None, None, :S]).float() * MASKED) if padded else None  # (B, 1, 1, S)
        logits = model.forward(tok[:, None], last[:, None], cache, step_bias)[:, -1]
    return out


# --------------------------------------------------------------------------------------------------- main

def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('command', choices=['check', 'time', 'info'])
    ap.add_argument('--model')
    ap.add_argument('--spec', help='JSON: check {prompts, maxNew}; time {batches, promptLen, newTokens, prefill: [B, T], reps} (bench/peer/spec.ts)')
    ap.add_argument('--out', help='check: file for the float32 logits')
    ap.add_argument('--threads', type=int, default=0, help='torch.set_num_threads (0: leave torch’s default)')
    ap.add_argument('--no-fuse', action='store_true', help='separate q/k/v and gate/up matmuls, as HF')
    a = ap.parse_args()
    if a.threads > 0:
        torch.set_num_threads(a.threads)
    if a.command == 'info':
        print(json.dumps({'torch': torch.__version__, 'threads': torch.get_num_threads(), 'numpy': np.__version__,
                          'parallel': torch.__config__.parallel_info().split('\n')[1:4]}))
        return
    cfg, w = load_checkpoint(a.model)
    model = PeerLlama(cfg, w, fuse=not a.no_fuse)
    with open(a.spec) as f:
        spec = json.load(f)
    with torch.inference_mode():
        if a.command == 'check':
            # greedy tokens, then one full forward (no cache reuse) over prompt + tokens, left-padded: logits everywhere
            toks = generate(model, spec['prompts'], spec['maxNew'])
            seqs = [p + t for p, t in zip(spec['prompts'], toks.tolist())]
            B, T = len(seqs), max(len(q) for q in seqs)
            ids = torch.full((B, T), cfg['pad'], dtype=torch.int64)
            mask = torch.zeros(B, T, dtype=torch.int64)
            for b, q in enumerate(seqs):
                ids[b, T - len(q):] = torch.tensor(q)
                mask[b, T - len(q):] = 1
            pos = (mask.cumsum(-1) - 1).masked_fill(mask == 0, 1)
            bias = torch.full((T, T), MASKED).triu(1)[None, None] + (1 - mask[:, None, None, :]).float() * MASKED
            lg = model.forward(ids, pos, model.new_cache(B, T), bias)  # (B, T, V)
            lg.reshape(-1).numpy().astype('<f4').tofile(a.out)
            print(json.dumps({'tokens': toks.tolist(), 'shape': list(lg.shape)}))
        else:
            print(json.dumps(time_points(model, spec)))


def warm_up(once, spec):
    """The warm-up of a timed point: the run at least once, then again until spec['warmupSeconds'] have passed."""
    t0 = time.perf_counter()
    once()
    while time.perf_counter() - t0 < spec.get('warmupSeconds', 0):
        once()


def time_points(model, spec):
    """Seconds of each timed point (the same points and prompts as bench/peer/ours.ts), `reps` runs each after a warm-up run."""
    V = model.c['V']
    prompts = lambda B, T, ragged=False: [[3 + ((r * 131 + t * 17) % (V - 3)) for t in range(T - (r % 17 if ragged else 0))] for r in range(B)]
    res = {'decode': {}, 'prefill': None}
    for B in spec['batches']:
        ps = prompts(B, spec['promptLen'])
        warm_up(lambda: generate(model, ps, spec['newTokens']), spec)  # the same run (allocator and caches settled)
        ts = []
        for _ in range(spec['reps']):
            t0 = time.perf_counter()
            generate(model, ps, spec['newTokens'])
            ts.append(time.perf_counter() - t0)
        res['decode'][str(B)] = ts
    if spec.get('prefill'):
        B, T = spec['prefill']
        ps = prompts(B, T, ragged=True)
        warm_up(lambda: generate(model, ps, 1), spec)
        ts = []
        for _ in range(spec['reps']):
            t0 = time.perf_counter()
            generate(model, ps, 1)
            ts.append(time.perf_counter() - t0)
        res['prefill'] = ts
    return res


if __name__ == '__main__':
    sys.exit(main())
