/**
 * A real one-node Slurm cluster on loopback, for tests: Debian's `slurm-wlm`
 * and `munge` daemons started as root with everything (key, sockets, state,
 * spool, logs, pid files) under one temporary folder and non-default ports,
 * listening on 127.0.0.1 only. Not part of the public API.
 *
 * Why by hand: there is no library for this; Slurm's own test suite assumes a
 * configured system install, and systemd is not running in these containers.
 *
 * @module
 */
import { join } from "node:path";

/** A running loopback cluster. */
export interface TestCluster {
  /** The temporary folder holding everything. */
  dir: string;
  /** Environment for Slurm's client commands (`SLURM_CONF`). */
  env: Record<string, string>;
  /** Process ids of the daemons this harness started. */
  pids: { munged: number; slurmctld: number; slurmd: number };
  /** Lines of `ss -ltnp` that belong to the daemons (to check they listen on loopback only). */
  listening(): Promise<string[]>;
  /** scancel everything, stop the daemons (TERM, then KILL), kill leftover job processes. */
  stop(): Promise<void>;
}

/** Why a loopback cluster cannot be started here, or null when it can. */
export async function clusterUnavailable(): Promise<string | null> {
  if (Deno.build.os !== "linux") return `needs Linux, found ${Deno.build.os}`;
  if (Deno.uid() !== 0) return `needs root (to run munged and slurmd), found uid ${Deno.uid()}`;
  const missing = async () => {
    const out: string[] = [];
    for (const b of ["/usr/sbin/munged", "/usr/sbin/slurmctld", "/usr/sbin/slurmd"]) {
      if (!(await exists(b))) out.push(b);
    }
    for (const b of ["sbatch", "squeue", "sacct", "sinfo", "scontrol", "scancel", "ss"]) {
      if (!(await onPath(b))) out.push(b);
    }
    return out;
  };
  if (!(await missing()).length) return null;
  // Install Debian's packages (a minute or so); another apt run may hold the lock for a while.
  const apt = await run("apt-get", [
    "install",
    "-y",
    "-q",
    "-o",
    "DPkg::Lock::Timeout=180",
    "--no-install-recommends",
    "slurm-wlm",
    "munge",
    "iproute2",
  ], { DEBIAN_FRONTEND: "noninteractive" });
  if (apt.code !== 0) {
    return `apt-get install slurm-wlm munge failed (exit ${apt.code}): ${
      apt.stderr.trim().split("\n").slice(-2).join(" ")
    }`;
  }
  const still = await missing();
  return still.length ? `still missing after apt-get: ${still.join(", ")}` : null;
}

/**
 * Starts munged, slurmctld and slurmd on loopback and waits until the node is idle.
 *
 * @param options `cpus`: CPUs of the node (default 2).
 * @returns The cluster; always call `stop()` (in a `finally`).
 */
