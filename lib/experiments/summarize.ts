/**
 * Turns cached runs into the paper's table: mean ± std over seeds per method
 * and noise level, the paper's value beside ours, and whether each of the
 * paper's claims holds on our numbers.
 *
 * @module
 */
import { type Method, METHODS } from "./config.ts";
import {
  methodIds,
  PAPER_ROLES,
  REFERENCE_ROWS,
  type RowMethod,
  rowStyle,
  VR_ONLY_ROW,
} from "./methods.ts";
import type { ExperimentSpec } from "./registry.ts";
import { type RunResult, runWarnings } from "./run_experiment.ts";

/** Mean, standard deviation (n − 1; 0 for one seed) and count. */
export interface Stat {
  mean: number;
  std: number;
  n: number;
}

/** Human names of the methods, as the paper writes them (the labels of `METHOD_SPECS`). */
export const METHOD_LABELS: Record<RowMethod, string> = Object.fromEntries(
  [...METHODS, ...(Object.keys(REFERENCE_ROWS) as RowMethod[])].map((m) => [m, rowStyle(m).label]),
) as Record<RowMethod, string>;

/** One row of the table. */
export interface TableRow {
  method: RowMethod;
  label: string;
  /** The row group's label: `σ = 0.1` by default, else the spec's `groupOf` (e.g. `λ = 0.1`). */
  group: string;
  sigma: number;
  /** The recognition task of the runs (which score columns apply). */
  task: "diagnosis" | "segmentation" | "diagnosis+segmentation";
  seeds: number[];
  psnr?: Stat;
  ssim?: Stat;
  accuracy?: Stat;
  /** For Benchmark-ii: accuracy on the degraded (not enhanced) test images. */
  accuracyDegraded?: Stat;
  /** Segmentation: mean IoU of VR on IP's output (Benchmark-ii: on clean images). */
  miou?: Stat;
  /** Benchmark-ii, segmentation: mean IoU on the degraded test images. */
  miouDegraded?: Stat;
  psnrInput?: Stat;
  ssimInput?: Stat;
  /** Cross-domain: PSNR / SSIM of IP on another dataset's test split, and of its degraded input. */
  cross?: { dataset: string; psnr: Stat; ssim: Stat; psnrInput: Stat };
  paperPsnr?: number;
  paperSsim?: number;
  /**
   * Seeds whose IP ended below its own input (test PSNR lower than the degraded input's, see
   * `runWarnings`); absent when none did. The tables mark the row's PSNR with {@link BELOW_INPUT_MARK}.
   */
  belowInput?: number[];
}

/** The mark of a PSNR whose IP ended below its own input, and the table's footnote on it. */
export const BELOW_INPUT_MARK = "†";

/** The footnote under a table with a row marked {@link BELOW_INPUT_MARK}. */
export const BELOW_INPUT_NOTE = `${BELOW_INPUT_MARK} IP ends below its own input: its test ` +
  "PSNR is lower than the degraded input's (in every seed of the row, or in the seeds named " +
  "beside the mark).";

/** A claim checked on our numbers. */
export interface ClaimCheck {
  text: string;
  /** Our mean difference (better − worse). */
  delta: number;
  paperDelta?: number;
  /**
   * With two or more seeds: `holds` when the mean difference exceeds twice its
   * standard error, `does not hold` when it is below minus that, else
   * `inconclusive`. With one seed there is no error bar: the sign decides, and
   * the text says so. `not run` when a method is missing.
   */
  verdict: "holds" | "does not hold" | "inconclusive" | "not run";
  /** Standard error of `delta` (NaN with one seed). */
  stderr: number;
  seeds: number;
}

/** Mean and sample standard deviation. */
export function stat(values: number[]): Stat {
  const n = values.length;
  const mean = values.reduce((a, b) => a + b, 0) / n;
  const std = n > 1 ? Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1)) : 0;
  return { mean, std, n };
}

/**
 * Groups runs by noise level and method into table rows (Benchmark-ii from
 * the VR pre-training the runs share), in the spec's method order.
 */
