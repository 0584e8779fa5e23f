import assert from "node:assert/strict";
import { setupBackend } from "../backend/setup_backend.ts";
import { gradProm } from "../strategies/grad_prom.ts";
import { ipOnly } from "../strategies/ip_only.ts";
import { joint } from "../strategies/joint.ts";
import { simulate } from "../toy/simulate.ts";
import { twoParamProblem } from "../toy/two_param_problem.ts";
import { toyContourFigure, toyGateFigure, toyLossFigure, toyTableMarkdown } from "./toy_figures.ts";

await setupBackend({ quiet: true });
const problem = twoParamProblem();
const runs = {
  "IP only": simulate(ipOnly, { steps: 30 }),
  "Joint": simulate(joint, { steps: 30 }),
  "GradProm (gate)": simulate(gradProm(), { steps: 30 }),
};

Deno.test("toyContourFigure() has both loss contours, the cos = 0 line and every trajectory", () => {
  const fig = toyContourFigure(problem, runs, { grid: 11 });
  const contours = fig.data.filter((t) => t.type === "contour");
  assert.equal(contours.length, 3);
  for (const c of contours) {
    const z = c.z as number[][];
    assert.equal(z.length, 11);
    assert.equal(z[0].length, 11);
    assert.ok(z.flat().every(Number.isFinite));
  }
  assert.equal((contours[1].line as { dash: string }).dash, "dash");
  for (const [name, r] of Object.entries(runs)) {
    const line = fig.data.find((t) => t.name === name)!;
    assert.equal((line.x as number[]).length, r.theta.length);
    const ends = fig.data.find((t) => t.name === `${name}: start / end`)!;
    assert.deepEqual(ends.x, [r.theta[0][0], r.theta[30][0]]);
  }
  // Every trajectory point lies inside the plotted range.
  const [x0, x1] = (fig.layout.xaxis as { range: number[] }).range;
  assert.ok(Object.values(runs).every((r) => r.theta.every((p) => p[0] >= x0 && p[0] <= x1)));
  assert.throws(() => toyContourFigure(problem, runs, { grid: 1 }), /grid .* but found 1/);
});

Deno.test("toyGateFigure() shows the cosine per run and the weight only where it varies", () => {
  const fig = toyGateFigure(runs);
  const names = fig.data.map((t) => t.name);
  assert.deepEqual(names, [
    "cos, IP only",
    "cos, Joint",
    "cos, GradProm (gate)",
    "weight on G_VR, GradProm (gate)",
  ]);
  assert.equal((fig.data[3].y as number[]).length, 30);
});

Deno.test("toyLossFigure() plots L_IP per point on a log axis", () => {
  const fig = toyLossFigure(runs);
  assert.equal(fig.data.length, 3);
  assert.equal((fig.data[0].y as number[]).length, 31);
  assert.equal((fig.layout.yaxis as { type: string }).type, "log");
});

Deno.test("toyTableMarkdown() rows: final losses, gate share, uphill steps, descent ratio", () => {
  const md = toyTableMarkdown(runs).split("\n");
  assert.equal(md.length, 5);
  const cells = (row: string) => row.split("|").slice(1, -1).map((c) => c.trim());
  const ip = cells(md[2]);
  assert.equal(ip[0], "IP only");
  assert.equal(Number(ip[1]), Number(runs["IP only"].lIp[30].toFixed(4)));
  assert.equal(ip[3], "0%");
  assert.equal(ip[4], "0");
  assert.ok(Math.abs(Number(ip[5]) - 1) < 1e-4);
  assert.equal(cells(md[3])[3], "100%");
});
