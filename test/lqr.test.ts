import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Matrix, inverse, solve } from 'ml-matrix';
import { Rng } from '../src/util/rng.js';
import { backwardPass, expectedCost, NotPositiveDefiniteError, quadratizeReward } from '../src/control/lqr.js';
import type { RewardExpansion } from '../src/env/types.js';

const randn = (rng: Rng, r: number, c: number, s = 1) => Matrix.from1DArray(r, c, Float64Array.from({ length: r * c }, () => s * rng.normal()));
const spd = (rng: Rng, n: number) => { const A = randn(rng, n, n); return A.mmul(A.transpose()).add(Matrix.eye(n).mul(0.5)); };
const flat = (M: Matrix) => Float64Array.from(M.to1DArray());
/** max |M_ij| without mutating M (ml-matrix's abs() is in place). */
const maxAbs = (M: Matrix) => M.to1DArray().reduce((s, v) => Math.max(s, Math.abs(v)), 0);
const blockDiag = (A: Matrix, B: Matrix) => {
  const M = new Matrix(A.rows + B.rows, A.rows + B.rows);
  M.setSubMatrix(A, 0, 0);
  M.setSubMatrix(B, A.rows, A.rows);
  return M;
};

test('backwardPass equals the analytic finite-horizon discrete Riccati solution', () => {
  const rng = new Rng(21);
  const T = 25, dX = 4, dU = 2;
  const A = Matrix.eye(dX).add(randn(rng, dX, dX, 0.2)), B = randn(rng, dX, dU);
  const Q = spd(rng, dX), R = spd(rng, dU), Qf = spd(rng, dX);
  const F = flat(new Matrix(dX, dX + dU).setSubMatrix(A, 0, 0).setSubMatrix(B, 0, dX));
  const res = backwardPass(
    { T, dX, dU, F: Array(T).fill(F), f: Array(T).fill(new Float64Array(dX)) },
    { Cm: Array(T).fill(flat(blockDiag(Q, R))), cv: Array(T).fill(new Float64Array(dX + dU)) },
    { Vxx: flat(Qf), Vx: new Float64Array(dX) },
  );
  // P_T = Qf;  K_t = -(R + Bᵀ P B)⁻¹ Bᵀ P A;  P_t = Q + Aᵀ P A + Aᵀ P B K_t.
  let P = Qf;
  for (let t = T - 1; t >= 0; t--) {
    const Kt = inverse(R.clone().add(B.transpose().mmul(P).mmul(B))).mmul(B.transpose()).mmul(P).mmul(A).mul(-1);
    P = Q.clone().add(A.transpose().mmul(P).mmul(A)).add(A.transpose().mmul(P).mmul(B).mmul(Kt));
    const K = Matrix.from1DArray(dU, dX, res.K[t]), V = Matrix.from1DArray(dX, dX, res.Vxx[t]);
    assert.ok(maxAbs(K.clone().sub(Kt)) < 1e-9 * (1 + maxAbs(Kt)), `K_${t}`);
    assert.ok(maxAbs(V.clone().sub(P)) < 1e-9 * (1 + maxAbs(P)), `Vxx_${t}`);
    assert.ok(res.k[t].every((v) => Math.abs(v) < 1e-12), `k_${t} = 0 without affine terms`);
    const Quu = R.clone().add(B.transpose().mmul(Matrix.from1DArray(dX, dX, res.Vxx[t + 1])).mmul(B));
    assert.ok(maxAbs(Matrix.from1DArray(dU, dU, res.QuuInv[t]).mmul(Quu).sub(Matrix.eye(dU))) < 1e-9, `QuuInv_${t}`);
  }
});