export function summarize(spec: ExperimentSpec, runs: RunResult[]): TableRow[] {
  const rows: TableRow[] = [];
  const groupOf = spec.groupOf ?? ((c) => `σ = ${c.degradation.sigma}`);
  // Groups in grid order (the grid lists them in the order the table shows them).
  const groups = [...new Set(runs.map((r) => groupOf(r.config)))];
  const order: readonly Method[] = spec.methodOrder ?? methodIds();
  for (const group of groups) {
    const atSigma = runs.filter((r) => groupOf(r.config) === group);
    const sigma = atSigma[0].config.degradation.sigma;
    const task = atSigma[0].config.data.task;
    const pre = new Map(atSigma.map((r) => [r.config.seed, r.vrPretrain]));
    if (pre.size && !spec.hideBenchmarkIi) {
      rows.push({
        method: VR_ONLY_ROW,
        label: METHOD_LABELS[VR_ONLY_ROW],
        group,
        sigma,
        task,
        seeds: [...pre.keys()].sort(),
        accuracy: stat([...pre.values()].map((p) => p.accuracyClean)),
        accuracyDegraded: stat([...pre.values()].map((p) => p.accuracyDegraded)),
        ...([...pre.values()].every((p) => p.miouClean !== undefined)
          ? {
            miou: stat([...pre.values()].map((p) => p.miouClean!)),
            miouDegraded: stat([...pre.values()].map((p) => p.miouDegraded!)),
          }
          : {}),
      });
    }
    for (const method of order) {
      const rs = atSigma.filter((r) => r.config.method === method);
      if (!rs.length) continue;
      const paper = spec.paper.find((p) =>
        p.method === method && (p.group !== undefined ? p.group === group : p.sigma === sigma)
      );
      const cross = rs.every((r) => r.metrics.cross) ? rs.map((r) => r.metrics.cross!) : null;
      const below = rs.filter((r) => runWarnings(r.metrics).length).map((r) => r.config.seed)
        .sort((a, b) => a - b);
      rows.push({
        method,
        label: rowStyle(method).label,
        group,
        sigma,
        task,
        seeds: rs.map((r) => r.config.seed).sort((a, b) => a - b),
        psnr: stat(rs.map((r) => r.metrics.psnr)),
        ssim: stat(rs.map((r) => r.metrics.ssim)),
        accuracy: stat(rs.map((r) => r.metrics.accuracy)),
        ...(rs.every((r) => r.metrics.miou !== undefined)
          ? { miou: stat(rs.map((r) => r.metrics.miou!)) }
          : {}),
        psnrInput: stat(rs.map((r) => r.metrics.psnrInput)),
        ssimInput: stat(rs.map((r) => r.metrics.ssimInput)),
        ...(cross
          ? {
            cross: {
              dataset: cross[0].dataset,
              psnr: stat(cross.map((c) => c.psnr)),
              ssim: stat(cross.map((c) => c.ssim)),
              psnrInput: stat(cross.map((c) => c.psnrInput)),
            },
          }
          : {}),
        paperPsnr: paper?.psnr,
        paperSsim: paper?.ssim,
        ...(below.length ? { belowInput: below } : {}),
      });
    }
  }
  return rows;
}

/** Checks each of the spec's claims on the rows. */
export function checkClaims(spec: ExperimentSpec, rows: TableRow[]): ClaimCheck[] {
  return spec.claims.map((c) => {
    const find = (m: Method, group: string | undefined) =>
      rows.find((r) =>
        r.method === m && (group !== undefined ? r.group === group : r.sigma === c.sigma)
      );
    const a = find(c.better, c.group)?.[c.metric];
    const b = find(c.worse, c.worseGroup ?? c.group)?.[c.metric];
    if (!a || !b) {
      return {
        text: c.text,
        delta: NaN,
        stderr: NaN,
        paperDelta: c.paperDelta,
        verdict: "not run",
        seeds: 0,
      };
    }
    const delta = a.mean - b.mean;
    const seeds = Math.min(a.n, b.n);
    const stderr = seeds > 1 ? Math.sqrt(a.std ** 2 / a.n + b.std ** 2 / b.n) : NaN;
    const verdict = seeds > 1
      ? (delta > 2 * stderr ? "holds" : delta < -2 * stderr ? "does not hold" : "inconclusive")
      : (delta > 0 ? "holds" : "does not hold");
    return { text: c.text, delta, stderr, paperDelta: c.paperDelta, verdict, seeds };
  });
}

