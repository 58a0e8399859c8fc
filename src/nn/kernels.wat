;; SIMD kernels over a learner's flat float32 buffers: Adam, the soft target update, the squared
;; gradient norm and the elementwise parts of a dense layer (bias + ReLU, its backward, bias gradient), four floats per instruction (wasm SIMD, f32x4). The buffers live in
;; the imported memory (`kernels.ts` allocates them there); addresses are byte offsets, counts are
;; elements. `npm run build:kernels` assembles this file (wabt) into `kernels_wasm.ts`, once with a
;; plain and once with a shared memory (the token SHARED below); a test checks that the assembled
;; module is current.
(module
  (import "env" "memory" (memory 1 65536 SHARED))

  ;; Adam (Kingma & Ba 2015, Algorithm 1, in the reordered form of Sec. 2) in place on n elements:
  ;;   g <- scale g;  m <- m + (g - m) k1;  v <- v + (g^2 - v) k2;  theta <- theta - lrT m / (sqrt(v) + epsT)
  ;; with k1 = 1 - beta1, k2 = 1 - beta2 and lrT, epsT the bias-corrected rate and epsilon (`adam.ts`).
  ;; Returns 1 when every new weight is finite and within ±F32_MAX, else 0 (the divergence guard's check).
  ;; Subnormal g, m and v are flushed to zero: the weights of a dead ReLU unit get g = 0 for good,
  ;; their m decays by beta1 per step into the subnormal range within ~800 steps (v later), and x86
  ;; arithmetic on subnormals is ~40x slower (measured, bench/adam_denormal.ts) while wasm cannot
  ;; set the CPU's flush-to-zero mode. A flushed value is below 2^-126 and moves no weight.
  (func (export "adam")
        (param $theta i32) (param $m i32) (param $v i32) (param $g i32) (param $n i32)
        (param $lrT f32) (param $epsT f32) (param $k1 f32) (param $k2 f32) (param $scale f32) (result i32)
    (local $i i32) (local $o i32) (local $n4 i32) (local $ok v128) (local $oks i32)
    (local $G v128) (local $M v128) (local $V v128) (local $T v128)
    (local $vlrT v128) (local $vepsT v128) (local $vk1 v128) (local $vk2 v128) (local $vscale v128) (local $vmax v128) (local $vmin v128)
    (local $gs f32) (local $ms f32) (local $vs f32) (local $ts f32)
    (local.set $vlrT (f32x4.splat (local.get $lrT)))
    (local.set $vepsT (f32x4.splat (local.get $epsT)))
    (local.set $vk1 (f32x4.splat (local.get $k1)))
    (local.set $vk2 (f32x4.splat (local.get $k2)))
    (local.set $vscale (f32x4.splat (local.get $scale)))
    (local.set $vmax (f32x4.splat (f32.const 0x1.fffffep+127)))
    (local.set $vmin (f32x4.splat (f32.const 0x1p-126)))
    (local.set $ok (v128.const i32x4 -1 -1 -1 -1))
    (local.set $n4 (i32.and (local.get $n) (i32.const -4)))
    (block $done
      (loop $quads
        (br_if $done (i32.ge_u (local.get $i) (local.get $n4)))
        (local.set $o (i32.shl (local.get $i) (i32.const 2)))
        (local.set $G (f32x4.mul (v128.load (i32.add (local.get $g) (local.get $o))) (local.get $vscale)))
        (local.set $G (v128.and (local.get $G) (f32x4.ge (f32x4.abs (local.get $G)) (local.get $vmin))))
        (local.set $M (v128.load (i32.add (local.get $m) (local.get $o))))
        (local.set $V (v128.load (i32.add (local.get $v) (local.get $o))))
        (local.set $M (f32x4.add (local.get $M) (f32x4.mul (f32x4.sub (local.get $G) (local.get $M)) (local.get $vk1))))
        (local.set $M (v128.and (local.get $M) (f32x4.ge (f32x4.abs (local.get $M)) (local.get $vmin))))
        (local.set $V (f32x4.add (local.get $V) (f32x4.mul (f32x4.sub (f32x4.mul (local.get $G) (local.get $G)) (local.get $V)) (local.get $vk2))))
        (local.set $V (v128.and (local.get $V) (f32x4.ge (local.get $V) (local.get $vmin))))
        (local.set $T (f32x4.sub (v128.load (i32.add (local.get $theta) (local.get $o)))
                        (f32x4.div (f32x4.mul (local.get $M) (local.get $vlrT))
                                   (f32x4.add (f32x4.sqrt (local.get $V)) (local.get $vepsT)))))
        (local.set $ok (v128.and (local.get $ok) (f32x4.le (f32x4.abs (local.get $T)) (local.get $vmax))))
        (v128.store (i32.add (local.get $m) (local.get $o)) (local.get $M))
        (v128.store (i32.add (local.get $v) (local.get $o)) (local.get $V))
        (v128.store (i32.add (local.get $theta) (local.get $o)) (local.get $T))
        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (br $quads)))
    (local.set $oks (i32x4.all_true (local.get $ok)))
    (block $done
      (loop $tail
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $o (i32.shl (local.get $i) (i32.const 2)))
        (local.set $gs (f32.mul (f32.load (i32.add (local.get $g) (local.get $o))) (local.get $scale)))
        (local.set $ms (f32.load (i32.add (local.get $m) (local.get $o))))
        (local.set $vs (f32.load (i32.add (local.get $v) (local.get $o))))
        (if (f32.lt (f32.abs (local.get $gs)) (f32.const 0x1p-126)) (then (local.set $gs (f32.const 0))))
        (local.set $ms (f32.add (local.get $ms) (f32.mul (f32.sub (local.get $gs) (local.get $ms)) (local.get $k1))))
        (if (f32.lt (f32.abs (local.get $ms)) (f32.const 0x1p-126)) (then (local.set $ms (f32.const 0))))
        (local.set $vs (f32.add (local.get $vs) (f32.mul (f32.sub (f32.mul (local.get $gs) (local.get $gs)) (local.get $vs)) (local.get $k2))))
        (if (f32.lt (local.get $vs) (f32.const 0x1p-126)) (then (local.set $vs (f32.const 0))))
        (local.set $ts (f32.sub (f32.load (i32.add (local.get $theta) (local.get $o)))
                         (f32.div (f32.mul (local.get $ms) (local.get $lrT))
                                  (f32.add (f32.sqrt (local.get $vs)) (local.get $epsT)))))
        (if (i32.eqz (f32.le (f32.abs (local.get $ts)) (f32.const 0x1.fffffep+127)))
          (then (local.set $oks (i32.const 0))))
        (f32.store (i32.add (local.get $m) (local.get $o)) (local.get $ms))
        (f32.store (i32.add (local.get $v) (local.get $o)) (local.get $vs))
        (f32.store (i32.add (local.get $theta) (local.get $o)) (local.get $ts))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $tail)))
    (local.get $oks))

  ;; Soft target update (DDPG; NAF Algorithm 1) on n elements: target <- tau theta + (1 - tau) target.
  (func (export "soft_update") (param $target i32) (param $theta i32) (param $n i32) (param $tau f32)
    (local $i i32) (local $o i32) (local $n4 i32) (local $k f32) (local $vtau v128) (local $vk v128)
    (local.set $k (f32.sub (f32.const 1) (local.get $tau)))
    (local.set $vtau (f32x4.splat (local.get $tau)))
    (local.set $vk (f32x4.splat (local.get $k)))
    (local.set $n4 (i32.and (local.get $n) (i32.const -4)))
    (block $done
      (loop $quads
        (br_if $done (i32.ge_u (local.get $i) (local.get $n4)))
        (local.set $o (i32.shl (local.get $i) (i32.const 2)))
        (v128.store (i32.add (local.get $target) (local.get $o))
          (f32x4.add (f32x4.mul (v128.load (i32.add (local.get $theta) (local.get $o))) (local.get $vtau))
                     (f32x4.mul (v128.load (i32.add (local.get $target) (local.get $o))) (local.get $vk))))
        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (br $quads)))
    (block $done
      (loop $tail
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $o (i32.shl (local.get $i) (i32.const 2)))
        (f32.store (i32.add (local.get $target) (local.get $o))
          (f32.add (f32.mul (f32.load (i32.add (local.get $theta) (local.get $o))) (local.get $tau))
                   (f32.mul (f32.load (i32.add (local.get $target) (local.get $o))) (local.get $k))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $tail))))

  ;; Sum of squares of n elements, accumulated in float64 (two f64x2 accumulators).
  (func (export "sum_squares") (param $g i32) (param $n i32) (result f64)
    (local $i i32) (local $o i32) (local $n4 i32) (local $X v128) (local $lo v128) (local $hi v128)
    (local $accLo v128) (local $accHi v128) (local $s f64) (local $x f64)
    (local.set $n4 (i32.and (local.get $n) (i32.const -4)))
    (block $done
      (loop $quads
        (br_if $done (i32.ge_u (local.get $i) (local.get $n4)))
        (local.set $X (v128.load (i32.add (local.get $g) (i32.shl (local.get $i) (i32.const 2)))))
        (local.set $lo (f64x2.promote_low_f32x4 (local.get $X)))
        (local.set $hi (f64x2.promote_low_f32x4
          (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $X) (local.get $X))))
        (local.set $accLo (f64x2.add (local.get $accLo) (f64x2.mul (local.get $lo) (local.get $lo))))
        (local.set $accHi (f64x2.add (local.get $accHi) (f64x2.mul (local.get $hi) (local.get $hi))))
        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (br $quads)))
    (local.set $s (f64.add
      (f64.add (f64x2.extract_lane 0 (local.get $accLo)) (f64x2.extract_lane 1 (local.get $accLo)))
      (f64.add (f64x2.extract_lane 0 (local.get $accHi)) (f64x2.extract_lane 1 (local.get $accHi)))))
    (block $done
      (loop $tail
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $x (f64.promote_f32 (f32.load (i32.add (local.get $g) (i32.shl (local.get $i) (i32.const 2))))))
        (local.set $s (f64.add (local.get $s) (f64.mul (local.get $x) (local.get $x))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $tail)))
    (local.get $s))

  ;; Dense layer epilogue (`dense.ts`) on rows x cols, row-major: y[i, j] <- y[i, j] + b[j], then
  ;; ReLU max(y, 0) when relu != 0 (NaN stays NaN). Branch-free: the signs of fresh pre-activations
  ;; are random, and a branch per element mispredicts about half the time.
  (func (export "bias_relu") (param $y i32) (param $b i32) (param $rows i32) (param $cols i32) (param $relu i32)
    (local $r i32) (local $j i32) (local $row i32) (local $c4 i32) (local $a i32) (local $v v128) (local $s f32)
    (local.set $c4 (i32.and (local.get $cols) (i32.const -4)))
    (block $rdone
      (loop $rows
        (br_if $rdone (i32.ge_u (local.get $r) (local.get $rows)))
        (local.set $row (i32.add (local.get $y) (i32.shl (i32.mul (local.get $r) (local.get $cols)) (i32.const 2))))
        (local.set $j (i32.const 0))
        (block $done
          (loop $quads
            (br_if $done (i32.ge_u (local.get $j) (local.get $c4)))
            (local.set $a (i32.add (local.get $row) (i32.shl (local.get $j) (i32.const 2))))
            (local.set $v (f32x4.add (v128.load (local.get $a)) (v128.load (i32.add (local.get $b) (i32.shl (local.get $j) (i32.const 2))))))
            (if (local.get $relu) (then (local.set $v (f32x4.max (local.get $v) (v128.const f32x4 0 0 0 0)))))
            (v128.store (local.get $a) (local.get $v))
            (local.set $j (i32.add (local.get $j) (i32.const 4)))
            (br $quads)))
        (block $done
          (loop $tail
            (br_if $done (i32.ge_u (local.get $j) (local.get $cols)))
            (local.set $a (i32.add (local.get $row) (i32.shl (local.get $j) (i32.const 2))))
            (local.set $s (f32.add (f32.load (local.get $a)) (f32.load (i32.add (local.get $b) (i32.shl (local.get $j) (i32.const 2))))))
            (if (local.get $relu) (then (local.set $s (f32.max (local.get $s) (f32.const 0)))))
            (f32.store (local.get $a) (local.get $s))
            (local.set $j (i32.add (local.get $j) (i32.const 1)))
            (br $tail)))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br $rows))))

  ;; ReLU's backward on n elements: g <- g where y > 0, else 0 (relu'(y) = 1 for y > 0; tfjs `step`).
  (func (export "relu_grad") (param $g i32) (param $y i32) (param $n i32)
    (local $i i32) (local $o i32) (local $n4 i32)
    (local.set $n4 (i32.and (local.get $n) (i32.const -4)))
    (block $done
      (loop $quads
        (br_if $done (i32.ge_u (local.get $i) (local.get $n4)))
        (local.set $o (i32.shl (local.get $i) (i32.const 2)))
        (v128.store (i32.add (local.get $g) (local.get $o))
          (v128.and (v128.load (i32.add (local.get $g) (local.get $o)))
                    (f32x4.gt (v128.load (i32.add (local.get $y) (local.get $o))) (v128.const f32x4 0 0 0 0))))
        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (br $quads)))
    (block $done
      (loop $tail
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $o (i32.shl (local.get $i) (i32.const 2)))
        (if (i32.eqz (f32.gt (f32.load (i32.add (local.get $y) (local.get $o))) (f32.const 0)))
          (then (f32.store (i32.add (local.get $g) (local.get $o)) (f32.const 0))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $tail))))

  ;; Column sums of rows x cols, row-major: out[j] <- sum over i of g[i, j], added in row order in
  ;; float32 (a bias gradient, dL/db = sum over samples of G).
  (func (export "col_sums") (param $g i32) (param $rows i32) (param $cols i32) (param $out i32)
    (local $r i32) (local $j i32) (local $c4 i32) (local $stride i32) (local $a i32) (local $acc v128) (local $s f32)
    (local.set $c4 (i32.and (local.get $cols) (i32.const -4)))
    (local.set $stride (i32.shl (local.get $cols) (i32.const 2)))
    (block $done
      (loop $quads
        (br_if $done (i32.ge_u (local.get $j) (local.get $c4)))
        (local.set $acc (v128.const f32x4 0 0 0 0))
        (local.set $a (i32.add (local.get $g) (i32.shl (local.get $j) (i32.const 2))))
        (local.set $r (i32.const 0))
        (block $rdone
          (loop $rows
            (br_if $rdone (i32.ge_u (local.get $r) (local.get $rows)))
            (local.set $acc (f32x4.add (local.get $acc) (v128.load (local.get $a))))
            (local.set $a (i32.add (local.get $a) (local.get $stride)))
            (local.set $r (i32.add (local.get $r) (i32.const 1)))
            (br $rows)))
        (v128.store (i32.add (local.get $out) (i32.shl (local.get $j) (i32.const 2))) (local.get $acc))
        (local.set $j (i32.add (local.get $j) (i32.const 4)))
        (br $quads)))
    (block $done
      (loop $tail
        (br_if $done (i32.ge_u (local.get $j) (local.get $cols)))
        (local.set $s (f32.const 0))
        (local.set $a (i32.add (local.get $g) (i32.shl (local.get $j) (i32.const 2))))
        (local.set $r (i32.const 0))
        (block $rdone
          (loop $rows
            (br_if $rdone (i32.ge_u (local.get $r) (local.get $rows)))
            (local.set $s (f32.add (local.get $s) (f32.load (local.get $a))))
            (local.set $a (i32.add (local.get $a) (local.get $stride)))
            (local.set $r (i32.add (local.get $r) (i32.const 1)))
            (br $rows)))
        (f32.store (i32.add (local.get $out) (i32.shl (local.get $j) (i32.const 2))) (local.get $s))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br $tail))))
)