test('backwardPass with dynamics bias f_t and linear/cross cost terms gives the exact open-loop optimum', () => {
  const rng = new Rng(4);
  const T = 12, dX = 3, dU = 2, D = dX + dU;
  const F = Array.from({ length: T }, () => Matrix.eye(dX, D).mul(0.95).add(randn(rng, dX, D, 0.3)));
  const f = Array.from({ length: T }, () => randn(rng, dX, 1));
  const Cm = Array.from({ length: T }, () => spd(rng, D));
  const cv = Array.from({ length: T }, () => randn(rng, D, 1));
  const Vxx = spd(rng, dX), Vx = randn(rng, dX, 1);
  const res = backwardPass(
    { T, dX, dU, F: F.map(flat), f: f.map(flat) },
    { Cm: Cm.map(flat), cv: cv.map(flat) },
    { Vxx: flat(Vxx), Vx: flat(Vx) },
  );
  // Independent route: x_t = Ax_t z + bx_t with z = [u_0; ...; u_{T-1}]; the total cost is a
  // quadratic ½ zᵀ H z + gᵀ z + c(x0) whose minimiser is z* = -H⁻¹ g.
  const total = (x0: Matrix) => {
    const nz = T * dU;
    let Ax = new Matrix(dX, nz), bx = x0.clone();
    const H = new Matrix(nz, nz), g = new Matrix(nz, 1);
    let c = 0;
    for (let t = 0; t < T; t++) {
      const S = new Matrix(dU, nz).setSubMatrix(Matrix.eye(dU), 0, t * dU);
      const M = new Matrix(D, nz).setSubMatrix(Ax, 0, 0).setSubMatrix(S, dX, 0);
      const n = new Matrix(D, 1).setSubMatrix(bx, 0, 0);
      H.add(M.transpose().mmul(Cm[t]).mmul(M));
      g.add(M.transpose().mmul(Cm[t].mmul(n).add(cv[t])));
      c += 0.5 * n.transpose().mmul(Cm[t]).mmul(n).get(0, 0) + cv[t].transpose().mmul(n).get(0, 0);
      const Fx = F[t].subMatrix(0, dX - 1, 0, dX - 1), Fu = F[t].subMatrix(0, dX - 1, dX, D - 1);
      Ax = Fx.mmul(Ax).add(Fu.mmul(S));
      bx = Fx.mmul(bx).add(f[t]);
    }
    H.add(Ax.transpose().mmul(Vxx).mmul(Ax));
    g.add(Ax.transpose().mmul(Vxx.mmul(bx).add(Vx)));
    c += 0.5 * bx.transpose().mmul(Vxx).mmul(bx).get(0, 0) + Vx.transpose().mmul(bx).get(0, 0);
    const z = solve(H, g).mul(-1);
    return { z, J: 0.5 * z.transpose().mmul(H).mmul(z).get(0, 0) + g.transpose().mmul(z).get(0, 0) + c };
  };
  const x0a = randn(rng, dX, 1), x0b = randn(rng, dX, 1);
  const { z, J: Ja } = total(x0a);
  let x = x0a;
  for (let t = 0; t < T; t++) {
    const u = Matrix.from1DArray(dU, dX, res.K[t]).mmul(x).add(Matrix.columnVector(Array.from(res.k[t])));
    for (let i = 0; i < dU; i++) assert.ok(Math.abs(u.get(i, 0) - z.get(t * dU + i, 0)) < 1e-8 * (1 + Math.abs(z.get(t * dU + i, 0))), `u_${t}[${i}]`);
    x = F[t].mmul(new Matrix(D, 1).setSubMatrix(x, 0, 0).setSubMatrix(u, dX, 0)).add(f[t]);
  }
  // V_0(x) = ½ xᵀ Vxx_0 x + Vx_0ᵀ x + const: differences of optimal costs agree.
  const V0 = (v: Matrix) => 0.5 * v.transpose().mmul(Matrix.from1DArray(dX, dX, res.Vxx[0])).mmul(v).get(0, 0) + Matrix.rowVector(Array.from(res.Vx[0])).mmul(v).get(0, 0);
  const dJ = Ja - total(x0b).J, dV = V0(x0a) - V0(x0b);
  assert.ok(Math.abs(dJ - dV) < 1e-8 * (1 + Math.abs(dJ)), `value function ${dV} vs ${dJ}`);
});

test('backwardPass throws NotPositiveDefiniteError naming the step', () => {
  const T = 3, dX = 1, dU = 1;
  const Cm = [Float64Array.of(1, 0, 0, 1), Float64Array.of(1, 0, 0, -5), Float64Array.of(1, 0, 0, 1)];
  const dyn = { T, dX, dU, F: Array(T).fill(Float64Array.of(1, 1)), f: Array(T).fill(Float64Array.of(0)) };
  assert.throws(() => backwardPass(dyn, { Cm, cv: Array(T).fill(new Float64Array(2)) }), (e: unknown) => e instanceof NotPositiveDefiniteError && e.t === 1);
  assert.throws(() => backwardPass({ ...dyn, f: [Float64Array.of(NaN), Float64Array.of(0), Float64Array.of(0)] }, { Cm: Array(T).fill(Float64Array.of(1, 0, 0, 1)), cv: Array(T).fill(new Float64Array(2)) }), /NaNs encountered in dynamics/);
});

test('quadratizeReward reproduces a quadratic reward exactly (cost = -reward) and expectedCost its mean', () => {
  const rng = new Rng(9);
  const dX = 3, dU = 2, D = dX + dU;
  const W = spd(rng, D), w = randn(rng, D, 1), r0 = 0.7;
  const reward = (y: Matrix) => r0 - 0.5 * y.transpose().mmul(W).mmul(y).get(0, 0) + w.transpose().mmul(y).get(0, 0);
  const expand = (x: Float64Array, u: Float64Array): RewardExpansion => {
    const y = Matrix.columnVector([...x, ...u]);
    const grad = w.clone().sub(W.mmul(y)).getColumn(0);
    const H = W.clone().mul(-1);
    return {
      r: reward(y), rx: Float64Array.from(grad.slice(0, dX)), ru: Float64Array.from(grad.slice(dX)),
      rxx: flat(H.subMatrix(0, dX - 1, 0, dX - 1)), ruu: flat(H.subMatrix(dX, D - 1, dX, D - 1)), rux: flat(H.subMatrix(dX, D - 1, 0, dX - 1)),
    };
  };
  const xh = Float64Array.of(0.3, -1, 2), uh = Float64Array.of(0.5, 0.1);
  const cost = quadratizeReward([expand(xh, uh)], { x: [xh], u: [uh] });
  for (let k = 0; k < 5; k++) {
    const y = randn(rng, D, 1);
    const c = cost.cc[0] + Matrix.rowVector(Array.from(cost.cv[0])).mmul(y).get(0, 0) + 0.5 * y.transpose().mmul(Matrix.from1DArray(D, D, cost.Cm[0])).mmul(y).get(0, 0);
    assert.ok(Math.abs(c + reward(y)) < 1e-10 * (1 + Math.abs(c)), 'cost = -reward');
  }
  // E[c(y)] for y ~ N(m, S) is c(m) + ½ tr(S Cm).
  const m = randn(rng, D, 1), S = spd(rng, D);
  const e = expectedCost(cost, { mu: [flat(m)], sigma: [flat(S)], muT: new Float64Array(dX), sigmaT: new Float64Array(dX * dX) });
  const want = -reward(m) + 0.5 * S.mmul(W).trace();
  assert.ok(Math.abs(e[0] - want) < 1e-9 * (1 + Math.abs(want)));
  assert.throws(() => quadratizeReward([{ ...expand(xh, uh), rx: new Float64Array(2) }], { x: [xh], u: [uh] }), /wrong sizes/);
});