const fmtStat = (s: Stat | undefined, digits: number, scale = 1) =>
  s
    ? (s.n > 1
      ? `${(s.mean * scale).toFixed(digits)} ± ${(s.std * scale).toFixed(digits)}`
      : (s.mean * scale).toFixed(digits))
    : "";
const fmtNum = (
  v: number | undefined,
  digits: number,
) => (v === undefined ? "" : v.toFixed(digits));

/** Column headers of {@link tableCells} for a diagnosis table. */
export const TABLE_HEADERS = [
  "Setting",
  "Method",
  "PSNR (dB)",
  "Paper PSNR",
  "SSIM",
  "Paper SSIM",
  "Accuracy (%)",
  "Seed(s)",
];

const hasDiagnosis = (rows: TableRow[]) => rows.some((r) => r.task !== "segmentation");
const hasSegmentation = (rows: TableRow[]) => rows.some((r) => r.task !== "diagnosis");
const crossOf = (rows: TableRow[]) => rows.find((r) => r.cross)?.cross?.dataset;

/**
 * Column headers for these rows: accuracy for diagnosis, mIoU for
 * segmentation (both for `diagnosis+segmentation`), and the cross-domain
 * PSNR/SSIM when the runs were also evaluated on another dataset.
 */
export function tableHeaders(rows: TableRow[]): string[] {
  const cross = crossOf(rows);
  return [
    ...TABLE_HEADERS.slice(0, 6),
    ...(hasDiagnosis(rows) ? ["Accuracy (%)"] : []),
    ...(hasSegmentation(rows) ? ["mIoU (%)"] : []),
    ...(cross ? [`PSNR on ${cross} (dB)`, `SSIM on ${cross}`] : []),
    "Seed(s)",
  ];
}

/**
 * The mark after a PSNR whose IP ended below its own input: ` †`, or ` † (seed 1)` when only
 * some of the row's seeds did; "" for every other row.
 */
function belowInputMark(r: TableRow): string {
  if (!r.belowInput?.length) return "";
  const some = r.belowInput.length < r.seeds.length;
  return ` ${BELOW_INPUT_MARK}` +
    (some ? ` (seed${r.belowInput.length > 1 ? "s" : ""} ${r.belowInput.join(",")})` : "");
}

/** The rows as display strings (mean ± std over seeds). */
export function tableCells(rows: TableRow[]): string[][] {
  const pair = (clean?: Stat, degraded?: Stat) =>
    `${fmtStat(clean, 1, 100)} clean / ${fmtStat(degraded, 1, 100)} degraded`;
  return rows.map((r) => {
    const ii = r.method === VR_ONLY_ROW;
    return [
      r.group,
      r.label,
      fmtStat(r.psnr, 2) + belowInputMark(r),
      fmtNum(r.paperPsnr, 3),
      fmtStat(r.ssim, 3),
      fmtNum(r.paperSsim, 3),
      ...(hasDiagnosis(rows)
        ? [
          r.task === "segmentation"
            ? ""
            : ii
            ? pair(r.accuracy, r.accuracyDegraded)
            : fmtStat(r.accuracy, 1, 100),
        ]
        : []),
      ...(hasSegmentation(rows)
        ? [ii ? (r.miou ? pair(r.miou, r.miouDegraded) : "") : fmtStat(r.miou, 1, 100)]
        : []),
      ...(crossOf(rows) ? [fmtStat(r.cross?.psnr, 2), fmtStat(r.cross?.ssim, 3)] : []),
      r.seeds.join(","),
    ];
  });
}

