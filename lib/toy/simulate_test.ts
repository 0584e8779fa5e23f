import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { setupBackend } from "../backend/setup_backend.ts";
import { gradProm } from "../strategies/grad_prom.ts";
import { ipOnly } from "../strategies/ip_only.ts";
import { joint } from "../strategies/joint.ts";
import { simulate } from "./simulate.ts";
import { twoParamProblem } from "./two_param_problem.ts";

await setupBackend({ quiet: true });
const p = twoParamProblem();
const dist = (a: number[], b: number[]) => Math.hypot(a[0] - b[0], a[1] - b[1]);
const last = <T>(xs: T[]) => xs[xs.length - 1];

Deno.test("simulate() IP-only converges to θ*", () => {
  const r = simulate(ipOnly, { steps: 800 });
  assert.equal(r.theta.length, 801);
  assert.equal(r.cosine.length, 800);
  assert.ok(dist(last(r.theta), p.thetaStar) < 1e-3, `${last(r.theta)}`);
  assert.ok(r.auxWeight.every((w) => w === 0));
});

Deno.test("simulate() the path has agreeing and conflicting parts", () => {
  for (const s of [ipOnly, gradProm()]) {
    const r = simulate(s);
    const agree = r.cosine.filter((c) => c >= 0).length;
    assert.ok(agree >= 10 && agree <= 290, `${agree} agreeing steps`);
  }
});

Deno.test("simulate() Joint ends at the compromise, with higher L_IP than GradProm", () => {
  const j = simulate(joint, { steps: 400 });
  assert.ok(dist(last(j.theta), p.jointMinimum(1)) < 1e-3);
  for (const mode of ["gate", "weighted"] as const) {
    const g = simulate(gradProm({ mode }), { steps: 400 });
    assert.ok(last(j.lIp) > 0.4 && last(g.lIp) < 1e-3, `${last(j.lIp)} vs ${last(g.lIp)}`);
    assert.ok(last(j.lVr) < last(g.lVr));
  }
});

Deno.test("simulate() GradProm with SGD keeps Lemma 3.1's guarantee at every step", () => {
  const lr = 0.02;
  for (const mode of ["gate", "weighted"] as const) {
    const r = simulate(gradProm({ mode }), { lr });
    const ip = ipOnly;
    for (let t = 0; t < r.cosine.length; t++) {
      const g = p.gradIp(r.theta[t]), a = p.gradVr(r.theta[t]);
      const tol = 1e-5 * Math.hypot(...g) * (Math.hypot(...g) + Math.hypot(...a));
      // ⟨update, G_IP⟩ ≥ |G_IP|²: never less IP descent (to first order) than IP-only.
      assert.ok(r.ipDescent[t] >= lr * (r.ipGradSq[t] - tol), `${mode} step ${t}`);
      if (r.auxWeight[t] === 0) {
        // Gate shut: the step is exactly IP-only's step from the same θ.
        const one = simulate(ip, { lr, steps: 1, start: r.theta[t] });
        assert.ok(dist(one.theta[1], r.theta[t + 1]) < 1e-9);
        assert.ok(r.lIp[t + 1] <= r.lIp[t]);
      }
    }
    assert.ok(r.auxWeight.some((w) => w > 0) && r.auxWeight.some((w) => w === 0));
  }
  // With this small lr, GradProm's L_IP never rises on this problem.
  const r = simulate(gradProm(), { lr });
  assert.ok(r.lIp.every((l, i) => i === 0 || l <= r.lIp[i - 1] + 1e-12));
});

Deno.test("simulate() with Adam, steps can go uphill for L_IP (the Lemma is for plain steps)", () => {
  const r = simulate(gradProm(), { optimizer: "adam", lr: 0.05 });
  assert.ok(r.ipDescent.some((d) => d < 0));
  assert.ok(r.lIp.some((l, i) => i > 0 && l > r.lIp[i - 1]));
  assert.ok(last(r.lIp) < 0.1);
});

Deno.test("simulate() leaks no tensors", () => {
  const before = tf.memory().numTensors;
  simulate(gradProm({ mode: "weighted" }), { steps: 20, optimizer: "adam" });
  simulate(joint, { steps: 20 });
  assert.equal(tf.memory().numTensors, before);
});

Deno.test("simulate() rejects bad options", () => {
  assert.throws(() => simulate(joint, { steps: 0 }), /steps to be a positive integer but found 0/);
  assert.throws(() => simulate(joint, { lr: -1 }), /lr to be a positive number but found -1/);
  assert.throws(() => simulate(joint, { lambda: -1 }), /non-negative number but found -1/);
  assert.throws(
    // deno-lint-ignore no-explicit-any
    () => simulate(joint, { optimizer: "rmsprop" as any }),
    /"sgd" or "adam" but found "rmsprop"/,
  );
  // deno-lint-ignore no-explicit-any
  assert.throws(() => simulate(joint, { step: 3 } as any), /but found "step"/);
});
