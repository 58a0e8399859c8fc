# Copied from the shared peer scripts of this project's workplace (tools/peers/torch_naf.py), unchanged below
# this header: the same NAF update as naf_ros's (three 2x200 ReLU networks, target V, Adam 1e-3,
# gradient clipping 10, soft target update, batch 64), for bench/peers.ts's side-by-side figures.
# Usage: python torch_naf.py <threads> <updates>; prints '<name> <version> threads=<n>: <rate> updates/s (...)'.
import time, sys, torch, torch.nn as nn
torch.set_num_threads(int(sys.argv[1]) if len(sys.argv) > 1 else 1)
dX, dU, H, B = 11, 3, 200, 64
def mlp(o): return nn.Sequential(nn.Linear(dX, H), nn.ReLU(), nn.Linear(H, H), nn.ReLU(), nn.Linear(H, o))
V, MU, L = mlp(1), mlp(dU), mlp(dU * (dU + 1) // 2)
Vt = mlp(1); Vt.load_state_dict(V.state_dict())
params = list(V.parameters()) + list(MU.parameters()) + list(L.parameters())
opt = torch.optim.Adam(params, lr=1e-3)
tril = torch.tril_indices(dU, dU); diag = tril[0] == tril[1]
umax = torch.tensor([0.6, 0.1, 0.03])
def update(x, u, r, x2):
    with torch.no_grad(): y = r + 0.98 * Vt(x2).squeeze(-1)
    l = L(x); l = torch.where(diag, torch.exp(l.clamp(-5, 5)), l)
    Lm = torch.zeros(B, dU, dU); Lm[:, tril[0], tril[1]] = l
    mu = umax * torch.tanh(MU(x)); d = (u - mu).unsqueeze(-1)
    z = Lm.transpose(1, 2) @ d
    Q = V(x).squeeze(-1) - 0.5 * (z ** 2).sum((1, 2))
    loss = ((y - Q) ** 2).mean()
    opt.zero_grad(); loss.backward(); torch.nn.utils.clip_grad_norm_(params, 10.0); opt.step()
    with torch.no_grad():
        for p, pt in zip(V.parameters(), Vt.parameters()): pt.mul_(0.995).add_(0.005 * p)
N = 10000
X, U, Rr, X2 = torch.randn(N, dX), 0.01 * torch.randn(N, dU), -torch.rand(N), torch.randn(N, dX)
def batch():
    i = torch.randint(0, N, (B,)); return X[i], U[i], Rr[i], X2[i]
for _ in range(30): update(*batch())
n = int(sys.argv[2]) if len(sys.argv) > 2 else 300; t0 = time.perf_counter()
for _ in range(n): update(*batch())
s = time.perf_counter() - t0
print(f"torch {torch.__version__} threads={torch.get_num_threads()}: {n/s:.1f} updates/s ({1000*s/n:.2f} ms/update)")