/** A Markdown table of the rows, with the degraded input's PSNR/SSIM as a note per σ. */
export function tableMarkdown(rows: TableRow[], claims: ClaimCheck[] = []): string {
  const cells = tableCells(rows);
  const esc = (s: string) => s.replaceAll("|", "\\|");
  const lines = [
    `| ${tableHeaders(rows).join(" | ")} |`,
    `| ${tableHeaders(rows).map(() => "---").join(" | ")} |`,
    ...cells.map((c) => `| ${c.map(esc).join(" | ")} |`),
  ];
  const inputs = [...new Set(rows.map((r) => r.group))].map((g) => {
    const r = rows.find((x) => x.group === g && x.psnrInput);
    return r
      ? `${g}: degraded input ${fmtStat(r.psnrInput, 2)} dB / SSIM ${fmtStat(r.ssimInput, 3)}` +
        (r.cross ? ` (on ${r.cross.dataset}: ${fmtStat(r.cross.psnrInput, 2)} dB)` : "")
      : "";
  }).filter(Boolean);
  if (inputs.length) lines.push("", `Degraded input, before enhancement: ${inputs.join("; ")}.`);
  if (rows.some((r) => r.belowInput?.length)) lines.push("", BELOW_INPUT_NOTE);
  const notes = observationsMarkdown(rows);
  if (notes) lines.push("", notes);
  if (claims.length) lines.push("", claimsTableMarkdown(claims));
  return lines.join("\n") + "\n";
}

/**
 * The claims as a Markdown table: the claim, our difference, the paper's, and the verdict with
 * its evidence.
 *
 * @param claims From {@link checkClaims}.
 * @returns Markdown (no trailing newline).
 */
export function claimsTableMarkdown(claims: ClaimCheck[]): string {
  const esc = (s: string) => s.replaceAll("|", "\\|");
  return [
    "| Paper's claim | Ours (Δ) | Paper (Δ) | Verdict on our data |",
    "| --- | --- | --- | --- |",
    ...claims.map((c) =>
      `| ${esc(c.text)} | ${formatDelta(c)} | ${c.paperDelta ?? ""} | ${describeVerdict(c)} |`
    ),
  ].join("\n");
}

/**
 * The claims as an HTML table, each verdict's cell of class `holds`, `does-not-hold`,
 * `inconclusive` or `not-run`.
 *
 * @param claims From {@link checkClaims}.
 * @returns HTML.
 */
export function claimsHtml(claims: ClaimCheck[]): string {
  const e = (s: string) => s.replaceAll("&", "&amp;").replaceAll("<", "&lt;");
  const rows = claims.map((c) =>
    `<tr><td>${e(c.text)}</td><td>${e(formatDelta(c))}</td><td>${c.paperDelta ?? ""}</td>` +
    `<td class="${c.verdict.replaceAll(" ", "-")}">${e(describeVerdict(c))}</td></tr>`
  ).join("\n");
  return `<table><tr><th>Claim</th><th>Ours (Δ)</th><th>Paper (Δ)</th><th>Verdict</th></tr>${rows}</table>`;
}

/** A CSV of the rows with raw numbers (means, stds, seeds). */
export function tableCsv(rows: TableRow[]): string {
  const head = [
    "setting",
    "sigma",
    "method",
    "psnr_mean",
    "psnr_std",
    "ssim_mean",
    "ssim_std",
    "accuracy_mean",
    "accuracy_std",
    "miou_mean",
    "miou_std",
    "psnr_input",
    "ssim_input",
    "paper_psnr",
    "paper_ssim",
    "seeds",
  ];
  const v = (x: number | undefined) => (x === undefined ? "" : String(x));
  const lines = rows.map((r) =>
    [
      `"${r.group}"`,
      r.sigma,
      r.method,
      v(r.psnr?.mean),
      v(r.psnr?.std),
      v(r.ssim?.mean),
      v(r.ssim?.std),
      v(r.accuracy?.mean),
      v(r.accuracy?.std),
      v(r.miou?.mean),
      v(r.miou?.std),
      v(r.psnrInput?.mean),
      v(r.ssimInput?.mean),
      v(r.paperPsnr),
      v(r.paperSsim),
      `"${r.seeds.join(" ")}"`,
    ].join(",")
  );
  return [head.join(","), ...lines].join("\n") + "\n";
}