export async function startTestCluster(options: { cpus?: number } = {}): Promise<TestCluster> {
  const dir = await Deno.realPath(await Deno.makeTempDir({ prefix: "gradprom-slurm-" }));
  await Deno.chmod(dir, 0o755); // munged refuses a socket folder others can write to
  for (const d of ["munge", "state", "spool", "log"]) await Deno.mkdir(join(dir, d));
  const key = join(dir, "munge", "munge.key");
  const keyBytes = new Uint8Array(1024);
  crypto.getRandomValues(keyBytes);
  await Deno.writeFile(key, keyBytes, { mode: 0o600 });
  await Deno.chmod(key, 0o600);
  const socket = join(dir, "munge", "munge.socket");
  const [ctldPort, slurmdPort] = freePorts(2);
  const conf = join(dir, "slurm.conf");
  await Deno.writeTextFile(
    conf,
    slurmConf({ dir, socket, ctldPort, slurmdPort, cpus: options.cpus ?? 2 }),
  );
  const env = { SLURM_CONF: conf };
  const children: Deno.ChildProcess[] = [];
  const pids = { munged: 0, slurmctld: 0, slurmd: 0 };
  const cluster: TestCluster = {
    dir,
    env,
    pids,
    listening: async () => {
      const ss = await run("ss", ["-ltnpH"]);
      const ours = Object.values(pids).filter((p) => p > 0);
      return ss.stdout.split("\n").filter((l) => ours.some((p) => l.includes(`pid=${p},`)));
    },
    stop: () => stopCluster(dir, env, pids, children),
  };
  try {
    const spawn = (cmd: string, args: string[]) => {
      const child = new Deno.Command(cmd, {
        args,
        env,
        stdin: "null",
        stdout: "null",
        stderr: "null",
      }).spawn();
      children.push(child);
      child.status.then(() => {}, () => {});
      return child.pid;
    };
    pids.munged = spawn("/usr/sbin/munged", [
      "--foreground",
      "--force",
      `--socket=${socket}`,
      `--key-file=${key}`,
      `--pid-file=${join(dir, "munge", "munged.pid")}`,
      `--log-file=${join(dir, "log", "munged.log")}`,
      `--seed-file=${join(dir, "munge", "munged.seed")}`,
    ]);
    await waitFor(() => exists(socket), 10_000, "munged's socket", join(dir, "log", "munged.log"));
    pids.slurmctld = spawn("/usr/sbin/slurmctld", ["-D", "-i", "-f", conf]);
    pids.slurmd = spawn("/usr/sbin/slurmd", ["-D", "-N", "localhost", "-f", conf]);
    await waitFor(
      async () => {
        // Without `timeout`, sinfo retries for ever when slurmctld has died.
        const r = await run("timeout", ["5", "sinfo", "-h", "-o", "%t"], env);
        return r.code === 0 && r.stdout.trim() === "idle";
      },
      30_000,
      "the node to become idle",
      join(dir, "log", "slurmctld.log"),
    );
    return cluster;
  } catch (e) {
    await cluster.stop();
    throw e;
  }
}

function slurmConf(
  o: { dir: string; socket: string; ctldPort: number; slurmdPort: number; cpus: number },
): string {
  const d = (p: string) => join(o.dir, p);
  return `# One-node Slurm cluster on loopback, for tests (written by lib/slurm/_test_cluster.ts)
ClusterName=gradprom-test
SlurmctldHost=localhost(127.0.0.1)
SlurmctldPort=${o.ctldPort}
SlurmdPort=${o.slurmdPort}
# Listen on 127.0.0.1 only (the default binds 0.0.0.0).
CommunicationParameters=NoInAddrAny,NoCtldInAddrAny
AuthType=auth/munge
CredType=cred/munge
# cred_expire=5: a requeued task may start again after 5 s instead of ~2 min.
AuthInfo=socket=${o.socket},cred_expire=5
SlurmUser=root
SlurmdUser=root
StateSaveLocation=${d("state")}
SlurmdSpoolDir=${d("spool")}
SlurmctldPidFile=${d("slurmctld.pid")}
SlurmdPidFile=${d("slurmd.pid")}
SlurmctldLogFile=${d("log/slurmctld.log")}
SlurmdLogFile=${d("log/slurmd.log")}
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
SwitchType=switch/none
MailProg=/bin/true
SchedulerType=sched/backfill
SchedulerParameters=batch_sched_delay=0,sched_interval=1,bf_interval=1
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
ReturnToService=2
# No slurmdbd: job states for sacct -c come from the job-completion file.
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/filetxt
JobCompLoc=${d("log/jobcomp.txt")}
NodeName=localhost NodeAddr=127.0.0.1 CPUs=${o.cpus} State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
`;
}

