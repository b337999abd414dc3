;; f64x2 kernels of the SPU emulator (EMULATOR.md §14). Hand-written WebAssembly text, assembled
;; with wabt (scripts/build-kernels.ts; test/emulator-physics/kernels.test.ts rebuilds it and
;; compares the bytes). Every lane does the scalar reference's operations in the scalar
;; reference's order (kernels/scalar.ts): SIMD only runs independent sums side by side.
;; No fused multiply-add, no relaxed SIMD, no threads.
;; (Over 400 lines: WebAssembly text is verbose, and one module keeps one imported memory for all
;; kernels; each function is self-contained and commented.)
;;
;; J (r×n) is stored pair-interleaved: rows 2π and 2π+1 form pair π, and pair π holds
;; (J[2π][j], J[2π+1][j]) at byte offset P + π·16n + 16j. An odd r has a zero row as padding.
;; All pointers are byte offsets into the imported memory, 16-byte aligned.
(module
  (import "env" "mem" (memory 1))

  ;; out[2π + l] = Σ_j ascending J[2π+l][j]·x_j for pairs π in [p0, p1) and j in [j0, j1), the sum
  ;; continuing from out's value when $cont ≠ 0 (a j-tiled sum is the same sum), else from +0;
  ;; x_j at x + j·xs (bytes). Four pairs per sweep over x, then one pair at a time.
  (func (export "jx") (param $P i32) (param $p0 i32) (param $p1 i32) (param $n i32) (param $j0 i32) (param $j1 i32)
                      (param $x i32) (param $xs i32) (param $out i32) (param $cont i32)
    (local $pi i32) (local $j i32) (local $a i32) (local $xp i32) (local $row i32)
    (local $s v128) (local $c0 v128) (local $c1 v128) (local $c2 v128) (local $c3 v128)
    (local.set $row (i32.shl (local.get $n) (i32.const 4)))
    (local.set $P (i32.add (local.get $P) (i32.shl (local.get $j0) (i32.const 4))))
    (local.set $x (i32.add (local.get $x) (i32.mul (local.get $j0) (local.get $xs))))
    (local.set $n (i32.sub (local.get $j1) (local.get $j0)))
    (local.set $pi (local.get $p0))
    (block $done4
      (loop $pairs4
        (br_if $done4 (i32.gt_s (i32.add (local.get $pi) (i32.const 4)) (local.get $p1)))
        (local.set $a (i32.add (local.get $P) (i32.mul (local.get $pi) (local.get $row))))
        (if (local.get $cont)
          (then
            (local.set $c0 (v128.load (i32.add (local.get $out) (i32.shl (local.get $pi) (i32.const 4)))))
            (local.set $c1 (v128.load offset=16 (i32.add (local.get $out) (i32.shl (local.get $pi) (i32.const 4)))))
            (local.set $c2 (v128.load offset=32 (i32.add (local.get $out) (i32.shl (local.get $pi) (i32.const 4)))))
            (local.set $c3 (v128.load offset=48 (i32.add (local.get $out) (i32.shl (local.get $pi) (i32.const 4))))))
          (else
            (local.set $c0 (v128.const f64x2 0 0))
            (local.set $c1 (v128.const f64x2 0 0))
            (local.set $c2 (v128.const f64x2 0 0))
            (local.set $c3 (v128.const f64x2 0 0))))
        (local.set $xp (local.get $x))
        (local.set $j (i32.const 0))
        (block $endj
          (loop $lj
            (br_if $endj (i32.ge_s (local.get $j) (local.get $n)))
            (local.set $s (v128.load64_splat (local.get $xp)))
            (local.set $c0 (f64x2.add (local.get $c0) (f64x2.mul (v128.load (local.get $a)) (local.get $s))))
            (local.set $c1 (f64x2.add (local.get $c1) (f64x2.mul (v128.load (i32.add (local.get $a) (local.get $row))) (local.get $s))))
            (local.set $c2 (f64x2.add (local.get $c2) (f64x2.mul (v128.load (i32.add (local.get $a) (i32.shl (local.get $row) (i32.const 1)))) (local.get $s))))
            (local.set $c3 (f64x2.add (local.get $c3) (f64x2.mul (v128.load (i32.add (local.get $a) (i32.mul (local.get $row) (i32.const 3)))) (local.get $s))))
            (local.set $a (i32.add (local.get $a) (i32.const 16)))
            (local.set $xp (i32.add (local.get $xp) (local.get $xs)))
            (local.set $j (i32.add (local.get $j) (i32.const 1)))
            (br $lj)))
        (v128.store (i32.add (local.get $out) (i32.shl (local.get $pi) (i32.const 4))) (local.get $c0))
        (v128.store (i32.add (local.get $out) (i32.shl (i32.add (local.get $pi) (i32.const 1)) (i32.const 4))) (local.get $c1))
        (v128.store (i32.add (local.get $out) (i32.shl (i32.add (local.get $pi) (i32.const 2)) (i32.const 4))) (local.get $c2))
        (v128.store (i32.add (local.get $out) (i32.shl (i32.add (local.get $pi) (i32.const 3)) (i32.const 4))) (local.get $c3))
        (local.set $pi (i32.add (local.get $pi) (i32.const 4)))
        (br $pairs4)))
    (block $done1
      (loop $pairs1
        (br_if $done1 (i32.ge_s (local.get $pi) (local.get $p1)))
        (local.set $a (i32.add (local.get $P) (i32.mul (local.get $pi) (local.get $row))))
        (local.set $c0 (if (result v128) (local.get $cont)
          (then (v128.load (i32.add (local.get $out) (i32.shl (local.get $pi) (i32.const 4)))))
          (else (v128.const f64x2 0 0))))
        (local.set $xp (local.get $x))
        (local.set $j (i32.const 0))
        (block $endj1
          (loop $lj1
            (br_if $endj1 (i32.ge_s (local.get $j) (local.get $n)))
            (local.set $c0 (f64x2.add (local.get $c0) (f64x2.mul (v128.load (local.get $a)) (v128.load64_splat (local.get $xp)))))
            (local.set $a (i32.add (local.get $a) (i32.const 16)))
            (local.set $xp (i32.add (local.get $xp) (local.get $xs)))
            (local.set $j (i32.add (local.get $j) (i32.const 1)))
            (br $lj1)))
        (v128.store (i32.add (local.get $out) (i32.shl (local.get $pi) (i32.const 4))) (local.get $c0))
        (local.set $pi (i32.add (local.get $pi) (i32.const 1)))
        (br $pairs1))))

  ;; Two Gram rows at once: $jx for x = each lane of the pair at $x (rows 2π_x and 2π_x+1, x_j at
  ;; x + 16j, lane l's sums to out_l), each J load serving both rows. Every entry's sum is jx's:
  ;; J·x_j added in ascending j, from out's value when $cont ≠ 0, else from +0. Four pairs per
  ;; sweep (eight chains of adds), then one pair at a time.
  (func (export "jx2") (param $P i32) (param $p0 i32) (param $p1 i32) (param $n i32) (param $j0 i32) (param $j1 i32)
                       (param $x i32) (param $out0 i32) (param $out1 i32) (param $cont i32)
    (local $pi i32) (local $a i32) (local $xp i32) (local $xe i32) (local $row i32) (local $o0 i32) (local $o1 i32)
    (local $s0 v128) (local $s1 v128) (local $v v128)
    (local $c0 v128) (local $c1 v128) (local $c2 v128) (local $c3 v128)
    (local $d0 v128) (local $d1 v128) (local $d2 v128) (local $d3 v128)
    (local.set $row (i32.shl (local.get $n) (i32.const 4)))
    (local.set $P (i32.add (local.get $P) (i32.shl (local.get $j0) (i32.const 4))))
    (local.set $x (i32.add (local.get $x) (i32.shl (local.get $j0) (i32.const 4))))
    (local.set $xe (i32.add (local.get $x) (i32.shl (i32.sub (local.get $j1) (local.get $j0)) (i32.const 4))))
    (local.set $pi (local.get $p0))
    (block $done4
      (loop $pairs4
        (br_if $done4 (i32.gt_s (i32.add (local.get $pi) (i32.const 4)) (local.get $p1)))
        (local.set $a (i32.add (local.get $P) (i32.mul (local.get $pi) (local.get $row))))
        (local.set $o0 (i32.add (local.get $out0) (i32.shl (local.get $pi) (i32.const 4))))
        (local.set $o1 (i32.add (local.get $out1) (i32.shl (local.get $pi) (i32.const 4))))
        (if (local.get $cont)
          (then
            (local.set $c0 (v128.load (local.get $o0)))
            (local.set $c1 (v128.load offset=16 (local.get $o0)))
            (local.set $c2 (v128.load offset=32 (local.get $o0)))
            (local.set $c3 (v128.load offset=48 (local.get $o0)))
            (local.set $d0 (v128.load (local.get $o1)))
            (local.set $d1 (v128.load offset=16 (local.get $o1)))
            (local.set $d2 (v128.load offset=32 (local.get $o1)))
            (local.set $d3 (v128.load offset=48 (local.get $o1))))
          (else
            (local.set $c0 (v128.const f64x2 0 0))
            (local.set $c1 (v128.const f64x2 0 0))
            (local.set $c2 (v128.const f64x2 0 0))
            (local.set $c3 (v128.const f64x2 0 0))
            (local.set $d0 (v128.const f64x2 0 0))
            (local.set $d1 (v128.const f64x2 0 0))
            (local.set $d2 (v128.const f64x2 0 0))
            (local.set $d3 (v128.const f64x2 0 0))))
        (local.set $xp (local.get $x))
        (block $endj
          (loop $lj
            (br_if $endj (i32.ge_u (local.get $xp) (local.get $xe)))
            (local.set $s0 (v128.load64_splat (local.get $xp)))
            (local.set $s1 (v128.load64_splat offset=8 (local.get $xp)))
            (local.set $v (v128.load (local.get $a)))
            (local.set $c0 (f64x2.add (local.get $c0) (f64x2.mul (local.get $v) (local.get $s0))))
            (local.set $d0 (f64x2.add (local.get $d0) (f64x2.mul (local.get $v) (local.get $s1))))
            (local.set $v (v128.load (i32.add (local.get $a) (local.get $row))))
            (local.set $c1 (f64x2.add (local.get $c1) (f64x2.mul (local.get $v) (local.get $s0))))
            (local.set $d1 (f64x2.add (local.get $d1) (f64x2.mul (local.get $v) (local.get $s1))))
            (local.set $v (v128.load (i32.add (local.get $a) (i32.shl (local.get $row) (i32.const 1)))))
            (local.set $c2 (f64x2.add (local.get $c2) (f64x2.mul (local.get $v) (local.get $s0))))
            (local.set $d2 (f64x2.add (local.get $d2) (f64x2.mul (local.get $v) (local.get $s1))))
            (local.set $v (v128.load (i32.add (local.get $a) (i32.mul (local.get $row) (i32.const 3)))))
            (local.set $c3 (f64x2.add (local.get $c3) (f64x2.mul (local.get $v) (local.get $s0))))
            (local.set $d3 (f64x2.add (local.get $d3) (f64x2.mul (local.get $v) (local.get $s1))))
            (local.set $a (i32.add (local.get $a) (i32.const 16)))
            (local.set $xp (i32.add (local.get $xp) (i32.const 16)))
            (br $lj)))
        (v128.store (local.get $o0) (local.get $c0))
        (v128.store offset=16 (local.get $o0) (local.get $c1))
        (v128.store offset=32 (local.get $o0) (local.get $c2))
        (v128.store offset=48 (local.get $o0) (local.get $c3))
        (v128.store (local.get $o1) (local.get $d0))
        (v128.store offset=16 (local.get $o1) (local.get $d1))
        (v128.store offset=32 (local.get $o1) (local.get $d2))
        (v128.store offset=48 (local.get $o1) (local.get $d3))
        (local.set $pi (i32.add (local.get $pi) (i32.const 4)))
        (br $pairs4)))
    (block $done1
      (loop $pairs1
        (br_if $done1 (i32.ge_s (local.get $pi) (local.get $p1)))
        (local.set $a (i32.add (local.get $P) (i32.mul (local.get $pi) (local.get $row))))
        (local.set $o0 (i32.add (local.get $out0) (i32.shl (local.get $pi) (i32.const 4))))
        (local.set $o1 (i32.add (local.get $out1) (i32.shl (local.get $pi) (i32.const 4))))
        (if (local.get $cont)
          (then
            (local.set $c0 (v128.load (local.get $o0)))
            (local.set $d0 (v128.load (local.get $o1))))
          (else
            (local.set $c0 (v128.const f64x2 0 0))
            (local.set $d0 (v128.const f64x2 0 0))))
        (local.set $xp (local.get $x))
        (block $endj1
          (loop $lj1
            (br_if $endj1 (i32.ge_u (local.get $xp) (local.get $xe)))
            (local.set $v (v128.load (local.get $a)))
            (local.set $c0 (f64x2.add (local.get $c0) (f64x2.mul (local.get $v) (v128.load64_splat (local.get $xp)))))
            (local.set $d0 (f64x2.add (local.get $d0) (f64x2.mul (local.get $v) (v128.load64_splat offset=8 (local.get $xp)))))
            (local.set $a (i32.add (local.get $a) (i32.const 16)))
            (local.set $xp (i32.add (local.get $xp) (i32.const 16)))
            (br $lj1)))
        (v128.store (local.get $o0) (local.get $c0))
        (v128.store (local.get $o1) (local.get $d0))
        (local.set $pi (i32.add (local.get $pi) (i32.const 1)))
        (br $pairs1))))

  ;; The j in [j0, j1) with x_j ≠ +0 and ≠ −0 (x_j at x + j·16, a row of the pair layout), as byte
  ;; offsets 16·(j − j0) into the i32 list at $list, ascending; returns their count. Branch-free.
  (func (export "nzidx") (param $x i32) (param $j0 i32) (param $j1 i32) (param $list i32) (result i32)
    (local $j i32) (local $cnt i32) (local $xp i32) (local $off i32)
    (local.set $xp (i32.add (local.get $x) (i32.shl (local.get $j0) (i32.const 4))))
    (local.set $j (local.get $j0))
    (block $done
      (loop $lj
        (br_if $done (i32.ge_s (local.get $j) (local.get $j1)))
        (i32.store (i32.add (local.get $list) (i32.shl (local.get $cnt) (i32.const 2))) (local.get $off))
        (local.set $cnt (i32.add (local.get $cnt) (f64.ne (f64.load (local.get $xp)) (f64.const 0))))
        (local.set $xp (i32.add (local.get $xp) (i32.const 16)))
        (local.set $off (i32.add (local.get $off) (i32.const 16)))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br $lj)))
    (local.get $cnt))

  ;; jx for x = a row of the pair layout (x_j at x + 16j) over only the cnt j listed at $list (byte
  ;; offsets 16·(j − j0), ascending, from nzidx): the other j have x_j = ±0, whose products are ±0,
  ;; and adding ±0 leaves a sum that started at +0 unchanged (such a sum is never −0), so the
  ;; result has the bits of jx over all of [j0, j1).
  (func (export "jxl") (param $P i32) (param $p0 i32) (param $p1 i32) (param $n i32) (param $j0 i32)
                       (param $list i32) (param $cnt i32) (param $x i32) (param $out i32) (param $cont i32)
    (local $pi i32) (local $a i32) (local $lp i32) (local $le i32) (local $off i32) (local $row i32)
    (local $s v128) (local $c0 v128) (local $c1 v128) (local $c2 v128) (local $c3 v128)
    (local.set $row (i32.shl (local.get $n) (i32.const 4)))
    (local.set $P (i32.add (local.get $P) (i32.shl (local.get $j0) (i32.const 4))))
    (local.set $x (i32.add (local.get $x) (i32.shl (local.get $j0) (i32.const 4))))
    (local.set $le (i32.add (local.get $list) (i32.shl (local.get $cnt) (i32.const 2))))
    (local.set $pi (local.get $p0))
    (block $done4
      (loop $pairs4
        (br_if $done4 (i32.gt_s (i32.add (local.get $pi) (i32.const 4)) (local.get $p1)))
        (local.set $a (i32.add (local.get $P) (i32.mul (local.get $pi) (local.get $row))))
        (if (local.get $cont)
          (then
            (local.set $c0 (v128.load (i32.add (local.get $out) (i32.shl (local.get $pi) (i32.const 4)))))
            (local.set $c1 (v128.load offset=16 (i32.add (local.get $out) (i32.shl (local.get $pi) (i32.const 4)))))
            (local.set $c2 (v128.load offset=32 (i32.add (local.get $out) (i32.shl (local.get $pi) (i32.const 4)))))
            (local.set $c3 (v128.load offset=48 (i32.add (local.get $out) (i32.shl (local.get $pi) (i32.const 4))))))
          (else
            (local.set $c0 (v128.const f64x2 0 0))
            (local.set $c1 (v128.const f64x2 0 0))
            (local.set $c2 (v128.const f64x2 0 0))
            (local.set $c3 (v128.const f64x2 0 0))))
        (local.set $lp (local.get $list))
        (block $endj
          (loop $lj
            (br_if $endj (i32.ge_u (local.get $lp) (local.get $le)))
            (local.set $off (i32.load (local.get $lp)))
            (local.set $s (v128.load64_splat (i32.add (local.get $x) (local.get $off))))
            (local.set $off (i32.add (local.get $a) (local.get $off)))
            (local.set $c0 (f64x2.add (local.get $c0) (f64x2.mul (v128.load (local.get $off)) (local.get $s))))
            (local.set $c1 (f64x2.add (local.get $c1) (f64x2.mul (v128.load (i32.add (local.get $off) (local.get $row))) (local.get $s))))
            (local.set $c2 (f64x2.add (local.get $c2) (f64x2.mul (v128.load (i32.add (local.get $off) (i32.shl (local.get $row) (i32.const 1)))) (local.get $s))))
            (local.set $c3 (f64x2.add (local.get $c3) (f64x2.mul (v128.load (i32.add (local.get $off) (i32.mul (local.get $row) (i32.const 3)))) (local.get $s))))
            (local.set $lp (i32.add (local.get $lp) (i32.const 4)))
            (br $lj)))
        (v128.store (i32.add (local.get $out) (i32.shl (local.get $pi) (i32.const 4))) (local.get $c0))
        (v128.store offset=16 (i32.add (local.get $out) (i32.shl (local.get $pi) (i32.const 4))) (local.get $c1))
        (v128.store offset=32 (i32.add (local.get $out) (i32.shl (local.get $pi) (i32.const 4))) (local.get $c2))
        (v128.store offset=48 (i32.add (local.get $out) (i32.shl (local.get $pi) (i32.const 4))) (local.get $c3))
        (local.set $pi (i32.add (local.get $pi) (i32.const 4)))
        (br $pairs4)))
    (block $done1
      (loop $pairs1
        (br_if $done1 (i32.ge_s (local.get $pi) (local.get $p1)))
        (local.set $a (i32.add (local.get $P) (i32.mul (local.get $pi) (local.get $row))))
        (local.set $c0 (if (result v128) (local.get $cont)
          (then (v128.load (i32.add (local.get $out) (i32.shl (local.get $pi) (i32.const 4)))))
          (else (v128.const f64x2 0 0))))
        (local.set $lp (local.get $list))
        (block $endj1
          (loop $lj1
            (br_if $endj1 (i32.ge_u (local.get $lp) (local.get $le)))
            (local.set $off (i32.load (local.get $lp)))
            (local.set $c0 (f64x2.add (local.get $c0)
              (f64x2.mul (v128.load (i32.add (local.get $a) (local.get $off))) (v128.load64_splat (i32.add (local.get $x) (local.get $off))))))
            (local.set $lp (i32.add (local.get $lp) (i32.const 4)))
            (br $lj1)))
        (v128.store (i32.add (local.get $out) (i32.shl (local.get $pi) (i32.const 4))) (local.get $c0))
        (local.set $pi (i32.add (local.get $pi) (i32.const 1)))
        (br $pairs1))))

  ;; (Jx, Jg, Jw1, Jw2)_k = Σ_j ascending J_kj·(x, g, w1, w2)_j, one pass over J (exact run).
  ;; v = four vectors of n at v, v + 8n, v + 16n, v + 24n; out = four vectors of 2·npairs.
  (func (export "jx4") (param $P i32) (param $np i32) (param $n i32) (param $v i32) (param $out i32)
    (local $pi i32) (local $j i32) (local $a i32) (local $xp i32) (local $m i32) (local $d v128)
    (local $c0 v128) (local $c1 v128) (local $c2 v128) (local $c3 v128) (local $ostride i32)
    (local.set $m (i32.shl (local.get $n) (i32.const 3)))
    (local.set $ostride (i32.shl (local.get $np) (i32.const 4)))
    (local.set $a (local.get $P))
    (local.set $pi (i32.const 0))
    (block $donep
      (loop $lp
        (br_if $donep (i32.ge_s (local.get $pi) (local.get $np)))
        (local.set $c0 (v128.const f64x2 0 0))
        (local.set $c1 (v128.const f64x2 0 0))
        (local.set $c2 (v128.const f64x2 0 0))
        (local.set $c3 (v128.const f64x2 0 0))
        (local.set $xp (local.get $v))
        (local.set $j (i32.const 0))
        (block $endj
          (loop $lj
            (br_if $endj (i32.ge_s (local.get $j) (local.get $n)))
            (local.set $d (v128.load (local.get $a)))
            (local.set $c0 (f64x2.add (local.get $c0) (f64x2.mul (local.get $d) (v128.load64_splat (local.get $xp)))))
            (local.set $c1 (f64x2.add (local.get $c1) (f64x2.mul (local.get $d) (v128.load64_splat (i32.add (local.get $xp) (local.get $m))))))
            (local.set $c2 (f64x2.add (local.get $c2) (f64x2.mul (local.get $d) (v128.load64_splat (i32.add (local.get $xp) (i32.shl (local.get $m) (i32.const 1)))))))
            (local.set $c3 (f64x2.add (local.get $c3) (f64x2.mul (local.get $d) (v128.load64_splat (i32.add (local.get $xp) (i32.mul (local.get $m) (i32.const 3)))))))
            (local.set $a (i32.add (local.get $a) (i32.const 16)))
            (local.set $xp (i32.add (local.get $xp) (i32.const 8)))
            (local.set $j (i32.add (local.get $j) (i32.const 1)))
            (br $lj)))
        (v128.store (i32.add (local.get $out) (i32.shl (local.get $pi) (i32.const 4))) (local.get $c0))
        (v128.store (i32.add (i32.add (local.get $out) (local.get $ostride)) (i32.shl (local.get $pi) (i32.const 4))) (local.get $c1))
        (v128.store (i32.add (i32.add (local.get $out) (i32.shl (local.get $ostride) (i32.const 1))) (i32.shl (local.get $pi) (i32.const 4))) (local.get $c2))
        (v128.store (i32.add (i32.add (local.get $out) (i32.mul (local.get $ostride) (i32.const 3))) (i32.shl (local.get $pi) (i32.const 4))) (local.get $c3))
        (local.set $pi (i32.add (local.get $pi) (i32.const 1)))
        (br $lp))))

  ;; out_i = Σ_k ascending J_ki·w_k from +0 (w has 2·npairs entries, the padding weight +0).
  ;; Two pairs (four rows) per sweep over out, two cells per vector; odd n: the last cell scalar.
  (func (export "jtw") (param $P i32) (param $np i32) (param $n i32) (param $w i32) (param $out i32)
    (local $pi i32) (local $i i32) (local $a i32) (local $b i32) (local $row i32) (local $o i32)
    (local $w0 v128) (local $w1 v128) (local $w2 v128) (local $w3 v128)
    (local $u v128) (local $v v128) (local $acc v128) (local $s f64) (local $last i32) (local $two i32)
    (local.set $row (i32.shl (local.get $n) (i32.const 4)))
    (local.set $last (i32.and (local.get $n) (i32.const -2)))
    (memory.fill (local.get $out) (i32.const 0) (i32.shl (local.get $n) (i32.const 3)))
    (local.set $pi (i32.const 0))
    (block $donep
      (loop $lp
        (br_if $donep (i32.ge_s (local.get $pi) (local.get $np)))
        (local.set $two (i32.lt_s (i32.add (local.get $pi) (i32.const 1)) (local.get $np)))
        (local.set $w0 (v128.load64_splat (i32.add (local.get $w) (i32.shl (local.get $pi) (i32.const 4)))))
        (local.set $w1 (v128.load64_splat (i32.add (local.get $w) (i32.add (i32.shl (local.get $pi) (i32.const 4)) (i32.const 8)))))
        (local.set $a (i32.add (local.get $P) (i32.mul (local.get $pi) (local.get $row))))
        (if (local.get $two)
          (then
            (local.set $w2 (v128.load64_splat (i32.add (local.get $w) (i32.add (i32.shl (local.get $pi) (i32.const 4)) (i32.const 16)))))
            (local.set $w3 (v128.load64_splat (i32.add (local.get $w) (i32.add (i32.shl (local.get $pi) (i32.const 4)) (i32.const 24)))))
            (local.set $b (i32.add (local.get $a) (local.get $row)))
            (local.set $o (local.get $out))
            (local.set $i (i32.const 0))
            (block $endi
              (loop $li
                (br_if $endi (i32.ge_s (local.get $i) (local.get $last)))
                (local.set $acc (v128.load (local.get $o)))
                (local.set $u (v128.load (local.get $a)))
                (local.set $v (v128.load offset=16 (local.get $a)))
                (local.set $acc (f64x2.add (local.get $acc) (f64x2.mul (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $u) (local.get $v)) (local.get $w0))))
                (local.set $acc (f64x2.add (local.get $acc) (f64x2.mul (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $u) (local.get $v)) (local.get $w1))))
                (local.set $u (v128.load (local.get $b)))
                (local.set $v (v128.load offset=16 (local.get $b)))
                (local.set $acc (f64x2.add (local.get $acc) (f64x2.mul (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $u) (local.get $v)) (local.get $w2))))
                (local.set $acc (f64x2.add (local.get $acc) (f64x2.mul (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $u) (local.get $v)) (local.get $w3))))
                (v128.store (local.get $o) (local.get $acc))
                (local.set $a (i32.add (local.get $a) (i32.const 32)))
                (local.set $b (i32.add (local.get $b) (i32.const 32)))
                (local.set $o (i32.add (local.get $o) (i32.const 16)))
                (local.set $i (i32.add (local.get $i) (i32.const 2)))
                (br $li)))
            (if (i32.lt_s (local.get $last) (local.get $n))
              (then
                (local.set $s (f64.load (local.get $o)))
                (local.set $s (f64.add (local.get $s) (f64.mul (f64.load (local.get $a)) (f64x2.extract_lane 0 (local.get $w0)))))
                (local.set $s (f64.add (local.get $s) (f64.mul (f64.load offset=8 (local.get $a)) (f64x2.extract_lane 0 (local.get $w1)))))
                (local.set $s (f64.add (local.get $s) (f64.mul (f64.load (local.get $b)) (f64x2.extract_lane 0 (local.get $w2)))))
                (local.set $s (f64.add (local.get $s) (f64.mul (f64.load offset=8 (local.get $b)) (f64x2.extract_lane 0 (local.get $w3)))))
                (f64.store (local.get $o) (local.get $s))))
            (local.set $pi (i32.add (local.get $pi) (i32.const 2))))
          (else
            (local.set $o (local.get $out))
            (local.set $i (i32.const 0))
            (block $endi1
              (loop $li1
                (br_if $endi1 (i32.ge_s (local.get $i) (local.get $last)))
                (local.set $acc (v128.load (local.get $o)))
                (local.set $u (v128.load (local.get $a)))
                (local.set $v (v128.load offset=16 (local.get $a)))
                (local.set $acc (f64x2.add (local.get $acc) (f64x2.mul (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $u) (local.get $v)) (local.get $w0))))
                (local.set $acc (f64x2.add (local.get $acc) (f64x2.mul (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $u) (local.get $v)) (local.get $w1))))
                (v128.store (local.get $o) (local.get $acc))
                (local.set $a (i32.add (local.get $a) (i32.const 32)))
                (local.set $o (i32.add (local.get $o) (i32.const 16)))
                (local.set $i (i32.add (local.get $i) (i32.const 2)))
                (br $li1)))
            (if (i32.lt_s (local.get $last) (local.get $n))
              (then
                (local.set $s (f64.load (local.get $o)))
                (local.set $s (f64.add (local.get $s) (f64.mul (f64.load (local.get $a)) (f64x2.extract_lane 0 (local.get $w0)))))
                (local.set $s (f64.add (local.get $s) (f64.mul (f64.load offset=8 (local.get $a)) (f64x2.extract_lane 0 (local.get $w1)))))
                (f64.store (local.get $o) (local.get $s))))
            (local.set $pi (i32.add (local.get $pi) (i32.const 1)))))
        (br $lp))))

  ;; out_i = out_i + c·x_i (the drift's "+ λ·x_i"; the exact run's final "+ Σ_k J_ki·ρ_k").
  (func (export "axpy") (param $out i32) (param $c f64) (param $x i32) (param $n i32)
    (local $i i32) (local $cv v128) (local $last i32)
    (local.set $cv (f64x2.splat (local.get $c)))
    (local.set $last (i32.and (local.get $n) (i32.const -2)))
    (block $end
      (loop $l
        (br_if $end (i32.ge_s (local.get $i) (local.get $last)))
        (v128.store (local.get $out) (f64x2.add (v128.load (local.get $out)) (f64x2.mul (local.get $cv) (v128.load (local.get $x)))))
        (local.set $out (i32.add (local.get $out) (i32.const 16)))
        (local.set $x (i32.add (local.get $x) (i32.const 16)))
        (local.set $i (i32.add (local.get $i) (i32.const 2)))
        (br $l)))
    (if (i32.lt_s (local.get $last) (local.get $n))
      (then (f64.store (local.get $out) (f64.add (f64.load (local.get $out)) (f64.mul (local.get $c) (f64.load (local.get $x))))))))

  ;; out_i = out_i + x_i (running sums; the exact run's final correction).
  (func (export "vadd") (param $out i32) (param $x i32) (param $n i32)
    (local $i i32) (local $last i32)
    (local.set $last (i32.and (local.get $n) (i32.const -2)))
    (block $end
      (loop $l
        (br_if $end (i32.ge_s (local.get $i) (local.get $last)))
        (v128.store (local.get $out) (f64x2.add (v128.load (local.get $out)) (v128.load (local.get $x))))
        (local.set $out (i32.add (local.get $out) (i32.const 16)))
        (local.set $x (i32.add (local.get $x) (i32.const 16)))
        (local.set $i (i32.add (local.get $i) (i32.const 2)))
        (br $l)))
    (if (i32.lt_s (local.get $last) (local.get $n))
      (then (f64.store (local.get $out) (f64.add (f64.load (local.get $out)) (f64.load (local.get $x)))))))

  ;; Euler update (EMULATOR.md §9.1) of cells [0, n): v = x − dt·(ax − g); noise: v = v + σ·z;
  ;; saturate: clamp to ±F (counted); then x = v. Returns the clamp count, or −1 when some v is
  ;; not within ±1e150 (NaN included), after updating every cell as the scalar loop does.
  (func (export "euler") (param $x i32) (param $ax i32) (param $g i32) (param $z i32) (param $n i32)
                         (param $dt f64) (param $sigma f64) (param $noise i32) (param $sat i32) (param $fs f64)
                         (result i32)
    (local $i i32) (local $last i32) (local $v v128) (local $m v128) (local $cnt v128) (local $bad v128)
    (local $dtv v128) (local $sv v128) (local $hi v128) (local $lo v128) (local $lim v128) (local $nlim v128)
    (local $s f64) (local $sc i32) (local $badc i32)
    (local.set $dtv (f64x2.splat (local.get $dt)))
    (local.set $sv (f64x2.splat (local.get $sigma)))
    (local.set $hi (f64x2.splat (local.get $fs)))
    (local.set $lo (f64x2.neg (f64x2.splat (local.get $fs))))
    (local.set $lim (f64x2.splat (f64.const 1e150)))
    (local.set $nlim (f64x2.splat (f64.const -1e150)))
    (local.set $last (i32.and (local.get $n) (i32.const -2)))
    (block $end
      (loop $l
        (br_if $end (i32.ge_s (local.get $i) (local.get $last)))
        (local.set $v (f64x2.sub (v128.load (local.get $x))
          (f64x2.mul (local.get $dtv) (f64x2.sub (v128.load (local.get $ax)) (v128.load (local.get $g))))))
        (if (local.get $noise)
          (then (local.set $v (f64x2.add (local.get $v) (f64x2.mul (local.get $sv) (v128.load (local.get $z)))))))
        (if (local.get $sat)
          (then
            (local.set $m (f64x2.gt (local.get $v) (local.get $hi)))
            (local.set $cnt (i64x2.sub (local.get $cnt) (local.get $m)))
            (local.set $v (v128.bitselect (local.get $hi) (local.get $v) (local.get $m)))
            (local.set $m (f64x2.lt (local.get $v) (local.get $lo)))
            (local.set $cnt (i64x2.sub (local.get $cnt) (local.get $m)))
            (local.set $v (v128.bitselect (local.get $lo) (local.get $v) (local.get $m)))))
        (local.set $bad (v128.or (local.get $bad)
          (v128.not (v128.and (f64x2.le (local.get $v) (local.get $lim)) (f64x2.ge (local.get $v) (local.get $nlim))))))
        (v128.store (local.get $x) (local.get $v))
        (local.set $x (i32.add (local.get $x) (i32.const 16)))
        (local.set $ax (i32.add (local.get $ax) (i32.const 16)))
        (local.set $g (i32.add (local.get $g) (i32.const 16)))
        (local.set $z (i32.add (local.get $z) (i32.const 16)))
        (local.set $i (i32.add (local.get $i) (i32.const 2)))
        (br $l)))
    (local.set $sc (i32.wrap_i64 (i64.add (i64x2.extract_lane 0 (local.get $cnt)) (i64x2.extract_lane 1 (local.get $cnt)))))
    (local.set $badc (v128.any_true (local.get $bad)))
    (if (i32.lt_s (local.get $last) (local.get $n))
      (then
        (local.set $s (f64.sub (f64.load (local.get $x))
          (f64.mul (local.get $dt) (f64.sub (f64.load (local.get $ax)) (f64.load (local.get $g))))))
        (if (local.get $noise)
          (then (local.set $s (f64.add (local.get $s) (f64.mul (local.get $sigma) (f64.load (local.get $z)))))))
        (if (local.get $sat)
          (then
            (if (f64.gt (local.get $s) (local.get $fs))
              (then (local.set $s (local.get $fs)) (local.set $sc (i32.add (local.get $sc) (i32.const 1))))
              (else
                (if (f64.lt (local.get $s) (f64.neg (local.get $fs)))
                  (then (local.set $s (f64.neg (local.get $fs))) (local.set $sc (i32.add (local.get $sc) (i32.const 1)))))))))
        (if (i32.eqz (i32.and (f64.le (local.get $s) (f64.const 1e150)) (f64.ge (local.get $s) (f64.const -1e150))))
          (then (local.set $badc (i32.const 1))))
        (f64.store (local.get $x) (local.get $s))))
    (if (result i32) (local.get $badc) (then (i32.const -1)) (else (local.get $sc))))

  ;; —— symmetric eigensolver inner loops (EMULATOR.md §9.2; linalg.ts) ——
  ;; p_i = Σ_j ascending A_ij·v_j over j in [k1, n), for rows i in [k1, n); A n×n row-major.
  ;; Two rows per vector (lanes i, i+1); an odd last row in scalar code.
  (func $symv (export "symv") (param $A i32) (param $n i32) (param $k1 i32) (param $v i32) (param $p i32)
    (local $i i32) (local $j i32) (local $a i32) (local $b i32) (local $vp i32) (local $acc v128)
    (local $s f64) (local $row i32)
    (local.set $row (i32.shl (local.get $n) (i32.const 3)))
    (local.set $i (local.get $k1))
    (block $done
      (loop $li
        (br_if $done (i32.gt_s (i32.add (local.get $i) (i32.const 2)) (local.get $n)))
        (local.set $a (i32.add (local.get $A) (i32.shl (i32.add (i32.mul (local.get $i) (local.get $n)) (local.get $k1)) (i32.const 3))))
        (local.set $b (i32.add (local.get $a) (local.get $row)))
        (local.set $vp (i32.add (local.get $v) (i32.shl (local.get $k1) (i32.const 3))))
        (local.set $acc (v128.const f64x2 0 0))
        (local.set $j (local.get $k1))
        (block $endj
          (loop $lj
            (br_if $endj (i32.ge_s (local.get $j) (local.get $n)))
            (local.set $acc (f64x2.add (local.get $acc)
              (f64x2.mul (v128.load64_lane 1 (local.get $b) (v128.load64_zero (local.get $a))) (v128.load64_splat (local.get $vp)))))
            (local.set $a (i32.add (local.get $a) (i32.const 8)))
            (local.set $b (i32.add (local.get $b) (i32.const 8)))
            (local.set $vp (i32.add (local.get $vp) (i32.const 8)))
            (local.set $j (i32.add (local.get $j) (i32.const 1)))
            (br $lj)))
        (v128.store64_lane 0 (i32.add (local.get $p) (i32.shl (local.get $i) (i32.const 3))) (local.get $acc))
        (v128.store64_lane 1 (i32.add (local.get $p) (i32.shl (i32.add (local.get $i) (i32.const 1)) (i32.const 3))) (local.get $acc))
        (local.set $i (i32.add (local.get $i) (i32.const 2)))
        (br $li)))
    (if (i32.lt_s (local.get $i) (local.get $n))
      (then
        (local.set $a (i32.add (local.get $A) (i32.shl (i32.add (i32.mul (local.get $i) (local.get $n)) (local.get $k1)) (i32.const 3))))
        (local.set $vp (i32.add (local.get $v) (i32.shl (local.get $k1) (i32.const 3))))
        (local.set $s (f64.const 0))
        (local.set $j (local.get $k1))
        (block $endt
          (loop $lt
            (br_if $endt (i32.ge_s (local.get $j) (local.get $n)))
            (local.set $s (f64.add (local.get $s) (f64.mul (f64.load (local.get $a)) (f64.load (local.get $vp)))))
            (local.set $a (i32.add (local.get $a) (i32.const 8)))
            (local.set $vp (i32.add (local.get $vp) (i32.const 8)))
            (local.set $j (i32.add (local.get $j) (i32.const 1)))
            (br $lt)))
        (f64.store (i32.add (local.get $p) (i32.shl (local.get $i) (i32.const 3))) (local.get $s)))))

  ;; A_ij = (A_ij − v_i·w_j) − w_i·v_j for i, j in [k1, n) (i outer); two j per vector.
  (func $rank2 (export "rank2") (param $A i32) (param $n i32) (param $k1 i32) (param $v i32) (param $w i32)
    (local $i i32) (local $j i32) (local $a i32) (local $vi v128) (local $wi v128) (local $m i32) (local $last i32)
    (local $vj i32) (local $wj i32)
    (local.set $m (i32.sub (local.get $n) (local.get $k1)))
    (local.set $last (i32.add (local.get $k1) (i32.and (local.get $m) (i32.const -2))))
    (local.set $i (local.get $k1))
    (block $done
      (loop $li
        (br_if $done (i32.ge_s (local.get $i) (local.get $n)))
        (local.set $vi (v128.load64_splat (i32.add (local.get $v) (i32.shl (local.get $i) (i32.const 3)))))
        (local.set $wi (v128.load64_splat (i32.add (local.get $w) (i32.shl (local.get $i) (i32.const 3)))))
        (local.set $a (i32.add (local.get $A) (i32.shl (i32.add (i32.mul (local.get $i) (local.get $n)) (local.get $k1)) (i32.const 3))))
        (local.set $vj (i32.add (local.get $v) (i32.shl (local.get $k1) (i32.const 3))))
        (local.set $wj (i32.add (local.get $w) (i32.shl (local.get $k1) (i32.const 3))))
        (local.set $j (local.get $k1))
        (block $endj
          (loop $lj
            (br_if $endj (i32.ge_s (local.get $j) (local.get $last)))
            (v128.store (local.get $a)
              (f64x2.sub (f64x2.sub (v128.load (local.get $a)) (f64x2.mul (local.get $vi) (v128.load (local.get $wj))))
                         (f64x2.mul (local.get $wi) (v128.load (local.get $vj)))))
            (local.set $a (i32.add (local.get $a) (i32.const 16)))
            (local.set $vj (i32.add (local.get $vj) (i32.const 16)))
            (local.set $wj (i32.add (local.get $wj) (i32.const 16)))
            (local.set $j (i32.add (local.get $j) (i32.const 2)))
            (br $lj)))
        (if (i32.lt_s (local.get $j) (local.get $n))
          (then
            (f64.store (local.get $a)
              (f64.sub (f64.sub (f64.load (local.get $a)) (f64.mul (f64x2.extract_lane 0 (local.get $vi)) (f64.load (local.get $wj))))
                       (f64.mul (f64x2.extract_lane 0 (local.get $wi)) (f64.load (local.get $vj)))))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $li))))

  ;; Q is held as row pairs: rows 2π and 2π+1 of Q (Q_ij = component i of eigenvector j) form pair
  ;; π, stored (Q[2π][j], Q[2π+1][j]) at byte offset Q + π·16n + 16j (odd n: a padding row). The
  ;; reflectors and rotations do not depend on Q, so linalg.ts records them and these kernels apply
  ;; them afterwards, four pairs (eight rows) at a time with the rows in L1; every row of Q sees the
  ;; operations of §9.2 in their order (rows of Q never mix).

  ;; The reflectors listed at K (i32 step indices k, ascending; nk of them) on four pairs at q:
  ;; t = β_k·(Σ_j ascending Q_rj·v_j) over j in [k+1, n), then Q_rj = Q_rj − t·v_j. v_k is row k of
  ;; V (n×n f64, entries k+1 … n−1), β_k = the f64 at B + 8k.
  (func $hh4 (param $q i32) (param $n i32) (param $V i32) (param $B i32) (param $K i32) (param $nk i32)
    (local $i i32) (local $k i32) (local $a i32) (local $vp i32) (local $v0 i32) (local $end i32) (local $a0 i32)
    (local $row i32) (local $row2 i32) (local $row3 i32) (local $s v128) (local $bv v128)
    (local $t0 v128) (local $t1 v128) (local $t2 v128) (local $t3 v128)
    (local.set $row (i32.shl (local.get $n) (i32.const 4)))
    (local.set $row2 (i32.shl (local.get $row) (i32.const 1)))
    (local.set $row3 (i32.add (local.get $row2) (local.get $row)))
    (block $done
      (loop $lk
        (br_if $done (i32.ge_s (local.get $i) (local.get $nk)))
        (local.set $k (i32.load (i32.add (local.get $K) (i32.shl (local.get $i) (i32.const 2)))))
        (local.set $bv (v128.load64_splat (i32.add (local.get $B) (i32.shl (local.get $k) (i32.const 3)))))
        (local.set $a0 (i32.add (local.get $q) (i32.shl (i32.add (local.get $k) (i32.const 1)) (i32.const 4))))
        (local.set $v0 (i32.add (local.get $V) (i32.shl (i32.add (i32.mul (local.get $k) (local.get $n)) (i32.add (local.get $k) (i32.const 1))) (i32.const 3))))
        (local.set $end (i32.add (local.get $V) (i32.shl (i32.mul (i32.add (local.get $k) (i32.const 1)) (local.get $n)) (i32.const 3))))
        (local.set $t0 (v128.const f64x2 0 0))
        (local.set $t1 (v128.const f64x2 0 0))
        (local.set $t2 (v128.const f64x2 0 0))
        (local.set $t3 (v128.const f64x2 0 0))
        (local.set $a (local.get $a0))
        (local.set $vp (local.get $v0))
        (block $e1
          (loop $l1
            (br_if $e1 (i32.ge_u (local.get $vp) (local.get $end)))
            (local.set $s (v128.load64_splat (local.get $vp)))
            (local.set $t0 (f64x2.add (local.get $t0) (f64x2.mul (v128.load (local.get $a)) (local.get $s))))
            (local.set $t1 (f64x2.add (local.get $t1) (f64x2.mul (v128.load (i32.add (local.get $a) (local.get $row))) (local.get $s))))
            (local.set $t2 (f64x2.add (local.get $t2) (f64x2.mul (v128.load (i32.add (local.get $a) (local.get $row2))) (local.get $s))))
            (local.set $t3 (f64x2.add (local.get $t3) (f64x2.mul (v128.load (i32.add (local.get $a) (local.get $row3))) (local.get $s))))
            (local.set $a (i32.add (local.get $a) (i32.const 16)))
            (local.set $vp (i32.add (local.get $vp) (i32.const 8)))
            (br $l1)))
        (local.set $t0 (f64x2.mul (local.get $bv) (local.get $t0)))
        (local.set $t1 (f64x2.mul (local.get $bv) (local.get $t1)))
        (local.set $t2 (f64x2.mul (local.get $bv) (local.get $t2)))
        (local.set $t3 (f64x2.mul (local.get $bv) (local.get $t3)))
        (local.set $a (local.get $a0))
        (local.set $vp (local.get $v0))
        (block $e2
          (loop $l2
            (br_if $e2 (i32.ge_u (local.get $vp) (local.get $end)))
            (local.set $s (v128.load64_splat (local.get $vp)))
            (v128.store (local.get $a) (f64x2.sub (v128.load (local.get $a)) (f64x2.mul (local.get $t0) (local.get $s))))
            (v128.store (i32.add (local.get $a) (local.get $row))
              (f64x2.sub (v128.load (i32.add (local.get $a) (local.get $row))) (f64x2.mul (local.get $t1) (local.get $s))))
            (v128.store (i32.add (local.get $a) (local.get $row2))
              (f64x2.sub (v128.load (i32.add (local.get $a) (local.get $row2))) (f64x2.mul (local.get $t2) (local.get $s))))
            (v128.store (i32.add (local.get $a) (local.get $row3))
              (f64x2.sub (v128.load (i32.add (local.get $a) (local.get $row3))) (f64x2.mul (local.get $t3) (local.get $s))))
            (local.set $a (i32.add (local.get $a) (i32.const 16)))
            (local.set $vp (i32.add (local.get $vp) (i32.const 8)))
            (br $l2)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $lk))))

  ;; $hh4 for one pair at q.
  (func $hh1 (param $q i32) (param $n i32) (param $V i32) (param $B i32) (param $K i32) (param $nk i32)
    (local $i i32) (local $k i32) (local $a i32) (local $vp i32) (local $v0 i32) (local $end i32) (local $a0 i32)
    (local $s v128) (local $t0 v128)
    (block $done
      (loop $lk
        (br_if $done (i32.ge_s (local.get $i) (local.get $nk)))
        (local.set $k (i32.load (i32.add (local.get $K) (i32.shl (local.get $i) (i32.const 2)))))
        (local.set $a0 (i32.add (local.get $q) (i32.shl (i32.add (local.get $k) (i32.const 1)) (i32.const 4))))
        (local.set $v0 (i32.add (local.get $V) (i32.shl (i32.add (i32.mul (local.get $k) (local.get $n)) (i32.add (local.get $k) (i32.const 1))) (i32.const 3))))
        (local.set $end (i32.add (local.get $V) (i32.shl (i32.mul (i32.add (local.get $k) (i32.const 1)) (local.get $n)) (i32.const 3))))
        (local.set $t0 (v128.const f64x2 0 0))
        (local.set $a (local.get $a0))
        (local.set $vp (local.get $v0))
        (block $e1
          (loop $l1
            (br_if $e1 (i32.ge_u (local.get $vp) (local.get $end)))
            (local.set $t0 (f64x2.add (local.get $t0) (f64x2.mul (v128.load (local.get $a)) (v128.load64_splat (local.get $vp)))))
            (local.set $a (i32.add (local.get $a) (i32.const 16)))
            (local.set $vp (i32.add (local.get $vp) (i32.const 8)))
            (br $l1)))
        (local.set $t0 (f64x2.mul (v128.load64_splat (i32.add (local.get $B) (i32.shl (local.get $k) (i32.const 3)))) (local.get $t0)))
        (local.set $a (local.get $a0))
        (local.set $vp (local.get $v0))
        (block $e2
          (loop $l2
            (br_if $e2 (i32.ge_u (local.get $vp) (local.get $end)))
            (local.set $s (v128.load64_splat (local.get $vp)))
            (v128.store (local.get $a) (f64x2.sub (v128.load (local.get $a)) (f64x2.mul (local.get $t0) (local.get $s))))
            (local.set $a (i32.add (local.get $a) (i32.const 16)))
            (local.set $vp (i32.add (local.get $vp) (i32.const 8)))
            (br $l2)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $lk))))

  ;; All recorded reflectors on every pair of Q (np pairs): blocks of four pairs, then single pairs.
  (func (export "hhacc") (param $Q i32) (param $n i32) (param $np i32) (param $V i32) (param $B i32) (param $K i32) (param $nk i32)
    (local $pi i32) (local $row i32)
    (local.set $row (i32.shl (local.get $n) (i32.const 4)))
    (block $d4
      (loop $l4
        (br_if $d4 (i32.gt_s (i32.add (local.get $pi) (i32.const 4)) (local.get $np)))
        (call $hh4 (i32.add (local.get $Q) (i32.mul (local.get $pi) (local.get $row))) (local.get $n) (local.get $V) (local.get $B) (local.get $K) (local.get $nk))
        (local.set $pi (i32.add (local.get $pi) (i32.const 4)))
        (br $l4)))
    (block $d1
      (loop $l1
        (br_if $d1 (i32.ge_s (local.get $pi) (local.get $np)))
        (call $hh1 (i32.add (local.get $Q) (i32.mul (local.get $pi) (local.get $row))) (local.get $n) (local.get $V) (local.get $B) (local.get $K) (local.get $nk))
        (local.set $pi (i32.add (local.get $pi) (i32.const 1)))
        (br $l1))))

  ;; The QR sweeps recorded at S (ns sweeps, i32 pairs (l, cnt)) with their rotations (c, s) as f64
  ;; pairs at CS, consecutively, on four pairs at q: for k = l … l+cnt−1,
  ;; (Q_rk, Q_r,k+1) ← (c·Q_rk + s·Q_r,k+1, c·Q_r,k+1 − s·Q_rk); Q_r,k+1's new value is carried in a
  ;; register to the next rotation (the same value a store and a load would give).
  (func $rot4 (param $q i32) (param $n i32) (param $S i32) (param $ns i32) (param $CS i32)
    (local $w i32) (local $cnt i32) (local $a i32) (local $cp i32) (local $e i32)
    (local $row i32) (local $row2 i32) (local $row3 i32) (local $c v128) (local $s v128) (local $y v128)
    (local $x0 v128) (local $x1 v128) (local $x2 v128) (local $x3 v128)
    (local.set $row (i32.shl (local.get $n) (i32.const 4)))
    (local.set $row2 (i32.shl (local.get $row) (i32.const 1)))
    (local.set $row3 (i32.add (local.get $row2) (local.get $row)))
    (local.set $cp (local.get $CS))
    (block $done
      (loop $lw
        (br_if $done (i32.ge_s (local.get $w) (local.get $ns)))
        (local.set $a (i32.add (local.get $q) (i32.shl (i32.load (i32.add (local.get $S) (i32.shl (local.get $w) (i32.const 3)))) (i32.const 4))))
        (local.set $cnt (i32.load offset=4 (i32.add (local.get $S) (i32.shl (local.get $w) (i32.const 3)))))
        (local.set $e (i32.add (local.get $cp) (i32.shl (local.get $cnt) (i32.const 4))))
        (local.set $x0 (v128.load (local.get $a)))
        (local.set $x1 (v128.load (i32.add (local.get $a) (local.get $row))))
        (local.set $x2 (v128.load (i32.add (local.get $a) (local.get $row2))))
        (local.set $x3 (v128.load (i32.add (local.get $a) (local.get $row3))))
        (block $ek
          (loop $lk
            (br_if $ek (i32.ge_u (local.get $cp) (local.get $e)))
            (local.set $c (v128.load64_splat (local.get $cp)))
            (local.set $s (v128.load64_splat offset=8 (local.get $cp)))
            (local.set $y (v128.load offset=16 (local.get $a)))
            (v128.store (local.get $a) (f64x2.add (f64x2.mul (local.get $c) (local.get $x0)) (f64x2.mul (local.get $s) (local.get $y))))
            (local.set $x0 (f64x2.sub (f64x2.mul (local.get $c) (local.get $y)) (f64x2.mul (local.get $s) (local.get $x0))))
            (local.set $y (v128.load offset=16 (i32.add (local.get $a) (local.get $row))))
            (v128.store (i32.add (local.get $a) (local.get $row)) (f64x2.add (f64x2.mul (local.get $c) (local.get $x1)) (f64x2.mul (local.get $s) (local.get $y))))
            (local.set $x1 (f64x2.sub (f64x2.mul (local.get $c) (local.get $y)) (f64x2.mul (local.get $s) (local.get $x1))))
            (local.set $y (v128.load offset=16 (i32.add (local.get $a) (local.get $row2))))
            (v128.store (i32.add (local.get $a) (local.get $row2)) (f64x2.add (f64x2.mul (local.get $c) (local.get $x2)) (f64x2.mul (local.get $s) (local.get $y))))
            (local.set $x2 (f64x2.sub (f64x2.mul (local.get $c) (local.get $y)) (f64x2.mul (local.get $s) (local.get $x2))))
            (local.set $y (v128.load offset=16 (i32.add (local.get $a) (local.get $row3))))
            (v128.store (i32.add (local.get $a) (local.get $row3)) (f64x2.add (f64x2.mul (local.get $c) (local.get $x3)) (f64x2.mul (local.get $s) (local.get $y))))
            (local.set $x3 (f64x2.sub (f64x2.mul (local.get $c) (local.get $y)) (f64x2.mul (local.get $s) (local.get $x3))))
            (local.set $a (i32.add (local.get $a) (i32.const 16)))
            (local.set $cp (i32.add (local.get $cp) (i32.const 16)))
            (br $lk)))
        (v128.store (local.get $a) (local.get $x0))
        (v128.store (i32.add (local.get $a) (local.get $row)) (local.get $x1))
        (v128.store (i32.add (local.get $a) (local.get $row2)) (local.get $x2))
        (v128.store (i32.add (local.get $a) (local.get $row3)) (local.get $x3))
        (local.set $w (i32.add (local.get $w) (i32.const 1)))
        (br $lw))))

  ;; $rot4 for one pair at q.
  (func $rot1 (param $q i32) (param $n i32) (param $S i32) (param $ns i32) (param $CS i32)
    (local $w i32) (local $cnt i32) (local $a i32) (local $cp i32) (local $e i32)
    (local $c v128) (local $s v128) (local $y v128) (local $x0 v128)
    (local.set $cp (local.get $CS))
    (block $done
      (loop $lw
        (br_if $done (i32.ge_s (local.get $w) (local.get $ns)))
        (local.set $a (i32.add (local.get $q) (i32.shl (i32.load (i32.add (local.get $S) (i32.shl (local.get $w) (i32.const 3)))) (i32.const 4))))
        (local.set $cnt (i32.load offset=4 (i32.add (local.get $S) (i32.shl (local.get $w) (i32.const 3)))))
        (local.set $e (i32.add (local.get $cp) (i32.shl (local.get $cnt) (i32.const 4))))
        (local.set $x0 (v128.load (local.get $a)))
        (block $ek
          (loop $lk
            (br_if $ek (i32.ge_u (local.get $cp) (local.get $e)))
            (local.set $c (v128.load64_splat (local.get $cp)))
            (local.set $s (v128.load64_splat offset=8 (local.get $cp)))
            (local.set $y (v128.load offset=16 (local.get $a)))
            (v128.store (local.get $a) (f64x2.add (f64x2.mul (local.get $c) (local.get $x0)) (f64x2.mul (local.get $s) (local.get $y))))
            (local.set $x0 (f64x2.sub (f64x2.mul (local.get $c) (local.get $y)) (f64x2.mul (local.get $s) (local.get $x0))))
            (local.set $a (i32.add (local.get $a) (i32.const 16)))
            (local.set $cp (i32.add (local.get $cp) (i32.const 16)))
            (br $lk)))
        (v128.store (local.get $a) (local.get $x0))
        (local.set $w (i32.add (local.get $w) (i32.const 1)))
        (br $lw))))

  ;; All recorded sweeps on every pair of Q (np pairs): blocks of four pairs, then single pairs.
  (func $rotapply (export "rotapply") (param $Q i32) (param $n i32) (param $np i32) (param $S i32) (param $ns i32) (param $CS i32)
    (local $pi i32) (local $row i32)
    (local.set $row (i32.shl (local.get $n) (i32.const 4)))
    (block $d4
      (loop $l4
        (br_if $d4 (i32.gt_s (i32.add (local.get $pi) (i32.const 4)) (local.get $np)))
        (call $rot4 (i32.add (local.get $Q) (i32.mul (local.get $pi) (local.get $row))) (local.get $n) (local.get $S) (local.get $ns) (local.get $CS))
        (local.set $pi (i32.add (local.get $pi) (i32.const 4)))
        (br $l4)))
    (block $d1
      (loop $l1
        (br_if $d1 (i32.ge_s (local.get $pi) (local.get $np)))
        (call $rot1 (i32.add (local.get $Q) (i32.mul (local.get $pi) (local.get $row))) (local.get $n) (local.get $S) (local.get $ns) (local.get $CS))
        (local.set $pi (i32.add (local.get $pi) (i32.const 1)))
        (br $l1))))

  ;; Q's row pairs (np of them at Q) back to row-major n×n at out (an odd n's padding row dropped).
  (func (export "unpair") (param $Q i32) (param $n i32) (param $np i32) (param $out i32)
    (local $pi i32) (local $j i32) (local $src i32) (local $d0 i32) (local $d1 i32) (local $v v128) (local $two i32)
    (block $done
      (loop $lp
        (br_if $done (i32.ge_s (local.get $pi) (local.get $np)))
        (local.set $src (i32.add (local.get $Q) (i32.shl (i32.mul (local.get $pi) (local.get $n)) (i32.const 4))))
        (local.set $d0 (i32.add (local.get $out) (i32.shl (i32.mul (local.get $pi) (local.get $n)) (i32.const 4))))
        (local.set $d1 (i32.add (local.get $d0) (i32.shl (local.get $n) (i32.const 3))))
        (local.set $two (i32.lt_s (i32.add (i32.shl (local.get $pi) (i32.const 1)) (i32.const 1)) (local.get $n)))
        (local.set $j (i32.const 0))
        (block $ej
          (loop $lj
            (br_if $ej (i32.ge_s (local.get $j) (local.get $n)))
            (local.set $v (v128.load (local.get $src)))
            (v128.store64_lane 0 (local.get $d0) (local.get $v))
            (if (local.get $two) (then (v128.store64_lane 1 (local.get $d1) (local.get $v))))
            (local.set $src (i32.add (local.get $src) (i32.const 16)))
            (local.set $d0 (i32.add (local.get $d0) (i32.const 8)))
            (local.set $d1 (i32.add (local.get $d1) (i32.const 8)))
            (local.set $j (i32.add (local.get $j) (i32.const 1)))
            (br $lj)))
        (local.set $pi (i32.add (local.get $pi) (i32.const 1)))
        (br $lp))))

  ;; √(x² + y²) as linalg.ts's hypotDet: m = max(|x|, |y|) (the second when not >), 0 if m = 0,
  ;; else m·sqrt((|x|/m)·(|x|/m) + (|y|/m)·(|y|/m)).
  (func $hypot (param $x f64) (param $y f64) (result f64)
    (local $ax f64) (local $ay f64) (local $m f64) (local $u f64) (local $v f64)
    (local.set $ax (f64.abs (local.get $x)))
    (local.set $ay (f64.abs (local.get $y)))
    (local.set $m (select (local.get $ax) (local.get $ay) (f64.gt (local.get $ax) (local.get $ay))))
    (if (f64.eq (local.get $m) (f64.const 0)) (then (return (f64.const 0))))
    (local.set $u (f64.div (local.get $ax) (local.get $m)))
    (local.set $v (f64.div (local.get $ay) (local.get $m)))
    (f64.mul (local.get $m) (f64.sqrt (f64.add (f64.mul (local.get $u) (local.get $u)) (f64.mul (local.get $v) (local.get $v))))))

  ;; One implicit QR sweep of §9.2 on the block l … m of the tridiagonal (d, e: f64 arrays), with
  ;; the Wilkinson shift from its trailing 2×2; rotation k − l's (c, s) stored at cs + 16·(k − l).
  ;; Scalar f64 code, the expressions of linalg.ts in the same order.
  (func $qrsweep (export "qrsweep") (param $d i32) (param $e i32) (param $l i32) (param $m i32) (param $cs i32)
    (local $dd f64) (local $bm f64) (local $den f64) (local $mu f64) (local $x f64) (local $z f64)
    (local $k i32) (local $r f64) (local $c f64) (local $s f64) (local $al f64) (local $be f64) (local $ga f64)
    (local $csk f64) (local $de f64) (local $dk i32) (local $ek i32)
    (local.set $dd (f64.div (f64.sub (f64.load (i32.add (local.get $d) (i32.shl (i32.sub (local.get $m) (i32.const 1)) (i32.const 3))))
                                     (f64.load (i32.add (local.get $d) (i32.shl (local.get $m) (i32.const 3)))))
                            (f64.const 2)))
    (local.set $bm (f64.load (i32.add (local.get $e) (i32.shl (i32.sub (local.get $m) (i32.const 1)) (i32.const 3)))))
    (local.set $den (if (result f64) (f64.ge (local.get $dd) (f64.const 0))
      (then (f64.add (local.get $dd) (call $hypot (local.get $dd) (local.get $bm))))
      (else (f64.sub (local.get $dd) (call $hypot (local.get $dd) (local.get $bm))))))
    (local.set $mu (f64.sub (f64.load (i32.add (local.get $d) (i32.shl (local.get $m) (i32.const 3))))
                            (f64.div (f64.mul (local.get $bm) (local.get $bm)) (local.get $den))))
    (local.set $x (f64.sub (f64.load (i32.add (local.get $d) (i32.shl (local.get $l) (i32.const 3)))) (local.get $mu)))
    (local.set $z (f64.load (i32.add (local.get $e) (i32.shl (local.get $l) (i32.const 3)))))
    (local.set $k (local.get $l))
    (block $done
      (loop $lk
        (br_if $done (i32.ge_s (local.get $k) (local.get $m)))
        (local.set $dk (i32.add (local.get $d) (i32.shl (local.get $k) (i32.const 3))))
        (local.set $ek (i32.add (local.get $e) (i32.shl (local.get $k) (i32.const 3))))
        (local.set $r (call $hypot (local.get $x) (local.get $z)))
        (if (f64.eq (local.get $r) (f64.const 0))
          (then (local.set $c (f64.const 1)) (local.set $s (f64.const 0)))
          (else (local.set $c (f64.div (local.get $x) (local.get $r))) (local.set $s (f64.div (local.get $z) (local.get $r)))))
        (if (i32.gt_s (local.get $k) (local.get $l)) (then (f64.store offset=0 (i32.sub (local.get $ek) (i32.const 8)) (local.get $r))))
        (local.set $al (f64.load (local.get $dk)))
        (local.set $be (f64.load (local.get $ek)))
        (local.set $ga (f64.load offset=8 (local.get $dk)))
        (local.set $csk (f64.mul (local.get $c) (local.get $s)))
        (f64.store (local.get $dk)
          (f64.add (f64.add (f64.mul (f64.mul (local.get $c) (local.get $c)) (local.get $al))
                            (f64.mul (f64.mul (f64.const 2) (local.get $csk)) (local.get $be)))
                   (f64.mul (f64.mul (local.get $s) (local.get $s)) (local.get $ga))))
        (f64.store offset=8 (local.get $dk)
          (f64.add (f64.sub (f64.mul (f64.mul (local.get $s) (local.get $s)) (local.get $al))
                            (f64.mul (f64.mul (f64.const 2) (local.get $csk)) (local.get $be)))
                   (f64.mul (f64.mul (local.get $c) (local.get $c)) (local.get $ga))))
        (f64.store (local.get $ek)
          (f64.add (f64.mul (local.get $csk) (f64.sub (local.get $ga) (local.get $al)))
                   (f64.mul (f64.sub (f64.mul (local.get $c) (local.get $c)) (f64.mul (local.get $s) (local.get $s))) (local.get $be))))
        (if (i32.lt_s (i32.add (local.get $k) (i32.const 1)) (local.get $m))
          (then
            (local.set $de (f64.load offset=8 (local.get $ek)))
            (local.set $z (f64.mul (local.get $s) (local.get $de)))
            (f64.store offset=8 (local.get $ek) (f64.mul (local.get $c) (local.get $de)))
            (local.set $x (f64.load (local.get $ek)))))
        (f64.store (local.get $cs) (local.get $c))
        (f64.store offset=8 (local.get $cs) (local.get $s))
        (local.set $cs (i32.add (local.get $cs) (i32.const 16)))
        (local.set $k (i32.add (local.get $k) (i32.const 1)))
        (br $lk))))

  ;; The whole Householder reduction of §9.2 (linalg.ts's loop, scalar f64 in its order) on A
  ;; (n×n f64, row-major), with $symv and $rank2 for the trailing block: for k = 0 … n−3 with a
  ;; nonzero tail Σ_{i ≥ k+2} ascending A_ik², v_k goes to row k of A (entries k+1 … n−1), β_k to
  ;; B + 8k and k to the i32 list at K; p (n f64) is scratch. Returns the number of steps taken.
  (func (export "tridiag") (param $A i32) (param $n i32) (param $B i32) (param $K i32) (param $p i32) (result i32)
    (local $k i32) (local $i i32) (local $nk i32) (local $row i32) (local $vo i32) (local $col i32) (local $k1 i32)
    (local $tail f64) (local $x0 f64) (local $sg f64) (local $alpha f64) (local $t f64) (local $vtv f64)
    (local $beta f64) (local $pv f64) (local $kk f64)
    (local.set $row (i32.shl (local.get $n) (i32.const 3)))
    (block $done
      (loop $lk
        (br_if $done (i32.ge_s (i32.add (local.get $k) (i32.const 2)) (local.get $n)))
        (local.set $k1 (i32.add (local.get $k) (i32.const 1)))
        ;; column k of A below the subdiagonal: A + 8(i·n + k)
        (local.set $col (i32.add (local.get $A) (i32.shl (i32.add (i32.mul (local.get $k1) (local.get $n)) (local.get $k)) (i32.const 3))))
        (local.set $x0 (f64.load (local.get $col)))
        (local.set $tail (f64.const 0))
        (local.set $i (i32.add (local.get $k) (i32.const 2)))
        (local.set $col (i32.add (local.get $col) (local.get $row)))
        (block $e1 (loop $l1
          (br_if $e1 (i32.ge_s (local.get $i) (local.get $n)))
          (local.set $t (f64.load (local.get $col)))
          (local.set $tail (f64.add (local.get $tail) (f64.mul (local.get $t) (local.get $t))))
          (local.set $col (i32.add (local.get $col) (local.get $row)))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br $l1)))
        (if (f64.ne (local.get $tail) (f64.const 0))
          (then
            (local.set $vo (i32.add (local.get $A) (i32.mul (local.get $k) (local.get $row))))
            (local.set $sg (f64.add (f64.mul (local.get $x0) (local.get $x0)) (local.get $tail)))
            (local.set $alpha (select (f64.neg (f64.sqrt (local.get $sg))) (f64.sqrt (local.get $sg)) (f64.ge (local.get $x0) (f64.const 0))))
            (f64.store (i32.add (local.get $vo) (i32.shl (local.get $k1) (i32.const 3))) (f64.sub (local.get $x0) (local.get $alpha)))
            ;; v_i = A_ik (i ≥ k+2); vtv = Σ_{i ≥ k+1} ascending v_i²
            (local.set $col (i32.add (local.get $A) (i32.shl (i32.add (i32.mul (i32.add (local.get $k) (i32.const 2)) (local.get $n)) (local.get $k)) (i32.const 3))))
            (local.set $i (i32.add (local.get $k) (i32.const 2)))
            (block $e2 (loop $l2
              (br_if $e2 (i32.ge_s (local.get $i) (local.get $n)))
              (f64.store (i32.add (local.get $vo) (i32.shl (local.get $i) (i32.const 3))) (f64.load (local.get $col)))
              (local.set $col (i32.add (local.get $col) (local.get $row)))
              (local.set $i (i32.add (local.get $i) (i32.const 1)))
              (br $l2)))
            (local.set $vtv (f64.const 0))
            (local.set $i (local.get $k1))
            (block $e3 (loop $l3
              (br_if $e3 (i32.ge_s (local.get $i) (local.get $n)))
              (local.set $t (f64.load (i32.add (local.get $vo) (i32.shl (local.get $i) (i32.const 3)))))
              (local.set $vtv (f64.add (local.get $vtv) (f64.mul (local.get $t) (local.get $t))))
              (local.set $i (i32.add (local.get $i) (i32.const 1)))
              (br $l3)))
            (local.set $beta (f64.div (f64.const 2) (local.get $vtv)))
            (call $symv (local.get $A) (local.get $n) (local.get $k1) (local.get $vo) (local.get $p))
            ;; p_i = β·p_i; pv = Σ ascending p_i·v_i; then w_i = p_i − (β/2·pv)·v_i in p
            (local.set $pv (f64.const 0))
            (local.set $i (local.get $k1))
            (block $e4 (loop $l4
              (br_if $e4 (i32.ge_s (local.get $i) (local.get $n)))
              (local.set $t (f64.mul (local.get $beta) (f64.load (i32.add (local.get $p) (i32.shl (local.get $i) (i32.const 3))))))
              (f64.store (i32.add (local.get $p) (i32.shl (local.get $i) (i32.const 3))) (local.get $t))
              (local.set $pv (f64.add (local.get $pv) (f64.mul (local.get $t) (f64.load (i32.add (local.get $vo) (i32.shl (local.get $i) (i32.const 3)))))))
              (local.set $i (i32.add (local.get $i) (i32.const 1)))
              (br $l4)))
            (local.set $kk (f64.mul (f64.div (local.get $beta) (f64.const 2)) (local.get $pv)))
            (local.set $i (local.get $k1))
            (block $e5 (loop $l5
              (br_if $e5 (i32.ge_s (local.get $i) (local.get $n)))
              (f64.store (i32.add (local.get $p) (i32.shl (local.get $i) (i32.const 3)))
                (f64.sub (f64.load (i32.add (local.get $p) (i32.shl (local.get $i) (i32.const 3))))
                         (f64.mul (local.get $kk) (f64.load (i32.add (local.get $vo) (i32.shl (local.get $i) (i32.const 3)))))))
              (local.set $i (i32.add (local.get $i) (i32.const 1)))
              (br $l5)))
            (call $rank2 (local.get $A) (local.get $n) (local.get $k1) (local.get $vo) (local.get $p))
            ;; column k: α on the subdiagonal, +0 below
            (local.set $col (i32.add (local.get $A) (i32.shl (i32.add (i32.mul (local.get $k1) (local.get $n)) (local.get $k)) (i32.const 3))))
            (f64.store (local.get $col) (local.get $alpha))
            (local.set $i (i32.add (local.get $k) (i32.const 2)))
            (block $e6 (loop $l6
              (br_if $e6 (i32.ge_s (local.get $i) (local.get $n)))
              (local.set $col (i32.add (local.get $col) (local.get $row)))
              (f64.store (local.get $col) (f64.const 0))
              (local.set $i (i32.add (local.get $i) (i32.const 1)))
              (br $l6)))
            (f64.store (i32.add (local.get $B) (i32.shl (local.get $k) (i32.const 3))) (local.get $beta))
            (i32.store (i32.add (local.get $K) (i32.shl (local.get $nk) (i32.const 2))) (local.get $k))
            (local.set $nk (i32.add (local.get $nk) (i32.const 1)))))
        (local.set $k (local.get $k1))
        (br $lk)))
    (local.get $nk))

  ;; |e_i| ≤ 2⁻⁵²·(|d_i| + |d_i+1|): the deflation test of §9.2 for the coupling e_i (byte offsets).
  (func $small (param $d i32) (param $e i32) (param $i i32) (result i32)
    (f64.le (f64.abs (f64.load (i32.add (local.get $e) (i32.shl (local.get $i) (i32.const 3)))))
            (f64.mul (f64.const 0x1p-52)
                     (f64.add (f64.abs (f64.load (i32.add (local.get $d) (i32.shl (local.get $i) (i32.const 3)))))
                              (f64.abs (f64.load offset=8 (i32.add (local.get $d) (i32.shl (local.get $i) (i32.const 3)))))))))

  ;; The implicit QR iteration of §9.2 on the tridiagonal (d, e) (linalg.ts's loop): deflate from
  ;; the bottom, find the unreduced block l … m, one $qrsweep on it; the sweeps (l, m − l) are
  ;; recorded at S and their rotations at CS, and applied to Q ($rotapply) whenever the next sweep
  ;; would exceed cap rotations, and at the end. Returns the sweeps taken, or −1 past 60·n.
  (func (export "qrdrive") (param $d i32) (param $e i32) (param $n i32) (param $Q i32) (param $np i32)
                           (param $S i32) (param $CS i32) (param $cap i32) (result i32)
    (local $m i32) (local $l i32) (local $it i32) (local $sweeps i32) (local $used i32)
    (local.set $m (i32.sub (local.get $n) (i32.const 1)))
    (block $done
      (loop $lm
        (br_if $done (i32.le_s (local.get $m) (i32.const 0)))
        (if (call $small (local.get $d) (local.get $e) (i32.sub (local.get $m) (i32.const 1)))
          (then
            (f64.store (i32.add (local.get $e) (i32.shl (i32.sub (local.get $m) (i32.const 1)) (i32.const 3))) (f64.const 0))
            (local.set $m (i32.sub (local.get $m) (i32.const 1)))
            (br $lm)))
        (local.set $l (i32.sub (local.get $m) (i32.const 1)))
        (block $found (loop $ll
          (br_if $found (i32.le_s (local.get $l) (i32.const 0)))
          (br_if $found (call $small (local.get $d) (local.get $e) (i32.sub (local.get $l) (i32.const 1))))
          (local.set $l (i32.sub (local.get $l) (i32.const 1)))
          (br $ll)))
        (if (i32.gt_s (local.get $l) (i32.const 0))
          (then (f64.store (i32.add (local.get $e) (i32.shl (i32.sub (local.get $l) (i32.const 1)) (i32.const 3))) (f64.const 0))))
        (local.set $it (i32.add (local.get $it) (i32.const 1)))
        (if (i32.gt_s (local.get $it) (i32.mul (local.get $n) (i32.const 60))) (then (return (i32.const -1))))
        (if (i32.gt_s (i32.add (local.get $used) (i32.sub (local.get $m) (local.get $l))) (local.get $cap))
          (then
            (if (i32.gt_s (local.get $sweeps) (i32.const 0))
              (then (call $rotapply (local.get $Q) (local.get $n) (local.get $np) (local.get $S) (local.get $sweeps) (local.get $CS))))
            (local.set $sweeps (i32.const 0))
            (local.set $used (i32.const 0))))
        (i32.store (i32.add (local.get $S) (i32.shl (local.get $sweeps) (i32.const 3))) (local.get $l))
        (i32.store offset=4 (i32.add (local.get $S) (i32.shl (local.get $sweeps) (i32.const 3))) (i32.sub (local.get $m) (local.get $l)))
        (local.set $sweeps (i32.add (local.get $sweeps) (i32.const 1)))
        (call $qrsweep (local.get $d) (local.get $e) (local.get $l) (local.get $m)
                       (i32.add (local.get $CS) (i32.shl (local.get $used) (i32.const 4))))
        (local.set $used (i32.add (local.get $used) (i32.sub (local.get $m) (local.get $l))))
        (br $lm)))
    (if (i32.gt_s (local.get $sweeps) (i32.const 0))
      (then (call $rotapply (local.get $Q) (local.get $n) (local.get $np) (local.get $S) (local.get $sweeps) (local.get $CS))))
    (local.get $it))

  ;; —— the factored spectral set-up's products (EMULATOR.md §9.2; spectral.ts) ——
  ;; L (r×p) is held by columns: column c's b entries (rows lo_c … lo_c+b−1) at Lc + 8·c·b, lo_c
  ;; the i32 at lo + 4c.

  ;; M = K·L (r×p, row-major at M): M_ac = Σ_i ascending K_a,lo_c+i·L_c,i from +0 (K r×r);
  ;; then T = Lᵀ·M (p×p at T): T_cd = Σ_i ascending L_c,i·M_lo_c+i,d from +0 for d ≥ c, two d per
  ;; vector (independent sums), accumulated in row c of T and mirrored to column c.
  (func (export "ktl") (param $K i32) (param $r i32) (param $Lc i32) (param $lo i32) (param $b i32) (param $p i32)
                       (param $M i32) (param $T i32)
    (local $a i32) (local $c i32) (local $i i32) (local $d i32) (local $len i32) (local $k0 i32) (local $l0 i32)
    (local $mp i32) (local $tr i32) (local $mr i32) (local $prow i32) (local $acc f64) (local $lac v128)
    (local.set $prow (i32.shl (local.get $p) (i32.const 3)))
    (local.set $mp (local.get $M))
    (block $ea (loop $la
      (br_if $ea (i32.ge_s (local.get $a) (local.get $r)))
      (local.set $c (i32.const 0))
      (block $ec (loop $lc
        (br_if $ec (i32.ge_s (local.get $c) (local.get $p)))
        (local.set $k0 (i32.add (local.get $K) (i32.shl (i32.add (i32.mul (local.get $a) (local.get $r))
                                                                  (i32.load (i32.add (local.get $lo) (i32.shl (local.get $c) (i32.const 2))))) (i32.const 3))))
        (local.set $l0 (i32.add (local.get $Lc) (i32.shl (i32.mul (local.get $c) (local.get $b)) (i32.const 3))))
        (local.set $acc (f64.const 0))
        (local.set $i (i32.const 0))
        (block $ei (loop $li
          (br_if $ei (i32.ge_s (local.get $i) (local.get $b)))
          (local.set $acc (f64.add (local.get $acc)
            (f64.mul (f64.load (i32.add (local.get $k0) (i32.shl (local.get $i) (i32.const 3))))
                     (f64.load (i32.add (local.get $l0) (i32.shl (local.get $i) (i32.const 3)))))))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br $li)))
        (f64.store (local.get $mp) (local.get $acc))
        (local.set $mp (i32.add (local.get $mp) (i32.const 8)))
        (local.set $c (i32.add (local.get $c) (i32.const 1)))
        (br $lc)))
      (local.set $a (i32.add (local.get $a) (i32.const 1)))
      (br $la)))
    (local.set $c (i32.const 0))
    (block $et (loop $lt
      (br_if $et (i32.ge_s (local.get $c) (local.get $p)))
      (local.set $len (i32.sub (local.get $p) (local.get $c)))
      (local.set $tr (i32.add (local.get $T) (i32.shl (i32.add (i32.mul (local.get $c) (local.get $p)) (local.get $c)) (i32.const 3))))
      (local.set $d (i32.const 0))
      (block $ez (loop $lz
        (br_if $ez (i32.ge_s (local.get $d) (local.get $len)))
        (f64.store (i32.add (local.get $tr) (i32.shl (local.get $d) (i32.const 3))) (f64.const 0))
        (local.set $d (i32.add (local.get $d) (i32.const 1)))
        (br $lz)))
      (local.set $l0 (i32.add (local.get $Lc) (i32.shl (i32.mul (local.get $c) (local.get $b)) (i32.const 3))))
      (local.set $mr (i32.add (local.get $M) (i32.shl (i32.add (i32.mul (i32.load (i32.add (local.get $lo) (i32.shl (local.get $c) (i32.const 2)))) (local.get $p))
                                                               (local.get $c)) (i32.const 3))))
      (local.set $i (i32.const 0))
      (block $ei2 (loop $li2
        (br_if $ei2 (i32.ge_s (local.get $i) (local.get $b)))
        (local.set $lac (v128.load64_splat (i32.add (local.get $l0) (i32.shl (local.get $i) (i32.const 3)))))
        (local.set $d (i32.const 0))
        (block $ed (loop $ld
          (br_if $ed (i32.gt_s (i32.add (local.get $d) (i32.const 2)) (local.get $len)))
          (v128.store (i32.add (local.get $tr) (i32.shl (local.get $d) (i32.const 3)))
            (f64x2.add (v128.load (i32.add (local.get $tr) (i32.shl (local.get $d) (i32.const 3))))
                       (f64x2.mul (local.get $lac) (v128.load (i32.add (local.get $mr) (i32.shl (local.get $d) (i32.const 3)))))))
          (local.set $d (i32.add (local.get $d) (i32.const 2)))
          (br $ld)))
        (if (i32.lt_s (local.get $d) (local.get $len))
          (then
            (f64.store (i32.add (local.get $tr) (i32.shl (local.get $d) (i32.const 3)))
              (f64.add (f64.load (i32.add (local.get $tr) (i32.shl (local.get $d) (i32.const 3))))
                       (f64.mul (f64x2.extract_lane 0 (local.get $lac)) (f64.load (i32.add (local.get $mr) (i32.shl (local.get $d) (i32.const 3)))))))))
        (local.set $mr (i32.add (local.get $mr) (local.get $prow)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $li2)))
      ;; mirror: T_dc = T_cd (d > c)
      (local.set $d (i32.const 1))
      (local.set $mr (i32.add (local.get $tr) (local.get $prow)))
      (block $em (loop $lm
        (br_if $em (i32.ge_s (local.get $d) (local.get $len)))
        (f64.store (local.get $mr) (f64.load (i32.add (local.get $tr) (i32.shl (local.get $d) (i32.const 3)))))
        (local.set $mr (i32.add (local.get $mr) (local.get $prow)))
        (local.set $d (i32.add (local.get $d) (i32.const 1)))
        (br $lm)))
      (local.set $c (i32.add (local.get $c) (i32.const 1)))
      (br $lt))))

  ;; R = L·W_keep·diag(inv) (r×q at R): Wk (p×q at Wk) = the columns keep_j (i32 at keep + 4j) of
  ;; W (p×p); R_aj = (Σ_c ascending over the columns whose block holds row a L_ac·Wk_cj, from +0)
  ;; · inv_j; two j per vector (independent sums).
  (func (export "rlw") (param $Lc i32) (param $lo i32) (param $b i32) (param $p i32) (param $r i32) (param $W i32)
                       (param $keep i32) (param $q i32) (param $inv i32) (param $Wk i32) (param $R i32)
    (local $a i32) (local $c i32) (local $j i32) (local $c0 i32) (local $c1 i32) (local $wr i32) (local $rr i32)
    (local $lac v128) (local $qrow i32)
    (local.set $qrow (i32.shl (local.get $q) (i32.const 3)))
    (local.set $wr (local.get $Wk))
    (block $ec (loop $lc
      (br_if $ec (i32.ge_s (local.get $c) (local.get $p)))
      (local.set $j (i32.const 0))
      (block $ej (loop $lj
        (br_if $ej (i32.ge_s (local.get $j) (local.get $q)))
        (f64.store (i32.add (local.get $wr) (i32.shl (local.get $j) (i32.const 3)))
          (f64.load (i32.add (local.get $W) (i32.shl (i32.add (i32.mul (local.get $c) (local.get $p))
                                                             (i32.load (i32.add (local.get $keep) (i32.shl (local.get $j) (i32.const 2))))) (i32.const 3)))))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br $lj)))
      (local.set $wr (i32.add (local.get $wr) (local.get $qrow)))
      (local.set $c (i32.add (local.get $c) (i32.const 1)))
      (br $lc)))
    (local.set $rr (local.get $R))
    (block $ea (loop $la
      (br_if $ea (i32.ge_s (local.get $a) (local.get $r)))
      ;; columns are in block order: those of row a's block are c0 … c1−1
      (block $e0 (loop $l0
        (br_if $e0 (i32.ge_s (local.get $c0) (local.get $p)))
        (br_if $e0 (i32.gt_s (i32.add (i32.load (i32.add (local.get $lo) (i32.shl (local.get $c0) (i32.const 2)))) (local.get $b)) (local.get $a)))
        (local.set $c0 (i32.add (local.get $c0) (i32.const 1)))
        (br $l0)))
      (local.set $c1 (local.get $c0))
      (block $e1 (loop $l1
        (br_if $e1 (i32.ge_s (local.get $c1) (local.get $p)))
        (br_if $e1 (i32.gt_s (i32.load (i32.add (local.get $lo) (i32.shl (local.get $c1) (i32.const 2)))) (local.get $a)))
        (local.set $c1 (i32.add (local.get $c1) (i32.const 1)))
        (br $l1)))
      (local.set $j (i32.const 0))
      (block $ez (loop $lz
        (br_if $ez (i32.ge_s (local.get $j) (local.get $q)))
        (f64.store (i32.add (local.get $rr) (i32.shl (local.get $j) (i32.const 3))) (f64.const 0))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br $lz)))
      (local.set $c (local.get $c0))
      (block $ecc (loop $lcc
        (br_if $ecc (i32.ge_s (local.get $c) (local.get $c1)))
        (local.set $lac (v128.load64_splat (i32.add (local.get $Lc) (i32.shl (i32.sub (i32.add (i32.mul (local.get $c) (local.get $b)) (local.get $a))
                                                                                      (i32.load (i32.add (local.get $lo) (i32.shl (local.get $c) (i32.const 2))))) (i32.const 3)))))
        (local.set $wr (i32.add (local.get $Wk) (i32.mul (local.get $c) (local.get $qrow))))
        (local.set $j (i32.const 0))
        (block $ej2 (loop $lj2
          (br_if $ej2 (i32.gt_s (i32.add (local.get $j) (i32.const 2)) (local.get $q)))
          (v128.store (i32.add (local.get $rr) (i32.shl (local.get $j) (i32.const 3)))
            (f64x2.add (v128.load (i32.add (local.get $rr) (i32.shl (local.get $j) (i32.const 3))))
                       (f64x2.mul (local.get $lac) (v128.load (i32.add (local.get $wr) (i32.shl (local.get $j) (i32.const 3)))))))
          (local.set $j (i32.add (local.get $j) (i32.const 2)))
          (br $lj2)))
        (if (i32.lt_s (local.get $j) (local.get $q))
          (then
            (f64.store (i32.add (local.get $rr) (i32.shl (local.get $j) (i32.const 3)))
              (f64.add (f64.load (i32.add (local.get $rr) (i32.shl (local.get $j) (i32.const 3))))
                       (f64.mul (f64x2.extract_lane 0 (local.get $lac)) (f64.load (i32.add (local.get $wr) (i32.shl (local.get $j) (i32.const 3)))))))))
        (local.set $c (i32.add (local.get $c) (i32.const 1)))
        (br $lcc)))
      (local.set $j (i32.const 0))
      (block $es (loop $ls
        (br_if $es (i32.ge_s (local.get $j) (local.get $q)))
        (f64.store (i32.add (local.get $rr) (i32.shl (local.get $j) (i32.const 3)))
          (f64.mul (f64.load (i32.add (local.get $rr) (i32.shl (local.get $j) (i32.const 3))))
                   (f64.load (i32.add (local.get $inv) (i32.shl (local.get $j) (i32.const 3))))))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br $ls)))
      (local.set $rr (i32.add (local.get $rr) (local.get $qrow)))
      (local.set $a (i32.add (local.get $a) (i32.const 1)))
      (br $la))))

  ;; —— Gaussians: Philox-4x32-10 and the AS 241 quantile (EMULATOR.md §3–§4; philox.ts, detmath.ts) ——
  ;; The four words of philox4x32 at counter (c0, c1, c2, c3) under key (k0, k1), into the globals.
  (global $w0 (mut i32) (i32.const 0)) (global $w1 (mut i32) (i32.const 0))
  (global $w2 (mut i32) (i32.const 0)) (global $w3 (mut i32) (i32.const 0))
  (func $philox (param $c0 i32) (param $c1 i32) (param $c2 i32) (param $c3 i32) (param $k0 i32) (param $k1 i32)
    (local $round i32) (local $p0 i64) (local $p1 i64)
    (loop $l
      (local.set $p0 (i64.mul (i64.const 0xd2511f53) (i64.extend_i32_u (local.get $c0))))
      (local.set $p1 (i64.mul (i64.const 0xcd9e8d57) (i64.extend_i32_u (local.get $c2))))
      (local.set $c0 (i32.xor (i32.xor (i32.wrap_i64 (i64.shr_u (local.get $p1) (i64.const 32))) (local.get $c1)) (local.get $k0)))
      (local.set $c1 (i32.wrap_i64 (local.get $p1)))
      (local.set $c2 (i32.xor (i32.xor (i32.wrap_i64 (i64.shr_u (local.get $p0) (i64.const 32))) (local.get $c3)) (local.get $k1)))
      (local.set $c3 (i32.wrap_i64 (local.get $p0)))
      (local.set $k0 (i32.add (local.get $k0) (i32.const 0x9e3779b9)))
      (local.set $k1 (i32.add (local.get $k1) (i32.const 0xbb67ae85)))
      (local.set $round (i32.add (local.get $round) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $round) (i32.const 10))))
    (global.set $w0 (local.get $c0)) (global.set $w1 (local.get $c1))
    (global.set $w2 (local.get $c2)) (global.set $w3 (local.get $c3)))

  ;; logWordUniform(w) = logDet((w + ½)·2^−32) from the word's exponent (detmath.ts), and the AS 241
  ;; quantile normInvWord(w): central region |q| ≤ 0.425, tails r = √(−log p) ≤ 5 and > 5.
  (func $normInvWord (param $w i32) (result f64)
    (local $u f64) (local $q f64) (local $r f64) (local $ws i32) (local $e i32) (local $m f64) (local $ee i32)
    (local $f f64) (local $s f64) (local $s2 f64) (local $twoS f64) (local $lg f64) (local $v f64)
    (local.set $u (f64.mul (f64.add (f64.convert_i32_u (local.get $w)) (f64.const 0.5)) (f64.const 0x1.0000000000000p-32)))
    (local.set $q (f64.sub (local.get $u) (f64.const 0.5)))
    (if (i32.and (f64.ge (local.get $q) (f64.const -0x1.b333333333333p-2)) (f64.le (local.get $q) (f64.const 0x1.b333333333333p-2)))
      (then
        (local.set $r (f64.sub (f64.const 0x1.71eb851eb851fp-3) (f64.mul (local.get $q) (local.get $q))))
        (return (f64.div (f64.mul (local.get $q) (f64.add (f64.mul (f64.add (f64.mul (f64.add (f64.mul (f64.add (f64.mul (f64.add (f64.mul (f64.add (f64.mul (f64.add (f64.mul (f64.const 0x1.39a296f7d925ep11) (local.get $r)) (f64.const 0x1.052d26b2e45e4p15)) (local.get $r)) (f64.const 0x1.06c1c55b78f20p16)) (local.get $r)) (f64.const 0x1.66c3e869b752ap15)) (local.get $r)) (f64.const 0x1.ad1d8cd4ee71dp13)) (local.get $r)) (f64.const 0x1.ece5d2213c0ccp10)) (local.get $r)) (f64.const 0x1.0a4888b1a436ep7)) (local.get $r)) (f64.const 0x1.b18d91e9eef75p1))) (f64.add (f64.mul (f64.add (f64.mul (f64.add (f64.mul (f64.add (f64.mul (f64.add (f64.mul (f64.add (f64.mul (f64.add (f64.mul (f64.const 0x1.46a7eca984b69p12) (local.get $r)) (f64.const 0x1.c0e457cb1ae76p14)) (local.get $r)) (f64.const 0x1.3317caa64f4bep15)) (local.get $r)) (f64.const 0x1.4b772d5d65266p14)) (local.get $r)) (f64.const 0x1.512322e75c89fp12)) (local.get $r)) (f64.const 0x1.5797efdc8b3f7p9)) (local.get $r)) (f64.const 0x1.5281b386e1ab5p5)) (local.get $r)) (f64.const 0x1.0000000000000p0))))))
    (local.set $ws (if (result i32) (f64.lt (local.get $q) (f64.const 0)) (then (local.get $w)) (else (i32.sub (i32.const -1) (local.get $w)))))
    (local.set $e (if (result i32) (i32.eqz (local.get $ws)) (then (i32.const -1)) (else (i32.sub (i32.const 31) (i32.clz (local.get $ws))))))
    ;; m = (w* + ½)·2^−e, exact, in [1, 2)
    (local.set $m (f64.mul (f64.add (f64.convert_i32_u (local.get $ws)) (f64.const 0.5))
      (f64.reinterpret_i64 (i64.shl (i64.extend_i32_u (i32.sub (i32.const 1023) (local.get $e))) (i64.const 52)))))
    (local.set $ee (i32.sub (local.get $e) (i32.const 32)))
    (if (f64.gt (local.get $m) (f64.const 0x1.6a09e667f3bcdp0))
      (then (local.set $m (f64.mul (local.get $m) (f64.const 0.5))) (local.set $ee (i32.add (local.get $ee) (i32.const 1)))))
    (local.set $f (f64.sub (local.get $m) (f64.const 1)))
    (local.set $s (f64.div (local.get $f) (f64.add (f64.const 2) (local.get $f))))
    (local.set $s2 (f64.mul (local.get $s) (local.get $s)))
    (local.set $twoS (f64.mul (local.get $s) (f64.const 2)))
    (local.set $lg (f64.add (f64.mul (f64.convert_i32_s (local.get $ee)) (f64.const 0x1.62e42fee00000p-1))
      (f64.add (f64.mul (f64.convert_i32_s (local.get $ee)) (f64.const 0x1.a39ef35793c76p-33))
        (f64.add (local.get $twoS) (f64.mul (local.get $twoS) (f64.mul (local.get $s2) (f64.add (f64.mul (f64.add (f64.mul (f64.add (f64.mul (f64.add (f64.mul (f64.add (f64.mul (f64.add (f64.mul (f64.add (f64.mul (f64.add (f64.mul (f64.add (f64.mul (f64.add (f64.mul (f64.const 0x1.642c8590b2164p-5) (local.get $s2)) (f64.const 0x1.8618618618618p-5)) (local.get $s2)) (f64.const 0x1.af286bca1af28p-5)) (local.get $s2)) (f64.const 0x1.e1e1e1e1e1e1ep-5)) (local.get $s2)) (f64.const 0x1.1111111111111p-4)) (local.get $s2)) (f64.const 0x1.3b13b13b13b14p-4)) (local.get $s2)) (f64.const 0x1.745d1745d1746p-4)) (local.get $s2)) (f64.const 0x1.c71c71c71c71cp-4)) (local.get $s2)) (f64.const 0x1.2492492492492p-3)) (local.get $s2)) (f64.const 0x1.999999999999ap-3)) (local.get $s2)) (f64.const 0x1.5555555555555p-2))))))))
    (local.set $r (f64.sqrt (f64.neg (local.get $lg))))
    (if (f64.le (local.get $r) (f64.const 5))
      (then
        (local.set $r (f64.sub (local.get $r) (f64.const 0x1.999999999999ap0)))
        (local.set $v (f64.div (f64.add (f64.mul (f64.add (f64.mul (f64.add (f64.mul (f64.add (f64.mul (f64.add (f64.mul (f64.add (f64.mul (f64.add (f64.mul (f64.const 0x1.9615ac0b7ace9p-11) (local.get $r)) (f64.const 0x1.744eb6c45ec67p-6)) (local.get $r)) (f64.const 0x1.ef2abb9b85c37p-3)) (local.get $r)) (f64.const 0x1.453cc085375b2p0)) (local.get $r)) (f64.const 0x1.d2ecb1a3d02c4p1)) (local.get $r)) (f64.const 0x1.713f71462256ap2)) (local.get $r)) (f64.const 0x1.2857748cab19bp2)) (local.get $r)) (f64.const 0x1.6c665fde9526ap0)) (f64.add (f64.mul (f64.add (f64.mul (f64.add (f64.mul (f64.add (f64.mul (f64.add (f64.mul (f64.add (f64.mul (f64.add (f64.mul (f64.const 0x1.20d3f686439e4p-30) (local.get $r)) (f64.const 0x1.1f18cbfdf2728p-11)) (local.get $r)) (f64.const 0x1.f207a7eab17bfp-7)) (local.get $r)) (f64.const 0x1.2f5123394f040p-3)) (local.get $r)) (f64.const 0x1.61292f23385c9p-1)) (local.get $r)) (f64.const 0x1.ad278e6526633p0)) (local.get $r)) (f64.const 0x1.06cefbb46a449p1)) (local.get $r)) (f64.const 0x1.0000000000000p0)))))
      (else
        (local.set $r (f64.sub (local.get $r) (f64.const 5)))
        (local.set $v (f64.div (f64.add (f64.mul (f64.add (f64.mul (f64.add (f64.mul (f64.add (f64.mul (f64.add (f64.mul (f64.add (f64.mul (f64.add (f64.mul (f64.const 0x1.afb74d693bf93p-23) (local.get $r)) (f64.const 0x1.c6ec6cc59e02ap-16)) (local.get $r)) (f64.const 0x1.45c1908425345p-10)) (local.get $r)) (f64.const 0x1.b2b41193b4ee7p-6)) (local.get $r)) (f64.const 0x1.2fad9315255cfp-2)) (local.get $r)) (f64.const 0x1.c8ea6461fa445p0)) (local.get $r)) (f64.const 0x1.5daea6e875003p2)) (local.get $r)) (f64.const 0x1.aa1b1c13ee526p2)) (f64.add (f64.mul (f64.add (f64.mul (f64.add (f64.mul (f64.add (f64.mul (f64.add (f64.mul (f64.add (f64.mul (f64.add (f64.mul (f64.const 0x1.269bff1f8c190p-49) (local.get $r)) (f64.const 0x1.31446f740b9e0p-23)) (local.get $r)) (f64.const 0x1.35c2c496374bfp-16)) (local.get $r)) (f64.const 0x1.9c8bc979dc5d7p-11)) (local.get $r)) (f64.const 0x1.e76f93215462ap-7)) (local.get $r)) (f64.const 0x1.186eb183443fbp-3)) (local.get $r)) (f64.const 0x1.331d34fc7d77fp-1)) (local.get $r)) (f64.const 0x1.0000000000000p0))))))
    (if (result f64) (f64.lt (local.get $q) (f64.const 0)) (then (f64.neg (local.get $v))) (else (local.get $v))))

  ;; out[0 … n) = Gaussians first … first+n−1 of the stream (key, c1, c2, c3), first a multiple of 4:
  ;; Gaussian i = normInvWord(word i mod 4 of the Philox block at counter (floor(i/4), c1, c2, c3)).
  (func (export "gauss") (param $out i32) (param $n i32) (param $k0 i32) (param $k1 i32)
                         (param $c1 i32) (param $c2 i32) (param $c3 i32) (param $first i32)
    (local $p i32) (local $i i32) (local $base i32)
    (local.set $base (i32.shr_u (local.get $first) (i32.const 2)))
    (block $e
      (loop $l
        (br_if $e (i32.ge_u (local.get $i) (local.get $n)))
        (call $philox (i32.add (local.get $base) (local.get $p)) (local.get $c1) (local.get $c2) (local.get $c3) (local.get $k0) (local.get $k1))
        (f64.store (local.get $out) (call $normInvWord (global.get $w0)))
        (if (i32.lt_u (i32.add (local.get $i) (i32.const 1)) (local.get $n))
          (then (f64.store offset=8 (local.get $out) (call $normInvWord (global.get $w1)))))
        (if (i32.lt_u (i32.add (local.get $i) (i32.const 2)) (local.get $n))
          (then (f64.store offset=16 (local.get $out) (call $normInvWord (global.get $w2)))))
        (if (i32.lt_u (i32.add (local.get $i) (i32.const 3)) (local.get $n))
          (then (f64.store offset=24 (local.get $out) (call $normInvWord (global.get $w3)))))
        (local.set $out (i32.add (local.get $out) (i32.const 32)))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (br $l))))
)