/** An HTML table of the rows (for notebooks and the report). */
export function tableHtml(rows: TableRow[]): string {
  const e = (s: string) => s.replaceAll("&", "&amp;").replaceAll("<", "&lt;");
  const head = tableHeaders(rows).map((h) => `<th>${e(h)}</th>`).join("");
  const body = tableCells(rows).map((c) => `<tr>${c.map((x) => `<td>${e(x)}</td>`).join("")}</tr>`)
    .join("\n");
  const note = rows.some((r) => r.belowInput?.length) ? `<p>${e(BELOW_INPUT_NOTE)}</p>` : "";
  return `<table><thead><tr>${head}</tr></thead><tbody>\n${body}\n</tbody></table>${note}`;
}

/** `+0.123 ± 0.045` (± the standard error when there are several seeds). */
export function formatDelta(c: ClaimCheck): string {
  if (Number.isNaN(c.delta)) return "";
  const d = `${c.delta >= 0 ? "+" : ""}${c.delta.toFixed(3)}`;
  return Number.isNaN(c.stderr) ? d : `${d} ± ${c.stderr.toFixed(3)}`;
}

/** The verdict with its evidence, e.g. `holds (3 seeds, Δ > 2 s.e.)`. */
export function describeVerdict(c: ClaimCheck): string {
  if (c.verdict === "not run") return "not run";
  if (c.seeds === 1) return `${c.verdict} (1 seed: no error bar; run with more seeds to test it)`;
  const how = c.verdict === "inconclusive"
    ? "|Δ| ≤ 2 s.e."
    : c.verdict === "holds"
    ? "Δ > 2 s.e."
    : "Δ < −2 s.e.";
  return `${c.verdict} (${c.seeds} seeds, ${how})`;
}

/**
 * Plain-language observations on the rows, per noise level: which method has
 * the best PSNR and the best accuracy, and what GradProm costs or gains
 * against IP alone (the trade-off a table of means can hide).
 *
 * @returns One sentence per noise level.
 */
export function observations(rows: TableRow[]): string[] {
  const out: string[] = [];
  for (const group of [...new Set(rows.map((r) => r.group))]) {
    const at = rows.filter((r) => r.group === group && r.psnr);
    if (!at.length) continue;
    const rec: "miou" | "accuracy" = at.every((r) => r.miou) && at[0].task === "segmentation"
      ? "miou"
      : "accuracy";
    const recName = rec === "miou" ? "mIoU" : "accuracy";
    const best = (k: "psnr" | "accuracy" | "miou") =>
      at.reduce((a, b) => (b[k]!.mean > a[k]!.mean ? b : a));
    const bp = best("psnr"), ba = best(rec);
    let s = `${group}: best PSNR ${bp.label} (${bp.psnr!.mean.toFixed(2)} dB), ` +
      `best ${recName} ${ba.label} (${(100 * ba[rec]!.mean).toFixed(1)}%).`;
    const ip = at.find((r) => r.method === PAPER_ROLES.ipOnly),
      gp = at.find((r) => r.method === PAPER_ROLES.proposed);
    if (ip && gp) {
      const dp = gp.psnr!.mean - ip.psnr!.mean, da = 100 * (gp[rec]!.mean - ip[rec]!.mean);
      s += ` GradProm vs IP alone: ${dp >= 0 ? "+" : ""}${dp.toFixed(2)} dB PSNR, ` +
        `${da >= 0 ? "+" : ""}${da.toFixed(1)} points of ${recName}` +
        (dp < 0 ? " (the recognition task helps recognition but costs image quality here)." : ".");
    }
    out.push(s);
  }
  return out;
}

/**
 * {@link observations} as a Markdown list.
 *
 * @param rows Table rows.
 * @returns One bullet per row group ("" without rows).
 */
export function observationsMarkdown(rows: TableRow[]): string {
  return observations(rows).map((o) => `- ${o}`).join("\n");
}