async function stopCluster(
  dir: string,
  env: Record<string, string>,
  pids: TestCluster["pids"],
  children: Deno.ChildProcess[],
): Promise<void> {
  if (pids.slurmctld) {
    await run("timeout", ["5", "scancel", "--user=root", "--full"], env);
    await waitFor(
      async () => {
        const q = await run("timeout", ["5", "squeue", "-h"], env);
        return q.code !== 0 || q.stdout.trim() === "";
      },
      10_000,
      "an empty queue",
    ).catch(() => {});
  }
  // Daemons: TERM, then KILL whatever is still alive after 5 s.
  for (const name of ["slurmd", "slurmctld", "munged"] as const) {
    const pid = pids[name];
    if (!pid) continue;
    signal(pid, "SIGTERM");
  }
  await waitFor(
    async () => (await Promise.all(Object.values(pids).map(alive))).every((a) => !a),
    5_000,
    "the daemons to stop",
  ).catch(() => {
    for (const pid of Object.values(pids)) if (pid) signal(pid, "SIGKILL");
  });
  await Promise.allSettled(children.map((c) => c.status));
  // Jobs can outlive slurmd: kill every process started by this cluster's jobs (they carry our SLURM_CONF).
  for (const pid of await jobProcesses(env.SLURM_CONF)) signal(pid, "SIGKILL");
  await Deno.remove(dir, { recursive: true }).catch(() => {});
}

/** Pids of processes whose environment names this cluster's `SLURM_CONF` (its jobs, slurmstepd). */
async function jobProcesses(conf: string): Promise<number[]> {
  const out: number[] = [];
  const needle = `SLURM_CONF=${conf}\0`;
  for await (const e of Deno.readDir("/proc")) {
    const pid = Number(e.name);
    if (!Number.isInteger(pid) || pid === Deno.pid) continue;
    try {
      const environ = await Deno.readTextFile(`/proc/${pid}/environ`);
      if (environ.includes(needle)) out.push(pid);
    } catch {
      // gone, or not ours to read
    }
  }
  return out;
}

function signal(pid: number, sig: Deno.Signal): void {
  try {
    Deno.kill(pid, sig);
  } catch {
    // already gone
  }
}

/** True while a process exists and is not a zombie. */
async function alive(pid: number): Promise<boolean> {
  if (!pid) return false;
  try {
    const stat = await Deno.readTextFile(`/proc/${pid}/stat`);
    return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
  } catch {
    return false;
  }
}

function freePorts(n: number): number[] {
  // Ask the kernel for free ports on loopback; slurm binds them a moment later.
  const listeners = Array.from(
    { length: n },
    () => Deno.listen({ hostname: "127.0.0.1", port: 0 }),
  );
  const ports = listeners.map((l) => (l.addr as Deno.NetAddr).port);
  for (const l of listeners) l.close();
  return ports;
}

async function waitFor(
  ok: () => Promise<boolean>,
  ms: number,
  what: string,
  log?: string,
): Promise<void> {
  const t0 = Date.now();
  while (Date.now() - t0 < ms) {
    if (await ok()) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  const tail = log ? await Deno.readTextFile(log).catch(() => "") : "";
  throw new Error(
    `Timed out after ${ms / 1000} s waiting for ${what}` +
      (tail ? `; ${log} ends:\n${tail.split("\n").slice(-15).join("\n")}` : ""),
  );
}

async function exists(path: string): Promise<boolean> {
  return await Deno.stat(path).then(() => true, () => false);
}

async function onPath(bin: string): Promise<boolean> {
  for (const d of (Deno.env.get("PATH") ?? "").split(":")) {
    if (d && await exists(join(d, bin))) return true;
  }
  return false;
}

async function run(
  cmd: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await new Deno.Command(cmd, { args, env, stdin: "null" }).output();
    const dec = new TextDecoder();
    return { code: r.code, stdout: dec.decode(r.stdout), stderr: dec.decode(r.stderr) };
  } catch (e) {
    return { code: 127, stdout: "", stderr: (e as Error).message };
  }
}
