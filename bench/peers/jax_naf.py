# Copied from the shared peer scripts of this project's workplace (tools/peers/jax_naf.py), unchanged below
# this header: the same NAF update as naf_ros's (three 2x200 ReLU networks, target V, Adam 1e-3,
# gradient clipping 10, soft target update, batch 64), for bench/peers.ts's side-by-side figures.
# Usage: python jax_naf.py <threads> <updates>; prints '<name> <version> threads=<n>: <rate> updates/s (...)'.
# NAF update equal to torch_naf.py (3 nets 2x200 ReLU, target V, Adam 1e-3, clip 10, tau 0.005), whole step jitted.
import os, sys, time
os.environ.setdefault("XLA_FLAGS", f"--xla_cpu_multi_thread_eigen={'true' if sys.argv[1] != '1' else 'false'} intra_op_parallelism_threads={sys.argv[1]}")
import jax, jax.numpy as jnp, optax
dX, dU, H, B = 11, 3, 200, 64
key = jax.random.PRNGKey(0)
def init(k, o):
    ks = jax.random.split(k, 3); sizes = [(dX, H), (H, H), (H, o)]
    return [(jax.random.uniform(kk, s, minval=-1/jnp.sqrt(s[0]), maxval=1/jnp.sqrt(s[0])), jnp.zeros(s[1])) for kk, s in zip(ks, sizes)]
def mlp(p, x):
    for W, b in p[:-1]: x = jax.nn.relu(x @ W + b)
    W, b = p[-1]; return x @ W + b
k1, k2, k3 = jax.random.split(key, 3)
params = {"V": init(k1, 1), "MU": init(k2, dU), "L": init(k3, dU * (dU + 1) // 2)}
target = params["V"]
tril = jnp.tril_indices(dU); diag = tril[0] == tril[1]
umax = jnp.array([0.6, 0.1, 0.03])
opt = optax.chain(optax.clip_by_global_norm(10.0), optax.adam(1e-3))
st = opt.init(params)
def loss_fn(p, t, x, u, r, x2):
    y = r + 0.98 * mlp(t, x2)[:, 0]
    l = mlp(p["L"], x); l = jnp.where(diag, jnp.exp(jnp.clip(l, -5, 5)), l)
    Lm = jnp.zeros((B, dU, dU)).at[:, tril[0], tril[1]].set(l)
    mu = umax * jnp.tanh(mlp(p["MU"], x)); d = u - mu
    z = jnp.einsum("bij,bi->bj", Lm, d)
    Q = mlp(p["V"], x)[:, 0] - 0.5 * (z ** 2).sum(1)
    return ((jax.lax.stop_gradient(y) - Q) ** 2).mean()
@jax.jit
def update(p, t, s, x, u, r, x2):
    g = jax.grad(loss_fn)(p, t, x, u, r, x2)
    upd, s = opt.update(g, s, p); p = optax.apply_updates(p, upd)
    t = jax.tree_util.tree_map(lambda a, b: 0.995 * a + 0.005 * b, t, p["V"])
    return p, t, s
import numpy as np
rng = np.random.default_rng(0); N = 10000
X, U, R, X2 = rng.standard_normal((N, dX), np.float32), 0.01 * rng.standard_normal((N, dU)).astype(np.float32), -rng.random(N, np.float32), rng.standard_normal((N, dX), np.float32)
def batch():
    i = rng.integers(0, N, B); return X[i], U[i], R[i], X2[i]
for _ in range(30): params, target, st = update(params, target, st, *batch())
jax.block_until_ready(params)
n = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
t0 = time.perf_counter()
for _ in range(n): params, target, st = update(params, target, st, *batch())
jax.block_until_ready(params)
s = time.perf_counter() - t0
print(f"jax {jax.__version__} threads={sys.argv[1]}: {n/s:.1f} updates/s ({1000*s/n:.2f} ms/update)")
